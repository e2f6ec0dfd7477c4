#!/usr/bin/env node
// tokenfed conformance adapter (protocol v1) in Node.js: a second, independent implementation
// of the `units` and `receipt-verifier` profiles (and `verify-document`), written from the spec.
//
//   node adapter.mjs info
//   node adapter.mjs OP CASE.json              exit 0 + output on stdout, or 1 + error on stderr
//   node adapter.mjs batch CASES.jsonl RESULTS.jsonl

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

import { TokenfedError } from './lib/errors.mjs';
import { isObject, parseLoose } from './lib/json.mjs';
import { OPERATIONS, PROFILES, runOperation } from './lib/ops.mjs';
import { splitLines } from './lib/receipts.mjs';

const INFO = {
  protocol: '1',
  name: 'tokenfed-node-adapter',
  version: '0.1.0',
  spec_version: '1.0',
  profiles: Object.keys(PROFILES),
  operations: Object.keys(OPERATIONS),
  batch: true,
};

const USAGE = 'usage: adapter.mjs info | OP CASE.json | batch CASES.jsonl RESULTS.jsonl';

function errorObject(error) {
  if (error instanceof TokenfedError) return error.toJSON();
  return { error: 'internal_error', message: `unexpected failure in the adapter: ${error && error.message}` };
}

function exitWith(error) {
  process.stderr.write(`${JSON.stringify(errorObject(error))}\n`);
  process.exitCode = error instanceof TokenfedError && error.code === 'invalid_arguments' ? 2 : 1;
}

function readBytes(path, what) {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TokenfedError('io_error', `cannot read ${what} ${path}: ${error.code ?? error.message}`);
  }
}

function parseCase(bytes, what) {
  try {
    return parseLoose(bytes, what);
  } catch (error) {
    if (error instanceof TokenfedError) throw new TokenfedError('invalid_arguments', error.message);
    throw error;
  }
}

function runBatch(casesPath, resultsPath) {
  const lines = splitLines(readBytes(casesPath, 'the cases file'));
  const out = [];
  for (const [i, bytes] of lines.entries()) {
    let id = null;
    try {
      const entry = parseCase(bytes, `case line ${i + 1}`);
      if (!isObject(entry)) throw new TokenfedError('invalid_arguments', `case line ${i + 1} is not an object`);
      id = entry.id ?? null;
      const output = runOperation(entry.op, entry.input);
      out.push({ id, status: 'accepted', output });
    } catch (error) {
      out.push({ id, status: 'rejected', error: errorObject(error) });
    }
  }
  // Write beside the target and rename, so that no partial results file survives.
  const temporary = join(dirname(resultsPath), `.${basename(resultsPath)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, out.map((r) => `${JSON.stringify(r)}\n`).join(''));
    renameSync(temporary, resultsPath);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new TokenfedError('io_error', `cannot write ${resultsPath}: ${error.code ?? error.message}`);
  }
}

function main(argv) {
  try {
    if (argv.length === 1 && argv[0] === 'info') {
      process.stdout.write(`${JSON.stringify(INFO)}\n`);
    } else if (argv.length === 3 && argv[0] === 'batch') {
      runBatch(argv[1], argv[2]);
    } else if (argv.length === 2 && Object.hasOwn(OPERATIONS, argv[0])) {
      const input = parseCase(readBytes(argv[1], 'the case file'), 'the case file');
      const output = runOperation(argv[0], input);
      process.stdout.write(`${JSON.stringify(output)}\n`);
    } else {
      throw new TokenfedError('invalid_arguments', USAGE);
    }
  } catch (error) {
    exitWith(error);
  }
}

main(process.argv.slice(2));
