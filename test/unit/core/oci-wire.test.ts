import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CallerFacts,
  callerDiffers,
  encodeRequest,
  exitFrame,
  FRAME,
  frame,
  MAX_REQUEST,
  type OciRequest,
  parseRequest,
  REQUEST_MAGIC,
  requestLength,
} from '../../../src/core/oci-wire.ts';

const facts: CallerFacts = {
  namespaces: 'mnt=mnt:[4026531841] net=net:[4026531840] time=-',
  root: '/',
  status: 'Umask:\t0022\nUid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff',
};
const req: OciRequest = {
  exe: '65024:5308748',
  facts,
  ttys: [false, true, false],
  cwd: '/run/containerd/bundle',
  argv: ['--root', '/run/r', 'create', '--bundle', '.', 'ct 1', ''],
  env: { PATH: '/usr/bin', EMPTY: '', 'A=B': 'x', WEIRD: 'a=b=c\nd' },
};
const payloadOf = (r: OciRequest) => encodeRequest(r).subarray(8);

test('oci-wire: a request goes through encode and parse unchanged (argv with spaces and empty ones)', () => {
  const bytes = encodeRequest(req);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), REQUEST_MAGIC);
  assert.equal(requestLength(bytes), bytes.length - 8);
  const back = parseRequest(bytes.subarray(8));
  // a name with "=" is cut at its first "=", as execve's environment reads it
  assert.deepEqual(back, { ...req, env: { PATH: '/usr/bin', EMPTY: '', A: 'B=x', WEIRD: 'a=b=c\nd' } });
});

test('oci-wire: another magic is no request', () => {
  const bytes = encodeRequest(req);
  bytes[0] = 0x58;
  assert.equal(requestLength(bytes), null);
  assert.equal(requestLength(bytes.subarray(0, 5)), null);
});

test('oci-wire: hostile payloads are refused, not half-read', () => {
  const text = (s: string) => new TextEncoder().encode(s);
  const good = new TextDecoder().decode(payloadOf(req));
  const fields = good.slice(0, -1).split('\0');
  const joined = (f: string[]) => text(`${f.join('\0')}\0`);
  assert.throws(() => parseRequest(text(good.slice(0, -1))), /NUL-terminated/);
  assert.throws(() => parseRequest(joined(['x:1', ...fields.slice(1)])), /executable identity/);
  assert.throws(() => parseRequest(joined([...fields.slice(0, 4), '0101', ...fields.slice(5)])), /ttys/);
  assert.throws(() => parseRequest(joined([...fields.slice(0, 5), 'relative', ...fields.slice(6)])), /absolute/);
  // counts: not numbers, larger than the bound, or larger than what follows
  assert.throws(() => parseRequest(joined([...fields.slice(0, 6), '-1', ...fields.slice(7)])), /argc/);
  assert.throws(() => parseRequest(joined([...fields.slice(0, 6), '99999', ...fields.slice(7)])), /argc/);
  assert.throws(() => parseRequest(joined([...fields.slice(0, 6), '900', ...fields.slice(7)])), /ends early/);
  assert.throws(() => parseRequest(joined([...fields, 'extra'])), /trailing/);
  assert.throws(() => parseRequest(text('')), /NUL-terminated/);
  assert.ok(MAX_REQUEST >= 1 << 20);
});

test('oci-wire: frames carry their type, a little-endian length and the data', () => {
  const f = frame(FRAME.stdout, new TextEncoder().encode('hi'));
  assert.deepEqual([...f], [0x6f, 2, 0, 0, 0, 0x68, 0x69]);
  assert.deepEqual([...frame(FRAME.fallback)], [0x66, 0, 0, 0, 0]);
  assert.deepEqual([...exitFrame(1)], [0x78, 4, 0, 0, 0, 1, 0, 0, 0]);
  assert.deepEqual([...exitFrame(-1)].slice(5), [0xff, 0xff, 0xff, 0xff]);
});

test('oci-wire: a caller whose namespaces, root or ids differ from the worker is not served', () => {
  assert.equal(callerDiffers(facts, { ...facts }), null);
  assert.match(
    callerDiffers(facts, { ...facts, namespaces: facts.namespaces.replace('4026531840', '1') }) ?? '',
    /namespaces/,
  );
  assert.match(callerDiffers(facts, { ...facts, root: '/chroot' }) ?? '', /root/);
  assert.match(callerDiffers(facts, { ...facts, status: facts.status.replace('0022', '0077') }) ?? '', /status/);
});
