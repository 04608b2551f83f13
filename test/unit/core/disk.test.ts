// Disk limits: vzctl's soft:hard forms, and which layouts may carry them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkDiskLimits,
  formatDiskinodes,
  formatDiskspace,
  imageInodes,
  parseDiskinodes,
  parseDiskspace,
} from '../../../src/core/disk.ts';
import { BerthError } from '../../../src/core/errors.ts';

const code = (c: string) => (e: unknown) => e instanceof BerthError && e.code === c;

test('diskspace: KiB by default, suffixes, soft:hard, formatted in KiB', () => {
  assert.deepEqual(parseDiskspace('10G'), { soft: 10 * 1024 ** 3, hard: 10 * 1024 ** 3 });
  assert.deepEqual(parseDiskspace('9G:10G'), { soft: 9 * 1024 ** 3, hard: 10 * 1024 ** 3 });
  assert.deepEqual(parseDiskspace('1048576'), { soft: 1024 ** 3, hard: 1024 ** 3 });
  assert.equal(formatDiskspace(parseDiskspace('1G:2G')), '1048576:2097152');
  assert.deepEqual(parseDiskspace(formatDiskspace(parseDiskspace('100M'))), parseDiskspace('100M'));
  for (const bad of ['', 'lots', '1G:2G:3G', '2G:1G', '1M', '-5G', '0']) {
    assert.throws(() => parseDiskspace(bad), code('BAD_VALUE'), bad);
  }
});

test('diskinodes: counts, K/M multiply by 1000', () => {
  assert.deepEqual(parseDiskinodes('200000'), { soft: 200000, hard: 200000 });
  assert.deepEqual(parseDiskinodes('180K:200K'), { soft: 180000, hard: 200000 });
  assert.equal(formatDiskinodes(parseDiskinodes('1500')), '1500:1500');
  assert.throws(() => parseDiskinodes('10'), code('BAD_VALUE'));
  assert.equal(imageInodes(parseDiskspace('64M'), null), 4096);
  assert.equal(imageInodes(parseDiskspace('64M'), parseDiskinodes('1500')), 1500);
});

test('only the image layout carries limits, and it needs a size', () => {
  const g = parseDiskspace('1G');
  assert.doesNotThrow(() => checkDiskLimits('x', 'image', g, null));
  assert.doesNotThrow(() => checkDiskLimits('x', 'overlay', null, null));
  assert.throws(() => checkDiskLimits('x', 'image', null, null), code('DISKSPACE_NOT_SET'));
  assert.throws(() => checkDiskLimits('x', 'overlay', g, null), code('QUOTA_UNSUPPORTED'));
  assert.throws(() => checkDiskLimits('x', 'dir', null, parseDiskinodes('5000')), code('QUOTA_UNSUPPORTED'));
});
