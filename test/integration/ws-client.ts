// A minimal websocket client over berthd's unix socket for the tests (Node 20 has none built in).
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface WsClient {
  /** what arrived so far: terminal bytes and the JSON control messages */
  output: () => string;
  controls: () => Record<string, unknown>[];
  send: (data: string | Buffer, binary?: boolean) => void;
  closed: Promise<void>;
  /** the HTTP status of the handshake (101, or the refusal's) and its body */
  status: Promise<{ code: number; body: string }>;
  end: () => void;
}

export function wsConnect(socketPath: string, path: string): WsClient {
  const sock: Socket = connect(socketPath);
  let out = Buffer.alloc(0);
  const ctl: Record<string, unknown>[] = [];
  let buf = Buffer.alloc(0);
  let upgraded = false;
  let onStatus: (s: { code: number; body: string }) => void = () => {};
  const status = new Promise<{ code: number; body: string }>((r) => {
    onStatus = r;
  });
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  sock.on('error', () => {});
  sock.write(
    `GET ${path} HTTP/1.1\r\nHost: berthd\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
  );
  sock.on('data', (b: Buffer) => {
    buf = Buffer.concat([buf, b]);
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString();
      const code = Number(head.split(' ')[1]);
      buf = buf.subarray(end + 4);
      if (code !== 101) {
        sock.on('end', () => onStatus({ code, body: buf.toString() }));
        upgraded = true;
        return;
      }
      upgraded = true;
      onStatus({ code, body: '' });
    }
    for (;;) {
      if (buf.length < 2) return;
      let len = (buf[1] ?? 0) & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (buf.length < off + len) return;
      const op = (buf[0] ?? 0) & 0x0f;
      const payload = buf.subarray(off, off + len);
      buf = buf.subarray(off + len);
      if (op === 0x2) out = Buffer.concat([out, payload]);
      else if (op === 0x1) ctl.push(JSON.parse(payload.toString()));
    }
  });
  const frame = (op: number, payload: Buffer) => {
    const mask = randomBytes(4);
    const masked = Buffer.from(payload.map((x, i) => x ^ (mask[i & 3] ?? 0)));
    const len = payload.length;
    const head =
      len < 126 ? Buffer.from([0x80 | op, 0x80 | len]) : Buffer.from([0x80 | op, 0x80 | 126, len >> 8, len & 0xff]);
    sock.write(Buffer.concat([head, mask, masked]));
  };
  return {
    output: () => out.toString('utf8'),
    controls: () => ctl,
    send: (data, binary = true) => frame(binary ? 0x2 : 0x1, Buffer.isBuffer(data) ? data : Buffer.from(data)),
    closed,
    status,
    end: () => {
      frame(0x8, Buffer.from([0x03, 0xe8]));
      sock.end();
    },
  };
}
