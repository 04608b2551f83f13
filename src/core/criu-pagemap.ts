// A checkpoint's memory as a post-copy migration sends it (docs/migration.md, "Lazy pages"):
// CRIU's pagemap-PID.img says which ranges of pages-ID.img each task's memory is; a range
// marked lazy (anonymous private memory) can reach DEST later, through userfaultfd, from the
// source's page server. DEST's copy of the dump leaves those bytes out and their entries
// unmarked as present, so its restore finds every other page where CRIU looks for it (pure).
import { encodeVarint, framed, imageMessages, pbFields } from './criu-image.ts';
import { BerthError } from './errors.ts';

/** pagemap_entry.flags (criu/include/pagemap.h) */
export const PE_PARENT = 1;
export const PE_LAZY = 2;
export const PE_PRESENT = 4;

const PAGEMAP_MAGIC = 0x56084025;

export interface LazySplit {
  /** pages_id of the pagemap's head: its bytes are pages-ID.img */
  pagesId: number;
  /** the pagemap for DEST: lazy entries no longer present (null: none is lazy, send it as it is) */
  pagemap: Buffer | null;
  /** byte ranges of pages-ID.img that DEST keeps, in order, adjacent ones merged */
  keep: Array<{ start: number; length: number }>;
  /** bytes left for the page server / kept in DEST's copy */
  lazyBytes: number;
  keptBytes: number;
}

const bad = (why: string) => new BerthError('CHKPNT', `pagemap: ${why}`, { hint: 'the checkpoint is damaged' });

/**
 * Splits a task's pagemap for DEST: lazy present ranges leave pages-ID.img and lose
 * PE_PRESENT; every other present range stays, at the offset CRIU's reader will compute (it
 * advances only over present entries). PAGE_SIZE: the dump host's.
 */
export function splitLazy(img: Buffer, pageSize: number): LazySplit {
  const [head, ...entries] = imageMessages(img, PAGEMAP_MAGIC, bad);
  if (!head) throw bad('no head');
  const pagesId = pbFields(img, head[0], head[1], bad).find((f) => f.no === 1 && f.wire === 0)?.value;
  if (pagesId === undefined) throw bad('its head has no pages_id');
  const out: Buffer[] = [img.subarray(0, head[1])];
  const keep: LazySplit['keep'] = [];
  let off = 0;
  let lazyBytes = 0;
  let keptBytes = 0;
  for (const [start, end] of entries) {
    const fs = pbFields(img, start, end, bad);
    const num = (no: number) => fs.find((f) => f.no === no && f.wire === 0)?.value;
    const flagsField = fs.find((f) => f.no === 4 && f.wire === 0);
    const bytes = (num(5) ?? num(2) ?? 0) * pageSize;
    // without flags (older images) an entry is in the parent or present, never lazy
    const flags = flagsField ? flagsField.value : num(3) ? PE_PARENT : PE_PRESENT;
    const whole = img.subarray(start - 4, end);
    if (!(flags & PE_PRESENT)) {
      out.push(whole);
      continue;
    }
    if (flags & PE_LAZY) {
      lazyBytes += bytes;
      const rest = fs.filter((f) => f !== flagsField).map((f) => img.subarray(f.start, f.end));
      out.push(framed(Buffer.concat([...rest, encodeVarint(4 * 8), encodeVarint(flags & ~PE_PRESENT)])));
    } else {
      const last = keep[keep.length - 1];
      if (last && last.start + last.length === off) last.length += bytes;
      else if (bytes > 0) keep.push({ start: off, length: bytes });
      keptBytes += bytes;
      out.push(whole);
    }
    off += bytes;
  }
  return { pagesId, pagemap: lazyBytes ? Buffer.concat(out) : null, keep, lazyBytes, keptBytes };
}

/** The bytes of pages-ID.img the pagemap accounts for (its present entries), for a size check. */
export const presentBytes = (s: LazySplit): number => s.lazyBytes + s.keptBytes;
