// Every error code is documented in docs/errors.md with its exit number (fastify's habit).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERRORS } from '../src/core/errors.ts';

test('docs/errors.md lists every error code with its exit code', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  for (const [code, e] of Object.entries(ERRORS)) {
    assert.match(
      doc,
      new RegExp(`\\|\\s*${e.exit}\\s*\\|\\s*\`${code}\``),
      `${code} (exit ${e.exit}) missing from docs/errors.md`,
    );
  }
});
