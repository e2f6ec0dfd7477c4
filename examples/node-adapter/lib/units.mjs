// Units chapter: meters, usage objects, service tiers, rate cards and pricing
// (spec/units.md, UNIT-001..UNIT-071; the vendor adapters are in adapters.mjs).

import { createHash } from 'node:crypto';

import { divRoundHalfEven, fromScaled, toScaled } from './decimal.mjs';
import { fail } from './errors.mjs';
import { canonicalize, codePoints, isInt, isObject, rejectNoncharacters } from './json.mjs';
import { checkVersion, integerIat, trustStoreLookup, verifyJws } from './jws.mjs';
import { DOCUMENT_ID, Findings, VERSION } from './schema.mjs';

// --- Meters (UNIT-003, UNIT-008) --------------------------------------------------------------

export const REGISTRY = [
  'input', 'cache_read', 'cache_write', 'output', 'reasoning', 'image_in', 'image_out',
  'audio_in_ms', 'audio_out_ms', 'request', 'tool_call', 'web_search',
];
const REGISTRY_RANK = new Map(REGISTRY.map((name, i) => [name, i]));
const EXTENSION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

export function isMeterName(name) {
  return REGISTRY_RANK.has(name) || (EXTENSION.test(name) && name.length <= 64);
}

// --- Service tiers (UNIT-070) -----------------------------------------------------------------

export const REGISTERED_TIERS = ['standard', 'priority', 'batch', 'flex'];

/** A registered tier, or an extension tier named like an extension meter (UNIT-070). */
export function isServiceTierName(name) {
  return typeof name === 'string' && (REGISTERED_TIERS.includes(name) || (EXTENSION.test(name) && name.length <= 64));
}

/**
 * UNIT-044: the extension meters of UNIT-009 that count prompt tokens, which count toward
 * total_input with `input`, `cache_read` and `cache_write`.
 */
export const PROMPT_METERS = [
  'input', 'cache_read', 'cache_write',
  'openai.audio_in_tokens', 'openai.cache_write_12h', 'anthropic.cache_write_1h',
  'google.audio_in_tokens', 'google.audio_cache_read_tokens', 'qwen.audio_in_tokens',
  'qwen.explicit_cache_read_tokens', 'volcengine.audio_in_tokens', 'volcengine.audio_cache_read_tokens',
];

function compareCodePoints(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

/** UNIT-061: registry order, then extension meters by code point. */
export function orderMeters(names) {
  const registered = names.filter((n) => REGISTRY_RANK.has(n)).sort((a, b) => REGISTRY_RANK.get(a) - REGISTRY_RANK.get(b));
  const extensions = names.filter((n) => !REGISTRY_RANK.has(n)).sort(compareCodePoints);
  return [...registered, ...extensions];
}

// --- Usage (UNIT-002..UNIT-007) ---------------------------------------------------------------

/** Record the findings of a usage object: shape, then meter names, then counts (UNIT-007). */
export function usageFindings(usage, findings, where = 'the usage') {
  if (!isObject(usage)) {
    findings.schema(`${where} must be a JSON object`);
    return;
  }
  if (typeof usage.model !== 'string' || codePoints(usage.model) < 1 || codePoints(usage.model) > 256) {
    findings.schema(`${where}.model must be a string of 1 to 256 characters`);
  }
  if (Object.hasOwn(usage, 'service_tier') && !isServiceTierName(usage.service_tier)) {
    findings.schema(`${where}.service_tier must be standard, priority, batch, flex or an extension tier name such as acme.night (UNIT-070)`);
  }
  if (!isObject(usage.meters)) {
    findings.schema(`${where}.meters must be a JSON object`);
    return;
  }
  for (const name of Object.keys(usage.meters)) {
    if (!isMeterName(name)) findings.add('unknown_meter', `${JSON.stringify(name)} is neither a registry meter nor an extension meter name`);
  }
  for (const name of Object.keys(usage.meters)) {
    if (!isInt(usage.meters[name])) {
      findings.add('invalid_usage', `the count of ${JSON.stringify(name)} must be an integer from 0 to 2^53 - 1`);
    }
  }
}

export function checkUsage(usage) {
  rejectNoncharacters(usage, 'the usage');
  const findings = new Findings('usage');
  usageFindings(usage, findings);
  findings.raise();
}

// --- Rate cards (UNIT-020..UNIT-032) -----------------------------------------------------------

export const RATE_CARD_TYP = 'tokenfed-rate-card+jwt';
const WEIGHT_SCALE = 9;
const AMOUNT_SCALE = 6;

function weightsFindings(weights, findings, where) {
  if (!isObject(weights)) {
    findings.schema(`${where} must be an object of meter names to weights`);
    return;
  }
  for (const name of Object.keys(weights)) {
    if (!isMeterName(name)) findings.schema(`${where} names ${JSON.stringify(name)}, which is not a meter name`);
    findings.decimal(weights[name], WEIGHT_SCALE, 'nonnegative', `${where}.${name}`);
  }
}

function weightsMap(weights) {
  const out = new Map();
  for (const name of Object.keys(weights)) out.set(name, { text: weights[name], scaled: toScaled(weights[name], WEIGHT_SCALE) });
  return out;
}

/**
 * The findings of one rates object: `weights`, `tiers`, `minimum` (UNIT-024..UNIT-026) and, for
 * a model's base rates only, `service_tiers` (UNIT-071).
 */
function ratesFindings(rates, f, where, baseRates) {
  if (!isObject(rates)) {
    f.schema(`${where} must be an object`);
    return;
  }
  if (!Object.hasOwn(rates, 'weights')) f.schema(`${where} needs weights`);
  else weightsFindings(rates.weights, f, `${where}.weights`);
  if (Object.hasOwn(rates, 'tiers')) {
    if (!Array.isArray(rates.tiers)) f.schema(`${where}.tiers must be an array`);
    else {
      rates.tiers.forEach((tier, i) => {
        if (!isObject(tier)) {
          f.schema(`${where}.tiers[${i}] must be an object`);
          return;
        }
        if (!isInt(tier.above_input)) f.schema(`${where}.tiers[${i}].above_input must be an integer 0..2^53 - 1`);
        if (!Object.hasOwn(tier, 'weights')) f.schema(`${where}.tiers[${i}] needs weights`);
        else weightsFindings(tier.weights, f, `${where}.tiers[${i}].weights`);
      });
    }
  }
  if (Object.hasOwn(rates, 'minimum')) f.decimal(rates.minimum, AMOUNT_SCALE, 'nonnegative', `${where}.minimum`);
  if (Object.hasOwn(rates, 'service_tiers')) {
    if (!baseRates) f.schema(`${where} is the rates of a service tier, which must not have service_tiers (UNIT-071)`);
    else if (!isObject(rates.service_tiers)) f.schema(`${where}.service_tiers must be an object of tier names to rates`);
    else {
      for (const tier of Object.keys(rates.service_tiers)) {
        if (!isServiceTierName(tier)) f.schema(`${where}.service_tiers names ${JSON.stringify(tier)}, which is not a service tier name (UNIT-070)`);
        ratesFindings(rates.service_tiers[tier], f, `${where}.service_tiers.${tier}`, false);
      }
    }
  }
}

/** Rates that passed ratesFindings, with the semantic check of UNIT-025. */
function parseRates(rates, where) {
  const tiers = rates.tiers ?? [];
  for (let i = 1; i < tiers.length; i += 1) {
    if (!(tiers[i].above_input > tiers[i - 1].above_input)) {
      fail('schema_violation', `rate card: the tiers of ${where} must have strictly increasing above_input`);
    }
  }
  const serviceTiers = new Map();
  for (const name of Object.keys(rates.service_tiers ?? {})) {
    serviceTiers.set(name, parseRates(rates.service_tiers[name], `${where} (service tier ${name})`));
  }
  return {
    weights: weightsMap(rates.weights),
    tiers: tiers.map((t) => ({ aboveInput: t.above_input, weights: weightsMap(t.weights) })),
    minimum: toScaled(rates.minimum ?? '0', AMOUNT_SCALE),
    serviceTiers,
  };
}

/** The digest of a JSON value: SHA-256 of its JCS bytes (CONV-030, CONV-031, UNIT-029). */
export function jsonDigest(value) {
  return `sha256:${createHash('sha256').update(canonicalize(value), 'utf8').digest('hex')}`;
}

/**
 * Rate-card claims through UNIT-030 steps 4 to 6 (version, schema, semantics). Returns a
 * RateCard: {claims, id, digest, nbf, exp, models: Map(model -> {weights, tiers, minimum,
 * serviceTiers: Map(tier -> the same without serviceTiers)})}.
 */
export function rateCardFromClaims(claims) {
  rejectNoncharacters(claims, 'the rate card');
  if (isObject(claims)) checkVersion(claims, 'the rate card');
  const f = new Findings('rate card');
  if (!isObject(claims)) {
    f.schema('the claims must be a JSON object');
    f.raise();
  }
  f.entityId(claims.iss, 'iss');
  if (typeof claims.rate_card_id !== 'string' || !DOCUMENT_ID.test(claims.rate_card_id)) {
    f.schema('rate_card_id must be 1 to 256 printable ASCII characters without spaces');
  }
  if (typeof claims.ver !== 'string' || !VERSION.test(claims.ver)) f.schema('ver must be "MAJOR.MINOR"');
  for (const name of ['iat', 'nbf', 'exp']) f.numericDate(claims[name], name);
  if (claims.unit !== 'UTU') f.schema('unit must be "UTU"');
  const models = claims.models;
  if (!isObject(models) || Object.keys(models).length === 0) {
    f.schema('models must be an object with at least one model');
  } else {
    for (const id of Object.keys(models)) {
      const where = `models.${id}`;
      if (codePoints(id) < 1 || codePoints(id) > 256) f.schema(`model id ${JSON.stringify(id)} must have 1 to 256 characters`);
      ratesFindings(models[id], f, where, true);
    }
  }
  f.raise();

  // Semantic checks JSON Schema cannot express (UNIT-025, UNIT-027).
  const parsed = new Map();
  for (const id of Object.keys(models)) parsed.set(id, parseRates(models[id], id));
  if (!(claims.nbf < claims.exp)) fail('schema_violation', 'rate card: nbf must be less than exp');
  return { claims, id: claims.rate_card_id, digest: jsonDigest(claims), nbf: claims.nbf, exp: claims.exp, models: parsed };
}

/** A rate card exchanged as a JWS, verified with a trust store (UNIT-030, UNIT-031). */
export function rateCardFromJws(token, trust) {
  if (isObject(token)) fail('invalid_signature', 'unsigned rate-card claims are not accepted in place of the JWS (UNIT-032)');
  const { claims } = verifyJws(token, { typ: RATE_CARD_TYP, findKey: trustStoreLookup(trust), validityTime: integerIat });
  return rateCardFromClaims(claims);
}

// --- Pricing (UNIT-040..UNIT-063) -------------------------------------------------------------

/** Price a usage under a processed rate card; `at` (a time or null) checks validity (UNIT-042). */
export function price(card, usage, at) {
  checkUsage(usage); // UNIT-041: the card was processed first by the caller.
  if (at !== null && at !== undefined && !(card.nbf <= at && at < card.exp)) {
    fail('rate_card_not_valid', `rate card ${card.id} is valid from ${card.nbf} until before ${card.exp}, not at ${at}`);
  }
  const base = card.models.get(usage.model);
  if (base === undefined) fail('unknown_model', `rate card ${card.id} does not price model ${JSON.stringify(usage.model)}`);
  // UNIT-051: a priced service tier's rates replace the base rates whole.
  const serviceTier = Object.hasOwn(usage, 'service_tier') ? usage.service_tier : null;
  let model = base;
  if (serviceTier !== null && base.serviceTiers.has(serviceTier)) model = base.serviceTiers.get(serviceTier);
  else if (serviceTier !== null && serviceTier !== 'standard') {
    fail('unpriced_service_tier', `rate card ${card.id} has no rates for the service tier ${serviceTier} of model ${usage.model} (UNIT-051)`);
  }
  const meters = Object.keys(usage.meters).filter((name) => usage.meters[name] !== 0);
  const counts = new Map(meters.map((name) => [name, BigInt(usage.meters[name])]));
  const totalInput = PROMPT_METERS.reduce((sum, name) => sum + (counts.get(name) ?? 0n), 0n);
  let tier = null;
  for (const candidate of model.tiers) {
    if (BigInt(candidate.aboveInput) < totalInput) tier = candidate;
  }
  const effective = new Map(model.weights);
  if (tier !== null) for (const [name, weight] of tier.weights) effective.set(name, weight);
  const lines = [];
  let sum = 0n;
  for (const name of orderMeters(meters)) {
    const weight = effective.get(name);
    if (weight === undefined) fail('unpriced_meter', `rate card ${card.id} has no weight for ${name} of model ${usage.model}`);
    const amount = counts.get(name) * weight.scaled;
    sum += amount;
    lines.push({ meter: name, count: usage.meters[name], weight: weight.text, amount: fromScaled(amount, WEIGHT_SCALE) });
  }
  const rounded = divRoundHalfEven(sum, 10n ** BigInt(WEIGHT_SCALE - AMOUNT_SCALE));
  const minimumApplied = rounded < model.minimum;
  const result = {
    amount: fromScaled(minimumApplied ? model.minimum : rounded, AMOUNT_SCALE),
    unit: 'UTU',
    rate_card: { id: card.id, digest: card.digest },
    lines,
    tier: tier === null ? null : tier.aboveInput,
    minimum_applied: minimumApplied,
  };
  if (serviceTier !== null) result.service_tier = serviceTier; // UNIT-063
  return result;
}

