// Running the host's tools (tar, zstd, cp, debootstrap): no shell, and every tool gets SIGKILL
// when berth dies (setpriv --pdeathsig), so a killed berth leaves no tool writing into a tree
// that the next command is cleaning up.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { BerthError } from '../core/errors.ts';
import { errText } from './fs-util.ts';
import { childProcess } from './spawn.ts';

// In the C locale: berth parses what they print (tar's listing, C-quoted names: any other byte
// an octal escape) and quotes their errors, which must not change with the admin's locale.
function spawnKilled(argv: readonly string[], stdio: ['ignore' | 'pipe', 'ignore' | 'pipe', 'pipe']) {
  return childProcess().spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...argv], {
    stdio,
    env: { ...process.env, LC_ALL: 'C' },
  });
}

/**
 * Runs a tool; stderr lines go to onLine (progress) and the last ones into the error. Exit
 * codes in `ok` besides 0 count as success.
 */
export function run(
  cmd: string,
  args: string[],
  onLine?: (l: string) => void,
  ok: readonly number[] = [],
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawnKilled([cmd, ...args], ['ignore', 'pipe', 'pipe']);
    let tail = '';
    // a chunk may end mid-line: keep the partial line per stream until its newline arrives
    const feeder = () => {
      let partial = '';
      return (d: Buffer) => {
        const text = d.toString();
        tail = (tail + text).slice(-2000);
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        if (onLine) for (const l of lines) if (l.trim()) onLine(l.trim());
      };
    };
    const out = feeder();
    const err = feeder();
    child.stdout?.on('data', out);
    child.stderr?.on('data', err);
    const flush = () => {
      out(Buffer.from('\n'));
      err(Buffer.from('\n'));
    };
    child.on('error', (err) => reject(new BerthError('SYSTEM', `run ${cmd}: ${err.message}`, { cause: err })));
    child.on('close', (code) => {
      flush();
      if (code === 0 || (code !== null && ok.includes(code))) resolve();
      else
        reject(
          new BerthError(
            'SYSTEM',
            `${cmd} ${args[0] ?? ''} failed (exit ${code}): ${tail.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
    });
  });
}

/**
 * Runs `src | dst`: src's output (a tool's, or a byte range of a file: one member of a plain
 * tar read in place) goes to dst's input, and to onData (a checksum, say) on the way; dst's
 * output goes to onOut. Rejects with the tools' last error lines when either fails.
 */
export function pipeTools(
  src: PipeSource,
  dst: readonly string[],
  onData?: (d: Buffer) => void,
  onOut?: (d: Buffer) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const b = spawnKilled(dst, ['pipe', onOut ? 'pipe' : 'ignore', 'pipe']);
    const a = Array.isArray(src) ? spawnKilled(src, ['ignore', 'pipe', 'pipe']) : null;
    const range = src as FileRange;
    const srcName = a ? (src as readonly string[])[0] : range.file;
    // createReadStream's end is inclusive: a range of 0 bytes reads /dev/null instead
    const out =
      a?.stdout ??
      (range.length > 0
        ? createReadStream(range.file, { start: range.start, end: range.start + range.length - 1 })
        : createReadStream('/dev/null'));
    if (onOut) b.stdout?.on('data', onOut);
    let err = '';
    for (const c of a ? [a, b] : [b]) {
      c.stderr?.on('data', (d) => {
        err += d;
      });
      c.on('error', (e) => reject(new BerthError('SYSTEM', `run ${c === a ? srcName : dst[0]}: ${e.message}`)));
    }
    if (onData) out.on('data', onData);
    out.pipe(b.stdin as NodeJS.WritableStream);
    b.stdin?.on('error', () => {}); // dst may stop reading early (a damaged stream)
    // both ends' results, then the answer (a file range's last data comes before its end)
    let srcCode: number | null = null;
    let dstCode: number | null | undefined;
    const settle = () => {
      if (srcCode === null || dstCode === undefined) return;
      if (dstCode === 0 && srcCode === 0) resolve();
      else reject(new Error(err.trim().split('\n').slice(-2).join(' | ') || `exit ${srcCode}/${dstCode}`));
    };
    a?.on('close', (c) => {
      srcCode = c ?? -1;
      settle();
    });
    if (!a) {
      out.on('end', () => {
        srcCode ??= 0;
        settle();
      });
      out.on('error', (e: Error) => {
        err += `read ${srcName}: ${errText(e)}\n`;
        srcCode = -1;
        b.stdin?.destroy();
        settle();
      });
    }
    b.on('close', (c) => {
      dstCode = c;
      // dst ended before reading all of the range: what is left will never be read
      if (!a && srcCode === null) {
        srcCode = -1;
        (out as ReturnType<typeof createReadStream>).destroy();
      }
      settle();
    });
  });
}

/** LENGTH bytes of FILE from START */
export interface FileRange {
  file: string;
  start: number;
  length: number;
}

/** what `pipe` reads: a tool's output, or bytes of a file */
export type PipeSource = readonly string[] | FileRange;

export async function sha256File(file: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    createReadStream(file)
      .on('data', (c) => {
        h.update(c);
        size += c.length;
      })
      .on('error', (err) => reject(new BerthError('SYSTEM', `read ${file}: ${errText(err)}`, { cause: err })))
      .on('end', () => resolve());
  });
  return { sha256: h.digest('hex'), size };
}
