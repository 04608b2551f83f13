// Action scripts: vzctl's names and order, where each runs, its environment, what a failure does,
// and which script files are refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkScript,
  describeExit,
  type FileFacts,
  ownScriptNames,
  SCRIPT_ACTIONS,
  scriptAborts,
  scriptEnv,
  scriptsFor,
} from '../../../src/core/action-scripts.ts';
import { parseCtId } from '../../../src/core/ctid.ts';
import { ERRORS } from '../../../src/core/errors.ts';

const ID = parseCtId('101');

test('scripts in vzctl order: global first going up, own first going down; start and stop only own, inside', () => {
  const names = (a: (typeof SCRIPT_ACTIONS)[number]) =>
    scriptsFor(a, ID).map((s) => `${s.name}${s.inside ? '@ct' : ''}`);
  assert.deepEqual(names('premount'), ['vps.premount', '101.premount']);
  assert.deepEqual(names('mount'), ['vps.mount', '101.mount']);
  assert.deepEqual(names('start'), ['101.start@ct']);
  assert.deepEqual(names('stop'), ['101.stop@ct']);
  assert.deepEqual(names('umount'), ['101.umount', 'vps.umount']);
  assert.deepEqual(names('postumount'), ['101.postumount', 'vps.postumount']);
  assert.deepEqual(
    SCRIPT_ACTIONS.filter((a) => scriptAborts(a)),
    ['premount', 'mount', 'start'],
  );
  assert.deepEqual(ownScriptNames(parseCtId('7')), [
    '7.premount',
    '7.mount',
    '7.start',
    '7.stop',
    '7.umount',
    '7.postumount',
  ]);
  assert.equal(ERRORS.ACTION_SCRIPT.exit, 79, "vzctl's VZ_ACTIONSCRIPT_ERROR");
});

test("the environment is vzctl's plus the resolved roots, and nothing else", () => {
  const env = scriptEnv(ID, { conf: '/etc/berth/ct/101.conf', veRoot: '/r/101', vePrivate: '/p/101' });
  assert.deepEqual(Object.keys(env).sort(), ['HOME', 'PATH', 'VEID', 'VE_CONFFILE', 'VE_PRIVATE', 'VE_ROOT']);
  assert.equal(env['VEID'], '101');
  assert.equal(env['HOME'], '/');
  assert.match(env['PATH'] ?? '', /^\/usr\/local\/sbin:.*:\/bin$/);
});

test('only root-owned scripts that no one else can write, in such a directory, are run', () => {
  const file = (over: Partial<FileFacts> = {}): FileFacts => ({ uid: 0, mode: 0o100755, kind: 'file', ...over });
  const dir = (over: Partial<FileFacts> = {}): FileFacts => ({ uid: 0, mode: 0o40755, kind: 'dir', ...over });
  const p = '/etc/berth/ct/101.mount';
  assert.equal(checkScript(p, file(), dir(), false), null);
  assert.equal(checkScript(p, file({ mode: 0o100644 }), dir(), true), null, 'read, not executed, for the container');
  const refusal = (f: FileFacts, d: FileFacts, inside = false) => {
    const e = checkScript(p, f, d, inside);
    assert.equal(e?.code, 'ACTION_SCRIPT');
    return e?.message ?? '';
  };
  assert.match(refusal(file({ mode: 0o100775 }), dir()), /group- or world-writable: refused/);
  assert.match(refusal(file({ mode: 0o100757 }), dir()), /group- or world-writable/);
  assert.match(refusal(file({ uid: 1000 }), dir()), /owned by uid 1000, not root/);
  assert.match(refusal(file(), dir({ mode: 0o40777 })), /\/etc\/berth\/ct is group- or world-writable/);
  assert.match(refusal(file(), dir({ uid: 5 })), /\/etc\/berth\/ct is owned by uid 5/);
  assert.match(refusal(file({ kind: 'symlink' }), dir()), /not a regular file/);
  assert.match(refusal(file({ kind: 'other' }), dir(), true), /not a regular file/);
  assert.match(refusal(file({ mode: 0o100644 }), dir()), /not executable/);
});

test('how a script ended, in words; success is no failure', () => {
  assert.equal(describeExit({ code: 0, signal: null, timedOut: false }), null);
  assert.equal(describeExit({ code: 3, signal: null, timedOut: false }), 'exited with 3');
  assert.equal(describeExit({ code: null, signal: 'SIGSEGV', timedOut: false }), 'killed by SIGSEGV');
  assert.equal(
    describeExit({ code: null, signal: 'SIGKILL', timedOut: true }, 2000),
    'ran longer than 2 s and was killed',
  );
  assert.match(
    describeExit({ code: null, signal: null, timedOut: false, error: 'spawn EACCES' }) ?? '',
    /could not be run/,
  );
});
