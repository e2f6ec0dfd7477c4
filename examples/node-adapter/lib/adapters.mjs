// Vendor adapters (spec/units.md, UNIT-009..UNIT-019, UNIT-080..UNIT-095) and stream
// accumulators (UNIT-100..UNIT-104): vendor usage reports, whole responses and streamed chunks
// turned into usage objects with disjoint meters.

import { fail } from './errors.mjs';
import { codePoints, isInt, isObject } from './json.mjs';
import { isServiceTierName, orderMeters } from './units.mjs';

// --- Reading a report ------------------------------------------------------------------------

/** UNIT-019: null, 0, false, or an object or array holding only such values. */
function isZero(value) {
  if (value === null || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.every(isZero);
  if (isObject(value)) return Object.values(value).every(isZero);
  return false;
}

/**
 * One object of a report (the usage object or a details object) read member by member. Every
 * member read is known; `done()` then applies strict mode to the members nobody read.
 */
class Reader {
  constructor(value, path, strict) {
    this.value = value;
    this.path = path;
    this.strict = strict;
    this.known = new Set();
  }

  where(name) {
    return this.path === '' ? name : `${this.path}.${name}`;
  }

  raw(name) {
    this.known.add(name);
    const value = this.value[name];
    return value === undefined ? null : value;
  }

  has(name) {
    return this.value[name] !== undefined && this.value[name] !== null;
  }

  /** A count (UNIT-010): absent or null is 0. */
  count(name) {
    const value = this.raw(name);
    if (value === null) return 0;
    if (!isInt(value)) fail('invalid_usage', `${this.where(name)} must be an integer from 0 to 2^53 - 1`);
    return value;
  }

  /** A details object (UNIT-010): absent or null is an empty object. */
  details(name) {
    const value = this.raw(name);
    if (value === null) return new Reader(Object.create(null), this.where(name), this.strict);
    if (!isObject(value)) fail('invalid_usage', `${this.where(name)} must be a JSON object`);
    return new Reader(value, this.where(name), this.strict);
  }

  /** A string member: absent or null is null. */
  string(name) {
    const value = this.raw(name);
    if (value === null) return null;
    if (typeof value !== 'string') fail('invalid_usage', `${this.where(name)} must be a string`);
    return value;
  }

  /** An array of details objects (UNIT-010): absent or null is empty. */
  array(name) {
    const value = this.raw(name);
    if (value === null) return [];
    if (!Array.isArray(value) || !value.every(isObject)) fail('invalid_usage', `${this.where(name)} must be an array of objects`);
    return value.map((element, i) => new Reader(element, `${this.where(name)}[${i}]`, this.strict));
  }

  /** Members strict mode accepts that change no meter. */
  accept(...names) {
    for (const name of names) this.known.add(name);
  }

  /** UNIT-019: in strict mode, a member no table names must be zero. */
  done() {
    if (!this.strict) return;
    for (const name of Object.keys(this.value)) {
      if (!this.known.has(name) && !isZero(this.value[name])) {
        fail('invalid_usage', `${this.where(name)} is not a member this adapter knows, and it is not zero; a strict adapter does not price what it does not understand (UNIT-019)`);
      }
    }
  }
}

function atMost(parts, total, what) {
  if (parts > total) fail('invalid_usage', `${what} add up to more than their total (UNIT-011)`);
}

function checkModel(model, from) {
  if (typeof model !== 'string' || codePoints(model) < 1 || codePoints(model) > 256) {
    fail('invalid_usage', `the model id ${from} must be a string of 1 to 256 characters (UNIT-012)`);
  }
  return model;
}

/** UNIT-010: exactly the meters whose count is not 0, registry order then extensions. */
function usageOf(model, meters, tier) {
  const out = {};
  for (const name of orderMeters(Object.keys(meters))) {
    if (meters[name] !== 0) out[name] = meters[name];
  }
  const usage = { model, meters: out };
  if (tier !== null) usage.service_tier = tier;
  return usage;
}

// --- OpenAI and the Chat Completions form (UNIT-013..UNIT-015, UNIT-082, UNIT-084..UNIT-092) --

const CHAT = ['prompt_tokens', 'completion_tokens', 'prompt_tokens_details', 'completion_tokens_details'];
const RESPONSES = ['input_tokens', 'output_tokens', 'input_tokens_details', 'output_tokens_details'];

function presentAny(u, names) {
  return names.some((name) => u.has(name));
}

function openaiMeters(u) {
  if (presentAny(u, CHAT) && presentAny(u, RESPONSES)) {
    fail('invalid_usage', 'the report mixes the Chat Completions and the Responses forms (UNIT-015)');
  }
  const responses = presentAny(u, RESPONSES);
  const [p, c, pd, cd] = responses ? RESPONSES : CHAT;
  const P = u.count(p);
  const C = u.count(c);
  u.accept('total_tokens');
  const ind = u.details(pd);
  const outd = u.details(cd);
  const CR = ind.count('cached_tokens');
  const CW = ind.count('cache_write_tokens');
  const AI = ind.count('audio_tokens');
  const text = ind.count('text_tokens');
  const image = ind.count('image_tokens');
  let L = 0;
  if (responses) {
    const ttl = ind.details('cache_write_tokens_details');
    const short = ttl.count('ttl_30m_tokens');
    L = ttl.count('ttl_12h_tokens');
    atMost(short + L, CW, `${pd}.cache_write_tokens_details.ttl_30m_tokens and ttl_12h_tokens`);
    ttl.done();
  }
  const R = outd.count('reasoning_tokens');
  const AO = outd.count('audio_tokens');
  const outText = outd.count('text_tokens');
  const accepted = outd.count('accepted_prediction_tokens');
  const rejected = outd.count('rejected_prediction_tokens');
  ind.done();
  outd.done();
  atMost(CR + CW + AI, P, `${pd}.cached_tokens, cache_write_tokens and audio_tokens`);
  atMost(R + AO, C, `${cd}.reasoning_tokens and audio_tokens`);
  atMost(text + image + AI, P, `${pd}.text_tokens, image_tokens and audio_tokens`);
  atMost(outText + AO, C, `${cd}.text_tokens and audio_tokens`);
  atMost(accepted + rejected, C, `${cd}.accepted_prediction_tokens and rejected_prediction_tokens`);
  return {
    input: P - CR - CW - AI,
    cache_read: CR,
    cache_write: CW - L,
    output: C - R - AO,
    reasoning: R,
    'openai.audio_in_tokens': AI,
    'openai.audio_out_tokens': AO,
    'openai.cache_write_12h': L,
  };
}

/** The Chat Completions form for the compatible vendors: no Responses member (UNIT-015). */
function chatOnly(u, vendor) {
  for (const name of RESPONSES) {
    if (u.has(name)) fail('invalid_usage', `${name} is a member of the Responses form, which the ${vendor} adapter does not read (UNIT-015)`);
  }
  u.accept('total_tokens');
  return { P: u.count('prompt_tokens'), C: u.count('completion_tokens') };
}

/** A cached count reported twice must agree (UNIT-011). */
function agreeing(top, inDetails, what) {
  if (top !== null && inDetails !== null && top !== inDetails) {
    fail('invalid_usage', `${what}: the two reports of the cached tokens disagree (${top} and ${inDetails}) (UNIT-011)`);
  }
  return top ?? inDetails ?? 0;
}

function optionalCount(reader, name) {
  const present = reader.has(name);
  const value = reader.count(name);
  return present ? value : null;
}

/** Chat Completions rows of UNIT-084..UNIT-091: CR, R and the vendor's own members. */
function compatibleMeters(vendor, u) {
  const { P, C } = chatOnly(u, vendor);
  const pd = u.details('prompt_tokens_details');
  const cd = u.details('completion_tokens_details');
  let CR;
  let R = 0;
  const extra = {};
  if (vendor === 'deepseek') {
    CR = agreeing(optionalCount(u, 'prompt_cache_hit_tokens'), optionalCount(pd, 'cached_tokens'), 'prompt_cache_hit_tokens and prompt_tokens_details.cached_tokens');
    const miss = optionalCount(u, 'prompt_cache_miss_tokens');
    atMost(CR, P, 'the cached tokens');
    if (miss !== null && miss !== P - CR) fail('invalid_usage', `prompt_cache_miss_tokens is ${miss}, not prompt_tokens - cached tokens = ${P - CR} (UNIT-084)`);
    R = cd.count('reasoning_tokens');
  } else if (vendor === 'moonshot') {
    CR = agreeing(optionalCount(u, 'cached_tokens'), optionalCount(pd, 'cached_tokens'), 'cached_tokens and prompt_tokens_details.cached_tokens');
    R = cd.count('reasoning_tokens');
  } else if (vendor === 'volcengine') {
    CR = pd.count('cached_tokens');
    R = cd.count('reasoning_tokens');
    const AI = pd.count('audio_tokens');
    const AC = pd.count('audio_cached_tokens');
    const AO = cd.count('audio_tokens');
    for (const d of [pd, cd]) {
      if (d.count('provisioned_tokens') !== 0) {
        fail('invalid_usage', `${d.where('provisioned_tokens')} is not zero: capacity billed by model unit is not priced per token (UNIT-087)`);
      }
    }
    atMost(AC, CR, 'prompt_tokens_details.audio_cached_tokens (inside cached_tokens)');
    atMost(AC, AI, 'prompt_tokens_details.audio_cached_tokens (inside audio_tokens)');
    atMost(CR + (AI - AC), P, 'prompt_tokens_details.cached_tokens and audio_tokens');
    atMost(R + AO, C, 'completion_tokens_details.reasoning_tokens and audio_tokens');
    pd.done();
    cd.done();
    return {
      input: P - CR - (AI - AC),
      cache_read: CR - AC,
      output: C - R - AO,
      reasoning: R,
      'volcengine.audio_in_tokens': AI - AC,
      'volcengine.audio_cache_read_tokens': AC,
      'volcengine.audio_out_tokens': AO,
    };
  } else if (vendor === 'vllm') {
    CR = pd.count('cached_tokens');
  } else if (vendor === 'sglang') {
    CR = pd.count('cached_tokens');
    R = u.count('reasoning_tokens');
  } else {
    // zhipu, qianfan, minimax
    CR = pd.count('cached_tokens');
    R = cd.count('reasoning_tokens');
  }
  pd.done();
  cd.done();
  atMost(CR, P, 'the cached tokens');
  atMost(R, C, 'the reasoning tokens');
  return { input: P - CR, cache_read: CR, output: C - R, reasoning: R };
}

/** X of UNIT-093: the hits of Qwen's explicit cache. */
function explicitHits(pd, CR) {
  const type = pd.string('cache_type');
  if (type !== null && type !== 'ephemeral') {
    fail('invalid_usage', `prompt_tokens_details.cache_type ${JSON.stringify(type)} is not "ephemeral" (UNIT-093)`);
  }
  return type === 'ephemeral' ? CR : 0;
}

function qwenCacheWrites(pd) {
  const CW = pd.count('cache_creation_input_tokens');
  const creation = pd.details('cache_creation');
  atMost(creation.count('ephemeral_5m_input_tokens'), CW, 'prompt_tokens_details.cache_creation.ephemeral_5m_input_tokens');
  creation.done();
  return CW;
}

/** UNIT-092: Qwen's compatible mode. */
function qwenMeters(u) {
  const { P, C } = chatOnly(u, 'qwen');
  const pd = u.details('prompt_tokens_details');
  const cd = u.details('completion_tokens_details');
  const CR = pd.count('cached_tokens');
  const CW = qwenCacheWrites(pd);
  const X = explicitHits(pd, CR);
  const AI = pd.count('audio_tokens');
  const text = pd.count('text_tokens');
  const image = pd.count('image_tokens');
  pd.count('video_tokens');
  const R = cd.count('reasoning_tokens');
  const AO = cd.count('audio_tokens');
  const outText = cd.count('text_tokens');
  pd.done();
  cd.done();
  atMost(CR + CW + AI, P, 'prompt_tokens_details.cached_tokens, cache_creation_input_tokens and audio_tokens');
  atMost(R + AO, C, 'completion_tokens_details.reasoning_tokens and audio_tokens');
  atMost(text + image + AI, P, 'prompt_tokens_details.text_tokens, image_tokens and audio_tokens');
  atMost(outText + AO, C, 'completion_tokens_details.text_tokens and audio_tokens');
  return {
    input: P - CR - CW - AI,
    cache_read: CR - X,
    cache_write: CW,
    output: C - R - AO,
    reasoning: R,
    'qwen.audio_in_tokens': AI,
    'qwen.audio_out_tokens': AO,
    'qwen.explicit_cache_read_tokens': X,
  };
}

/** UNIT-093: DashScope native. */
function dashscopeMeters(u) {
  const IN = u.count('input_tokens');
  const OUT = u.count('output_tokens');
  u.accept('total_tokens');
  const pd = u.details('prompt_tokens_details');
  const CR = pd.count('cached_tokens');
  const CW = qwenCacheWrites(pd);
  const X = explicitHits(pd, CR);
  pd.done();
  const ind = u.details('input_tokens_details');
  const AI = ind.count('audio_tokens');
  const inParts = ind.count('text_tokens') + ind.count('image_tokens') + ind.count('video_tokens') + AI;
  ind.done();
  const outd = u.details('output_tokens_details');
  const R = outd.count('reasoning_tokens');
  const AO = outd.count('audio_tokens');
  const outParts = outd.count('text_tokens') + AO;
  outd.done();
  const plugins = u.details('plugins');
  const search = plugins.details('search');
  const searches = search.count('count');
  search.string('strategy');
  search.done();
  plugins.done();
  atMost(CR + CW + AI, IN, 'prompt_tokens_details.cached_tokens, cache_creation_input_tokens and input_tokens_details.audio_tokens');
  atMost(inParts, IN, 'the text, image, video and audio counts of input_tokens_details');
  atMost(R + AO, OUT, 'output_tokens_details.reasoning_tokens and audio_tokens');
  atMost(outParts, OUT, 'the text and audio counts of output_tokens_details');
  return {
    input: IN - CR - CW - AI,
    cache_read: CR - X,
    cache_write: CW,
    output: OUT - R - AO,
    reasoning: R,
    web_search: searches,
    'qwen.audio_in_tokens': AI,
    'qwen.audio_out_tokens': AO,
    'qwen.explicit_cache_read_tokens': X,
  };
}

// --- Anthropic (UNIT-016, UNIT-083) ------------------------------------------------------------

function oneOf(value, allowed, what) {
  if (value !== null && !allowed.includes(value)) {
    fail('invalid_usage', `${what} ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  }
  return value;
}

function anthropicMeters(u) {
  const thinking = u.details('output_tokens_details');
  const T = thinking.count('thinking_tokens');
  thinking.done();
  const W = u.count('cache_creation_input_tokens');
  const creation = u.details('cache_creation');
  const short = creation.count('ephemeral_5m_input_tokens');
  const H = creation.count('ephemeral_1h_input_tokens');
  creation.done();
  const OUT = u.count('output_tokens');
  const tools = u.details('server_tool_use');
  const searches = tools.count('web_search_requests');
  const fetches = tools.count('web_fetch_requests');
  tools.done();
  atMost(T, OUT, 'output_tokens_details.thinking_tokens');
  atMost(short + H, W, 'cache_creation.ephemeral_5m_input_tokens and ephemeral_1h_input_tokens');
  return {
    input: u.count('input_tokens'),
    cache_read: u.count('cache_read_input_tokens'),
    cache_write: W - H,
    output: OUT - T,
    reasoning: T,
    web_search: searches,
    'anthropic.cache_write_1h': H,
    'anthropic.web_fetch_requests': fetches,
  };
}

function anthropicTier(u) {
  const service = oneOf(u.string('service_tier'), ['standard', 'priority', 'batch'], 'service_tier');
  const speed = oneOf(u.string('speed'), ['standard', 'fast'], 'speed');
  const geo = oneOf(u.string('inference_geo'), ['global', 'us', 'not_available'], 'inference_geo');
  if (service === null && speed === null && geo === null) return null;
  const S = service ?? 'standard';
  if (speed !== 'fast' && geo !== 'us') return S;
  return `anthropic.${S}${speed === 'fast' ? '_fast' : ''}${geo === 'us' ? '_us' : ''}`;
}

// --- Gemini (UNIT-094, UNIT-095) ---------------------------------------------------------------

const GEMINI_MEMBERS = [
  ['promptTokenCount', 'prompt_token_count'],
  ['cachedContentTokenCount', 'cached_content_token_count'],
  ['candidatesTokenCount', 'candidates_token_count'],
  ['thoughtsTokenCount', 'thoughts_token_count'],
  ['toolUsePromptTokenCount', 'tool_use_prompt_token_count'],
  ['totalTokenCount', 'total_token_count'],
  ['promptTokensDetails', 'prompt_tokens_details'],
  ['cacheTokensDetails', 'cache_tokens_details'],
  ['candidatesTokensDetails', 'candidates_tokens_details'],
  ['toolUsePromptTokensDetails', 'tool_use_prompt_tokens_details'],
  ['trafficType', 'traffic_type'],
];
const MODALITIES = ['TEXT', 'IMAGE', 'VIDEO', 'AUDIO', 'DOCUMENT', 'MODALITY_UNSPECIFIED'];
const TRAFFIC = {
  ON_DEMAND: null,
  TRAFFIC_TYPE_UNSPECIFIED: null,
  ON_DEMAND_PRIORITY: 'priority',
  ON_DEMAND_FLEX: 'flex',
  ON_DEMAND_OFFPEAK: 'google.offpeak',
  PROVISIONED_THROUGHPUT: 'google.provisioned_throughput',
};

/** A Gemini usage metadata object in one spelling: name(camel) gives the member's name. */
function geminiSpelling(value) {
  const camel = GEMINI_MEMBERS.some(([c]) => Object.hasOwn(value, c));
  const snake = GEMINI_MEMBERS.some(([, s]) => Object.hasOwn(value, s));
  if (camel && snake) fail('invalid_usage', 'the usage metadata mixes lowerCamelCase and snake_case member names (UNIT-094)');
  const map = new Map(GEMINI_MEMBERS.map(([c, s]) => [c, snake ? s : c]));
  return (name) => map.get(name) ?? name;
}

/** The AUDIO count of a details array; each modality at most once (UNIT-094). */
function audioCount(u, name) {
  const seen = new Set();
  let audio = 0;
  for (const element of u.array(name)) {
    // Each element is an object of its own, in one spelling (tokenCount or token_count).
    const camel = Object.hasOwn(element.value, 'tokenCount');
    if (camel && Object.hasOwn(element.value, 'token_count')) {
      fail('invalid_usage', `${element.path} has both tokenCount and token_count: it mixes lowerCamelCase and snake_case (UNIT-094)`);
    }
    const countName = camel ? 'tokenCount' : 'token_count';
    const modality = element.string('modality') ?? 'MODALITY_UNSPECIFIED';
    const n = element.count(countName);
    element.done();
    if (seen.has(modality)) fail('invalid_usage', `${u.where(name)} names the modality ${modality} twice (UNIT-094)`);
    seen.add(modality);
    if (u.strict && !MODALITIES.includes(modality) && n !== 0) {
      fail('invalid_usage', `${u.where(name)} counts ${n} tokens of the unknown modality ${JSON.stringify(modality)} (UNIT-094)`);
    }
    if (modality === 'AUDIO') audio = n;
  }
  return audio;
}

function geminiMeters(u) {
  const spell = geminiSpelling(u.value);
  const P = u.count(spell('promptTokenCount'));
  const CC = u.count(spell('cachedContentTokenCount'));
  const O = u.count(spell('candidatesTokenCount'));
  const T = u.count(spell('thoughtsTokenCount'));
  const TU = u.count(spell('toolUsePromptTokenCount'));
  u.accept(spell('totalTokenCount'));
  const AP = audioCount(u, spell('promptTokensDetails'));
  const AC = audioCount(u, spell('cacheTokensDetails'));
  const AO = audioCount(u, spell('candidatesTokensDetails'));
  const AT = audioCount(u, spell('toolUsePromptTokensDetails'));
  atMost(CC, P, 'cachedContentTokenCount (inside promptTokenCount)');
  atMost(AC, CC, 'the cached AUDIO tokens (inside cachedContentTokenCount)');
  atMost(AC, AP, 'the cached AUDIO tokens (inside the prompt AUDIO tokens)');
  atMost(AP - AC, P - CC, 'the uncached prompt AUDIO tokens');
  atMost(AT, TU, 'the tool-use prompt AUDIO tokens');
  atMost(AO, O, 'the candidates AUDIO tokens');
  return {
    input: P - CC - (AP - AC) + (TU - AT),
    cache_read: CC - AC,
    output: O - AO,
    reasoning: T,
    'google.audio_in_tokens': AP - AC + AT,
    'google.audio_cache_read_tokens': AC,
    'google.audio_out_tokens': AO,
  };
}

function geminiTier(u) {
  const spell = geminiSpelling(u.value);
  const traffic = u.string(spell('trafficType'));
  if (traffic === null) return null;
  if (!Object.hasOwn(TRAFFIC, traffic)) fail('invalid_usage', `trafficType ${JSON.stringify(traffic)} is not a traffic type this adapter knows (UNIT-095)`);
  return TRAFFIC[traffic];
}

// --- OpenTelemetry (UNIT-017, UNIT-018) --------------------------------------------------------

const OTEL_USAGE = [
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.cache_creation.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.reasoning.output_tokens',
];

function otelMeters(u) {
  const [IN, CR, CW, OUT, R] = OTEL_USAGE.map((name) => u.count(name));
  // Strict mode covers the gen_ai.usage. namespace only: a span has many other attributes.
  for (const name of Object.keys(u.value)) if (!name.startsWith('gen_ai.usage.')) u.accept(name);
  atMost(CR + CW, IN, 'the cache_read and cache_creation input tokens');
  atMost(R, OUT, 'the reasoning output tokens');
  return { input: IN - CR - CW, cache_read: CR, cache_write: CW, output: OUT - R, reasoning: R };
}

function otelModel(attributes) {
  for (const name of ['gen_ai.response.model', 'gen_ai.request.model']) {
    const value = attributes[name];
    if (typeof value === 'string' && value !== '') return value;
  }
  return null;
}

// --- Vendors -----------------------------------------------------------------------------------

const COMPATIBLE_TIERS = { default: 'standard', standard: 'standard' };

/**
 * Each vendor: meters(usage reader), the usage member(s) of a whole response, the response's
 * model member(s), the service tier its usage object names (tierInUsage), and the table for a
 * response's `service_tier` (responseTiers, absent: the member is not read).
 */
const VENDOR_TABLE = {
  openai: {
    meters: openaiMeters,
    responseTiers: { default: 'standard', flex: 'flex', priority: 'priority', scale: 'openai.scale', fast: 'openai.fast', ultrafast: 'openai.ultrafast' },
  },
  anthropic: { meters: anthropicMeters, tierInUsage: anthropicTier },
  gemini: { meters: geminiMeters, tierInUsage: geminiTier, usage: ['usageMetadata', 'usage_metadata'], model: ['modelVersion', 'model_version'] },
  dashscope: { meters: dashscopeMeters, model: [], responseTiers: {} },  // no tier to price (UNIT-093)
  qwen: { meters: qwenMeters, responseTiers: COMPATIBLE_TIERS },
  volcengine: { meters: (u) => compatibleMeters('volcengine', u), responseTiers: { ...COMPATIBLE_TIERS, scale: 'volcengine.scale' } },
  otel: { meters: otelMeters, response: false },
};
for (const vendor of ['deepseek', 'moonshot', 'zhipu', 'qianfan', 'minimax', 'vllm', 'sglang']) {
  VENDOR_TABLE[vendor] = { meters: (u) => compatibleMeters(vendor, u), responseTiers: COMPATIBLE_TIERS };
}

export const VENDORS = Object.keys(VENDOR_TABLE);

/** UNIT-081: the caller's tier C and the reported tier R. */
function combineTiers(reported, caller) {
  if (caller === null) return reported;
  if (reported === null || reported === 'standard' || reported === caller) return caller;
  fail('invalid_usage', `the report says it was served in the tier ${reported}, not in ${caller} as the caller says (UNIT-081)`);
}

function checkOptions(options) {
  const { model = null, strict = true, serviceTier = null } = options;
  if (typeof strict !== 'boolean') throw new TypeError('strict must be a boolean');
  if (serviceTier !== null && !isServiceTierName(serviceTier)) {
    throw new RangeError(`the service tier ${JSON.stringify(serviceTier)} is neither a registered tier nor an extension name such as acme.night (UNIT-070)`);
  }
  return { model, strict, serviceTier };
}

/**
 * Turn a vendor usage report, or a whole response holding one (UNIT-080), into a usage object.
 * options: {model: the caller's model id or null, strict: true (default) or false for lenient
 * mode (UNIT-019), serviceTier: the caller's tier or null (UNIT-081)}.
 */
export function adapt(vendor, report, options = {}) {
  if (!Object.hasOwn(VENDOR_TABLE, vendor)) throw new TypeError(`unknown vendor ${JSON.stringify(vendor)}; expected one of ${VENDORS.join(', ')}`);
  const { model, strict, serviceTier } = checkOptions(options);
  const table = VENDOR_TABLE[vendor];
  if (!isObject(report)) fail('invalid_usage', 'a usage report must be a JSON object');

  let usage = report;
  let responseModel = null;
  let reportedTier = null;
  const usageNames = table.usage ?? ['usage'];
  const usageName = table.response === false ? undefined : usageNames.find((name) => Object.hasOwn(report, name));
  if (usageName !== undefined) {
    // A whole response (UNIT-080).
    usage = report[usageName];
    if (usage === null) fail('invalid_usage', `the response's ${usageName} is null: it carries no usage (UNIT-080)`);
    if (!isObject(usage)) fail('invalid_usage', `the response's ${usageName} must be a JSON object`);
    for (const name of table.model ?? ['model']) {
      if (report[name] !== undefined && report[name] !== null) {
        responseModel = report[name];
        break;
      }
    }
    if (table.responseTiers !== undefined) {
      const tier = report.service_tier;
      if (tier !== undefined && tier !== null) {
        if (typeof tier !== 'string' || !Object.hasOwn(table.responseTiers, tier)) {
          fail('invalid_usage', `the response's service_tier ${JSON.stringify(tier)} is not one this adapter can price (UNIT-081)`);
        }
        reportedTier = table.responseTiers[tier];
      }
    }
  }

  const reader = new Reader(usage, '', strict);
  const meters = table.meters(reader);
  if (table.tierInUsage !== undefined) reportedTier = table.tierInUsage(reader);
  reader.done();

  let chosen;
  if (model !== null) chosen = checkModel(model, 'the caller gave');
  else if (vendor === 'otel') {
    chosen = otelModel(usage);
    if (chosen === null) fail('invalid_usage', 'neither gen_ai.response.model nor gen_ai.request.model is a non-empty string, and the caller gave no model (UNIT-018)');
  } else if (responseModel !== null) chosen = checkModel(responseModel, 'the response names');
  else fail('invalid_usage', 'the report names no model and the caller gave none (UNIT-012)');

  return usageOf(chosen, meters, combineTiers(reportedTier, serviceTier));
}

// --- Streams (UNIT-100..UNIT-104) --------------------------------------------------------------

function incomplete(message) {
  fail('incomplete_stream', `${message}; a usage with zero or partial counts is never given (UNIT-100)`);
}

/** A finish reason that ends a choice: neither absent, null nor the string "null". */
function ended(reason) {
  return reason !== undefined && reason !== null && reason !== 'null';
}

/** UNIT-101: OpenAI and the OpenAI-compatible vendors, Chat Completions and Responses events. */
function finalOpenAiResponse(chunks) {
  let final = null;
  let candidate = null;
  let model = null;
  const RESPONSE_END = ['response.completed', 'response.incomplete', 'response.failed'];
  for (const chunk of chunks) {
    if (typeof chunk.type === 'string' && chunk.type.startsWith('response.')) {
      const response = isObject(chunk.response) ? chunk.response : null;
      if (response !== null && RESPONSE_END.includes(chunk.type) && (response.model ?? null) !== null) model = response.model;
      // A terminal event without a usage reported none: the stream stays incomplete.
      if (RESPONSE_END.includes(chunk.type) && response !== null && (response.usage ?? null) !== null) {
        if (final !== null) fail('invalid_usage', 'the stream has a second final usage (UNIT-100)');
        final = response;
      }
      continue;
    }
    if ((chunk.model ?? null) !== null) model = chunk.model;
    const choices = chunk.choices ?? null;
    if (choices !== null && !Array.isArray(choices)) fail('invalid_usage', 'a chunk\'s choices must be an array (UNIT-100)');
    if (chunk.usage === undefined || chunk.usage === null) continue;
    if (choices === null || choices.length === 0) {
      if (final !== null) fail('invalid_usage', 'the stream has a second final usage (UNIT-100)');
      final = chunk;
    } else {
      // The last usage on a chunk with choices; final only if that chunk ends every choice.
      candidate = { chunk, ended: choices.every((c) => isObject(c) && ended(c.finish_reason)) };
    }
  }
  const chosen = final ?? (candidate !== null && candidate.ended ? candidate.chunk : null);
  if (chosen === null) incomplete('the stream ended before its usage was reported');
  return { response: chosen, model };
}

/** UNIT-102: Anthropic, message_start's usage updated by every message_delta. */
function finalAnthropicResponse(chunks) {
  let start = null;
  let usage = null;
  let delta = false;
  for (const chunk of chunks) {
    if (chunk.type === 'message_start') {
      if (start !== null) fail('invalid_usage', 'the stream has a second message_start, so a second usage (UNIT-100)');
      if (!isObject(chunk.message)) fail('invalid_usage', 'message_start has no message object');
      start = chunk.message;
      if (!isObject(start.usage)) fail('invalid_usage', 'the message_start message has no usage object');
      usage = Object.assign(Object.create(null), start.usage);
    } else if (chunk.type === 'message_delta') {
      if (start === null) fail('invalid_usage', 'a message_delta came before the message_start (UNIT-102)');
      const update = chunk.usage;
      if (!isObject(update)) fail('invalid_usage', 'a message_delta must carry its usage as a JSON object (UNIT-102)');
      for (const name of Object.keys(update)) if (update[name] !== null) usage[name] = update[name];
      delta = true;
    }
  }
  if (start === null || !delta) incomplete('the stream ended before a message_delta reported its usage');
  return { response: { usage }, model: start.model ?? null };
}

/** UNIT-103: Gemini, the last chunk with usage metadata, complete with a finish or a block. */
function finalGeminiResponse(chunks) {
  let last = null;
  let model = null;
  for (const chunk of chunks) {
    const listed = chunk.candidates ?? null;
    if (listed !== null && !Array.isArray(listed)) fail('invalid_usage', 'a chunk\'s candidates must be an array (UNIT-100)');
    const metadata = chunk.usageMetadata ?? chunk.usage_metadata ?? null;
    if (metadata !== null) last = chunk;
    const version = chunk.modelVersion ?? chunk.model_version ?? null;
    if (version !== null) model = version;
  }
  if (last === null) incomplete('the stream ended before its usage metadata was reported');
  const candidates = last.candidates ?? [];
  const finished = Array.isArray(candidates) && candidates.some((c) => isObject(c) && ended(c.finishReason ?? c.finish_reason));
  const feedback = last.promptFeedback ?? last.prompt_feedback ?? null;
  const blocked = isObject(feedback) && ended(feedback.blockReason ?? feedback.block_reason);
  if (!finished && !blocked) incomplete('the last usage metadata of the stream is partial: its chunk has no finishReason nor blockReason');
  return { response: last, model };
}

/** UNIT-104: DashScope native, the last chunk with usage, complete with a finish reason. */
function finalDashscopeResponse(chunks) {
  let last = null;
  for (const chunk of chunks) {
    const output = chunk.output ?? null;
    if (output !== null && !isObject(output)) fail('invalid_usage', 'a chunk\'s output must be an object (UNIT-100)');
    const listed = output === null ? null : output.choices ?? null;
    if (listed !== null && !Array.isArray(listed)) fail('invalid_usage', 'output.choices must be an array (UNIT-100)');
    if (chunk.usage !== undefined && chunk.usage !== null) last = chunk;
  }
  if (last === null) incomplete('the stream ended before its usage was reported');
  const output = isObject(last.output) ? last.output : Object.create(null);
  const choices = Array.isArray(output.choices) ? output.choices : [];
  if (!ended(output.finish_reason) && !choices.some((c) => isObject(c) && ended(c.finish_reason))) {
    incomplete('the last usage of the stream is partial: its chunk has no finish_reason');
  }
  return { response: { usage: last.usage }, model: null };
}

/**
 * Accumulate the chunks of one streamed response (each a parsed JSON object, in order) into
 * its one usage (UNIT-100), with the options of `adapt`.
 */
export function adaptStream(vendor, chunks, options = {}) {
  if (!Object.hasOwn(VENDOR_TABLE, vendor) || vendor === 'otel') {
    throw new TypeError(`no stream accumulator for vendor ${JSON.stringify(vendor)}`);
  }
  if (!Array.isArray(chunks)) throw new TypeError('a stream is an array of chunks');
  chunks.forEach((chunk, i) => {
    if (!isObject(chunk)) fail('invalid_usage', `chunk ${i} of the stream is not a JSON object (UNIT-100)`);
  });
  const { model, strict, serviceTier } = checkOptions(options);
  let found;
  if (vendor === 'anthropic') found = finalAnthropicResponse(chunks);
  else if (vendor === 'gemini') found = finalGeminiResponse(chunks);
  else if (vendor === 'dashscope') found = finalDashscopeResponse(chunks);
  else found = finalOpenAiResponse(chunks);
  const { response } = found;
  // The final chunk read as a whole response; the model is the caller's, else the stream's.
  const name = vendor !== 'gemini' ? 'usage' : (response.usageMetadata ?? null) !== null ? 'usageMetadata' : 'usage_metadata';
  const whole = Object.create(null);
  whole[name] = response[name];
  if (vendor !== 'anthropic' && response.service_tier !== undefined) whole.service_tier = response.service_tier;
  if (vendor === 'gemini') whole.modelVersion = found.model;
  else whole.model = found.model;
  return adapt(vendor, whole, { model, strict, serviceTier });
}
