// A small WebSocket server side (RFC 6455) for interactive exec and the console: the upgrade,
// masked client frames, fragments, ping/pong and close. No extensions, no subprotocols.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { BerthError } from '../core/errors.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** a terminal's input is keystrokes and pastes: a larger frame is a misbehaving client */
const MAX_MESSAGE = 1 << 20;

export interface WsHandlers {
  message: (data: Buffer, binary: boolean) => void;
  close: () => void;
}

export class WebSocketConn {
  private buf: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private partsBinary = false;
  private closed = false;
  private readonly sock: Duplex;
  private handlers: WsHandlers = { message: () => {}, close: () => {} };

  constructor(sock: Duplex, head: Buffer) {
    this.sock = sock;
    sock.on('data', (b: Buffer) => this.feed(b));
    sock.on('close', () => this.gone());
    sock.on('error', () => this.gone());
    if (head.length) queueMicrotask(() => this.feed(head));
  }

  on(h: WsHandlers): void {
    this.handlers = h;
  }

  send(data: Buffer | string): void {
    if (this.closed) return;
    const binary = Buffer.isBuffer(data);
    const payload = binary ? data : Buffer.from(data);
    this.sock.write(Buffer.concat([frameHeader(binary ? 0x2 : 0x1, payload.length), payload]));
  }

  /** A close frame, then the end of the connection. */
  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    const r = Buffer.from(reason.slice(0, 120));
    const body = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), r]);
    this.sock.end(Buffer.concat([frameHeader(0x8, body.length), body]));
    this.gone();
  }

  private gone(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.close();
  }

  private feed(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const f = parseFrame(this.buf);
      if (f === null) return;
      if (f === 'bad') {
        this.close(1002, 'protocol error');
        return;
      }
      this.buf = this.buf.subarray(f.size);
      if (f.opcode === 0x8) {
        this.close(1000);
        return;
      }
      if (f.opcode === 0x9) {
        this.sock.write(Buffer.concat([frameHeader(0xa, f.payload.length), f.payload]));
        continue;
      }
      if (f.opcode === 0xa) continue;
      if (f.opcode === 0x1 || f.opcode === 0x2) {
        this.parts = [f.payload];
        this.partsBinary = f.opcode === 0x2;
      } else if (f.opcode === 0x0) this.parts.push(f.payload);
      else {
        this.close(1003, 'unknown opcode');
        return;
      }
      const size = this.parts.reduce((n, p) => n + p.length, 0);
      if (size > MAX_MESSAGE) {
        this.close(1009, 'message too big');
        return;
      }
      if (f.fin) {
        const msg = Buffer.concat(this.parts);
        this.parts = [];
        this.handlers.message(msg, this.partsBinary);
      }
    }
  }
}

function frameHeader(opcode: number, len: number): Buffer {
  if (len < 126) return Buffer.from([0x80 | opcode, len]);
  if (len < 65536) return Buffer.from([0x80 | opcode, 126, len >> 8, len & 0xff]);
  const h = Buffer.alloc(10);
  h[0] = 0x80 | opcode;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(len), 2);
  return h;
}

/** One client frame from the start of buf: null when incomplete, 'bad' when not allowed. */
function parseFrame(buf: Buffer): { fin: boolean; opcode: number; payload: Buffer; size: number } | null | 'bad' {
  if (buf.length < 2) return null;
  const b0 = buf[0] ?? 0;
  const b1 = buf[1] ?? 0;
  if (b0 & 0x70 || !(b1 & 0x80)) return 'bad'; // no extensions; a client always masks
  let len = b1 & 0x7f;
  let off = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    off = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    const big = buf.readBigUInt64BE(2);
    if (big > BigInt(MAX_MESSAGE)) return 'bad';
    len = Number(big);
    off = 10;
  }
  if (len > MAX_MESSAGE) return 'bad';
  if (buf.length < off + 4 + len) return null;
  const mask = buf.subarray(off, off + 4);
  const payload = Buffer.alloc(len);
  for (let i = 0; i < len; i++) payload[i] = (buf[off + 4 + i] ?? 0) ^ (mask[i & 3] ?? 0);
  return { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload, size: off + 4 + len };
}

/** Completes the handshake on an upgrade request, or refuses it with a BAD_SYNTAX. */
export function acceptWebSocket(req: IncomingMessage, sock: Duplex, head: Buffer): WebSocketConn {
  const key = req.headers['sec-websocket-key'];
  if (
    String(req.headers.upgrade).toLowerCase() !== 'websocket' ||
    typeof key !== 'string' ||
    req.headers['sec-websocket-version'] !== '13'
  ) {
    throw new BerthError(
      'BAD_SYNTAX',
      `${req.url?.split('?')[0]}: a websocket (Upgrade: websocket, version 13) is needed here`,
    );
  }
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  sock.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  return new WebSocketConn(sock, head);
}
