// A stable short name for a string (node:crypto costs start-up time, and nothing here is secret).

/** 32-bit FNV-1a as 8 hex digits. */
export function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

const MASK64 = (1n << 64n) - 1n;

/** 64-bit FNV-1a as 16 hex digits: for names that many may hold at once (32 bits collide sooner). */
export function fnv1a64(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++) h = ((h ^ BigInt(s.charCodeAt(i))) * 0x100000001b3n) & MASK64;
  return h.toString(16).padStart(16, '0');
}
