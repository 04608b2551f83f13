// berth exec without "--" runs a command line through the container's shell, as vzctl exec
// does (several words joined with spaces); after "--" argv runs as it is, no shell.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { ROOT_SKIP, sandbox } from './harness.ts';

test('exec CT "command line" runs /bin/sh -c inside; exec CT -- argv is not shell-interpreted', {
  skip: ROOT_SKIP,
}, (t) => {
  const s = sandbox(t);
  s.ok(['create', '101', '--hostname', 'inside']);
  s.ok(['start', '101']);
  assert.notEqual(hostname(), 'inside');

  // one string: a pipe, a variable and a command substitution, all expanded inside
  assert.equal(s.ok(['exec', '101', 'H=$(hostname); echo "$H" | tr a-z A-Z']), 'INSIDE\n');
  assert.equal(s.ok(['exec', '-T', '101', 'test -f /etc/inittab && echo "$0"']), '/bin/sh\n', 'the flags go before it');
  assert.equal(s.berth(['exec', '101', 'exit 7']).code, 7, 'the exit status of the shell');
  assert.equal(s.ok(['exec', '101', 'cat | wc -c'], { input: 'abc' }).trim(), '3', 'stdin reaches the pipe');

  // several words without "--": joined with spaces, then the shell's (vzctl exec)
  assert.equal(s.ok(['exec', '101', 'echo', 'a', '|', 'tr', 'a', 'b']), 'b\n');
  const split = s.berth(['exec', '101', 'echo', 'x;echo', 'y']);
  assert.equal(split.code, 0, split.err);
  assert.equal(split.out, 'x\ny\n');

  // after "--": argv as it is, no shell: one argument with ; $ and | stays one argument
  assert.equal(s.ok(['exec', '101', '--', 'echo', 'a;b', '$HOME', 'x | y']), 'a;b $HOME x | y\n');
  assert.equal(s.ok(['exec', '101', '--', 'sh', '-c', 'echo $#', 'sh', 'one;two three']), '1\n');
  // "--" even with one word: it is a program's name, not a command line
  const notShell = s.berth(['exec', '101', '--', 'echo hi']);
  assert.equal(notShell.code, 127);
  assert.match(notShell.err, /exec 101 echo hi: no such command in the container/);
  s.ok(['stop', '--fast', '101']);
});
