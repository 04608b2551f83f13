// config.json as berth-oci reads it (core/oci-spec.ts): the default spec parses back, and
// malformed or hostile fields are refused with the field named, before anything is made.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from '../../../src/core/errors.ts';
import { defaultSpec } from '../../../src/core/oci-default.ts';
import { MAX_CONFIG_BYTES, parseSpec } from '../../../src/core/oci-spec.ts';

// biome-ignore lint/suspicious/noExplicitAny: a test builds wrong documents on purpose
const base = (): any => defaultSpec();
const proc = () => base().process;
const refused = (doc: unknown, field: RegExp) =>
  assert.throws(
    () => parseSpec(typeof doc === 'string' ? doc : JSON.stringify(doc)),
    (e: unknown) => e instanceof BerthError && e.code === 'BAD_VALUE' && field.test(e.message),
  );

test('the default spec (runc spec) parses back', () => {
  const s = parseSpec(JSON.stringify(defaultSpec()));
  assert.deepEqual(s.process?.args, ['sh']);
  assert.equal(s.root.path, 'rootfs');
  assert.ok(s.linux.namespaces.some((n) => n.type === 'mount' && n.path === null));
  assert.equal(s.mounts[0]?.destination, '/proc');
  assert.deepEqual(s.hooks.prestart, []);
  const rootless = parseSpec(JSON.stringify(defaultSpec({ uid: 1000, gid: 1000 })));
  assert.deepEqual(rootless.linux.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
  assert.ok(rootless.linux.namespaces.some((n) => n.type === 'user'));
});

test('malformed and hostile fields are refused, naming the field', () => {
  refused('{', /the file: not JSON/);
  refused('x'.repeat(MAX_CONFIG_BYTES + 1), /larger than/);
  refused([], /the document: must be an object/);
  refused({ ...base(), root: undefined }, /root: must be an object/);
  refused({ ...base(), process: { ...proc(), args: [] } }, /process\.args: must name/);
  refused({ ...base(), process: { ...proc(), args: ['sh', 7] } }, /process\.args\[1\]: must be a string/);
  refused({ ...base(), process: { ...proc(), args: ['s\0h'] } }, /NUL/);
  refused({ ...base(), process: { ...proc(), cwd: 'tmp' } }, /process\.cwd: "tmp" is not an absolute path/);
  refused({ ...base(), process: { ...proc(), user: { uid: -1 } } }, /process\.user\.uid/);
  refused({ ...base(), process: { ...proc(), user: { uid: 2 ** 32 } } }, /process\.user\.uid/);
  refused(
    { ...base(), process: { ...proc(), capabilities: { bounding: ['CAP_X', 'rm -rf'] } } },
    /capabilities\.bounding\[1\]/,
  );
  refused({ ...base(), process: { ...proc(), rlimits: [{ type: 'NOFILE', soft: 1, hard: 1 }] } }, /rlimits\[0\]\.type/);
  refused({ ...base(), mounts: [{ destination: 'proc', type: 'proc' }] }, /mounts\[0\]\.destination/);
  refused({ ...base(), mounts: new Array(5000).fill({ destination: '/x' }) }, /mounts: more than/);
  refused({ ...base(), linux: { namespaces: [{ type: 'pid' }, { type: 'pid' }] } }, /pid is named twice/);
  refused({ ...base(), linux: { namespaces: [{ type: 'bogus' }] } }, /"bogus" is no namespace/);
  refused({ ...base(), linux: { uidMappings: [{ containerID: 0, hostID: 1, size: 0 }] } }, /uidMappings\[0\]\.size/);
  refused({ ...base(), linux: { devices: [{ type: 'x', path: '/dev/x' }] } }, /devices\[0\]\.type/);
  refused({ ...base(), hooks: { prestart: [{ path: 'hook' }] } }, /hooks\.prestart\[0\]\.path/);
  refused({ ...base(), hooks: { poststop: [{ path: '/h', timeout: 0 }] } }, /timeout/);
  refused({ ...base(), annotations: { a: 1 } }, /annotations\.a: must be a string/);
});

test('rlimits past 2^53 (RLIM_INFINITY as Go writes it) read as unlimited', () => {
  const doc = base();
  doc['process']['rlimits'] = [{ type: 'RLIMIT_NOFILE', soft: 'INF', hard: 'INF' }];
  const s = parseSpec(JSON.stringify(doc).replaceAll('"INF"', '18446744073709551615'));
  assert.equal(s.process?.rlimits[0]?.hard, Number.MAX_SAFE_INTEGER);
});
