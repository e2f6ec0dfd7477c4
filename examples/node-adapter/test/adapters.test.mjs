// The vendor adapters and stream accumulators on cases the vectors do not pin down, and the
// `adapt` operation's own members (report or stream, strict, service_tier). Each case expects
// one result or exactly one error code.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { adapt, adaptStream } from '../lib/adapters.mjs';
import { TokenfedError } from '../lib/errors.mjs';
import { runOperation } from '../lib/ops.mjs';

function code(fn) {
  try {
    fn();
  } catch (error) {
    if (error instanceof TokenfedError) return error.code;
    throw error;
  }
  return 'accepted';
}

test('adapt operation: exactly one of report and stream, a boolean strict, no otel stream', () => {
  const report = { prompt_tokens: 3, completion_tokens: 1 };
  const op = (input) => code(() => runOperation('adapt', { vendor: 'openai', model: 'm', ...input }));
  assert.equal(op({ report }), 'accepted');
  assert.equal(op({ report, stream: [] }), 'invalid_arguments');
  assert.equal(op({}), 'invalid_arguments');
  assert.equal(op({ stream: {} }), 'invalid_arguments');
  assert.equal(op({ report, strict: 'yes' }), 'invalid_arguments');
  assert.equal(op({ report, strict: null }), 'accepted');
  assert.equal(code(() => runOperation('adapt', { vendor: 'otel', stream: [] })), 'invalid_arguments');
  assert.equal(code(() => runOperation('adapt', { vendor: 'acme', report })), 'invalid_arguments');
});

test('the caller\'s service tier: a tier name, combined with the reported one (UNIT-070, UNIT-081)', () => {
  const report = { model: 'gpt-5.2', service_tier: 'default', usage: { prompt_tokens: 3 } };
  const tierOf = (serviceTier, r = report) => adapt('openai', r, { serviceTier }).service_tier;
  assert.equal(tierOf(null), 'standard');
  assert.equal(tierOf('batch'), 'batch');
  assert.equal(tierOf('acme.night'), 'acme.night');
  assert.throws(() => tierOf('Batch'), RangeError);
  const op = (tier) => code(() => runOperation('adapt', { vendor: 'openai', report, service_tier: tier }));
  assert.equal(op('Batch'), 'invalid_arguments');
  assert.equal(op(7), 'invalid_arguments');
  assert.equal(op(null), 'accepted');
  assert.equal(code(() => tierOf('flex', { ...report, service_tier: 'priority' })), 'invalid_usage');
  assert.equal(tierOf('priority', { ...report, service_tier: 'priority' }), 'priority');
  // A report that names no tier takes the caller's; without either, the usage names none.
  assert.equal(adapt('openai', { prompt_tokens: 1 }, { model: 'm', serviceTier: 'flex' }).service_tier, 'flex');
  assert.equal(adapt('anthropic', { input_tokens: 1 }, { model: 'c', serviceTier: 'batch' }).service_tier, 'batch');
  assert.equal(Object.hasOwn(adapt('anthropic', { input_tokens: 1 }, { model: 'c' }), 'service_tier'), false);
});

test('Anthropic tiers from service_tier, speed and inference_geo (UNIT-083)', () => {
  const tier = (extra) => adapt('anthropic', { input_tokens: 1, ...extra }, { model: 'c' }).service_tier;
  assert.equal(tier({ speed: 'fast' }), 'anthropic.standard_fast');
  assert.equal(tier({ service_tier: 'batch', inference_geo: 'us' }), 'anthropic.batch_us');
  assert.equal(tier({ service_tier: 'priority', speed: 'fast', inference_geo: 'not_available' }), 'anthropic.priority_fast');
  assert.equal(tier({ inference_geo: 'global' }), 'standard');
  assert.equal(code(() => tier({ inference_geo: 'eu' })), 'invalid_usage');
  assert.equal(code(() => tier({ service_tier: 3 })), 'invalid_usage');
});

test('strict mode: unknown non-zero members fail, zero ones and lenient mode pass (UNIT-019)', () => {
  const run = (vendor, report, strict = true) => code(() => adapt(vendor, report, { model: 'm', strict }));
  assert.equal(run('deepseek', { prompt_tokens: 5, prompt_tokens_details: { audio_tokens: 2 } }), 'invalid_usage');
  assert.equal(run('deepseek', { prompt_tokens: 5, prompt_tokens_details: { audio_tokens: 2 } }, false), 'accepted');
  assert.equal(run('vllm', { prompt_tokens: 5, extra: { a: [0, null, false, {}] } }), 'accepted');
  assert.equal(run('vllm', { prompt_tokens: 5, extra: '' }), 'invalid_usage');
  assert.equal(run('gemini', { promptTokenCount: 5, responseTokenCount: 1 }), 'invalid_usage');
  assert.equal(run('gemini', { promptTokenCount: 5, promptTokensDetails: [{ modality: 'HOLOGRAM', tokenCount: 5 }] }, false), 'accepted');
  // Out-of-table values fail in both modes.
  assert.equal(run('gemini', { promptTokenCount: 5, trafficType: 'SPOT' }, false), 'invalid_usage');
  assert.equal(run('volcengine', { prompt_tokens: 5, completion_tokens_details: { provisioned_tokens: 1 } }, false), 'invalid_usage');
  // Attributes outside gen_ai.usage. are not the adapter's to judge.
  assert.equal(run('otel', { 'gen_ai.usage.input_tokens': 5, 'http.status': 'ok' }), 'accepted');
  assert.equal(run('otel', { 'gen_ai.usage.input_tokens': 5, 'gen_ai.usage.video.input_tokens': 1 }, false), 'accepted');
});

test('Gemini: snake_case responses, tool-use audio, no mixed spelling in details', () => {
  const usage = adapt('gemini', {
    modelVersion: 'g',
    usageMetadata: {
      promptTokenCount: 100,
      toolUsePromptTokenCount: 30,
      toolUsePromptTokensDetails: [{ modality: 'AUDIO', tokenCount: 10 }],
      trafficType: 'ON_DEMAND_OFFPEAK',
    },
  });
  assert.deepEqual(usage, { model: 'g', meters: { input: 120, 'google.audio_in_tokens': 10 }, service_tier: 'google.offpeak' });
  const snake = { model_version: 'g', usage_metadata: { prompt_token_count: 4, prompt_tokens_details: [{ modality: 'AUDIO', tokenCount: 3 }] } };
  assert.deepEqual(adapt('gemini', snake), { model: 'g', meters: { input: 1, 'google.audio_in_tokens': 3 } });
  snake.usage_metadata.prompt_tokens_details[0].token_count = 3;
  assert.equal(code(() => adapt('gemini', snake)), 'invalid_usage');
  assert.equal(code(() => adapt('gemini', { usageMetadata: null, modelVersion: 'g' })), 'invalid_usage');
});

test('streams: one final usage, never a partial one (UNIT-100..UNIT-104)', () => {
  const start = { type: 'message_start', message: { model: 'c', usage: { input_tokens: 5, output_tokens: 1 } } };
  const delta = { type: 'message_delta', usage: { output_tokens: 9 } };
  assert.deepEqual(adaptStream('anthropic', [start, delta]), { model: 'c', meters: { input: 5, output: 9 } });
  assert.equal(code(() => adaptStream('anthropic', [start, start, delta])), 'invalid_usage');
  assert.equal(code(() => adaptStream('anthropic', [delta])), 'invalid_usage');
  assert.equal(code(() => adaptStream('anthropic', [])), 'incomplete_stream');
  assert.equal(code(() => adaptStream('anthropic', [start, { type: 'message_delta' }])), 'invalid_usage');
  // A usage on a chunk with choices is final only if it is the last one and ends every choice.
  const part = (reason, n) => ({ model: 'v', choices: [{ finish_reason: reason }], usage: { prompt_tokens: 3, completion_tokens: n } });
  assert.deepEqual(adaptStream('vllm', [part(null, 1), part('stop', 2)]), { model: 'v', meters: { input: 3, output: 2 } });
  assert.equal(code(() => adaptStream('vllm', [part('stop', 1), part(null, 2)])), 'incomplete_stream');
  assert.equal(code(() => adaptStream('vllm', [part('null', 2)])), 'incomplete_stream');
  // A terminal Responses event without a usage reported none.
  assert.equal(code(() => adaptStream('openai', [{ type: 'response.failed', response: { model: 'g', usage: null } }])), 'incomplete_stream');
  // Responses API: a second terminal event is a second usage.
  const done = { type: 'response.completed', response: { model: 'g', usage: { input_tokens: 1 } } };
  assert.equal(code(() => adaptStream('openai', [done, { ...done, type: 'response.failed' }])), 'invalid_usage');
  assert.deepEqual(adaptStream('openai', [{ ...done, type: 'response.incomplete' }]), { model: 'g', meters: { input: 1 } });
  // A chunk's service tier is the stream's; the caller's model wins over the chunks'.
  const chunk = { model: 'gpt', service_tier: 'priority', choices: [], usage: { prompt_tokens: 2 } };
  assert.deepEqual(adaptStream('openai', [chunk], { model: 'mine' }), { model: 'mine', meters: { input: 2 }, service_tier: 'priority' });
  // Gemini blocked prompt, snake_case chunks.
  const blocked = { model_version: 'g', prompt_feedback: { block_reason: 'SAFETY' }, usage_metadata: { prompt_token_count: 7 } };
  assert.deepEqual(adaptStream('gemini', [blocked]), { model: 'g', meters: { input: 7 } });
  // DashScope: the finish reason may sit on output itself.
  const ds = { output: { finish_reason: 'stop' }, usage: { input_tokens: 3, output_tokens: 2 } };
  assert.deepEqual(adaptStream('dashscope', [ds], { model: 'q' }), { model: 'q', meters: { input: 3, output: 2 } });
  assert.equal(code(() => adaptStream('dashscope', [{ ...ds, output: { finish_reason: 'null' } }], { model: 'q' })), 'incomplete_stream');
  assert.equal(code(() => adaptStream('openai', [null], { model: 'm' })), 'invalid_usage');
  // The model: the last one a chunk names; a bad one is a bad model (UNIT-012).
  assert.equal(adaptStream('openai', [{ model: 'a', choices: [] }, { ...chunk, model: null }]).model, 'a');
  assert.equal(code(() => adaptStream('openai', [{ ...chunk, model: 7 }])), 'invalid_usage');
  const geminiEnd = { candidates: [{ finishReason: 'null' }], usageMetadata: { promptTokenCount: 1 }, modelVersion: 'g' };
  assert.equal(code(() => adaptStream('gemini', [geminiEnd])), 'incomplete_stream');
});
