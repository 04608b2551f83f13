// A small client of berthd's API, over the unix socket or HTTPS: used by the tests, the
// benchmarks and the CLI's remote mode (berth -r NAME). Keeps its connections alive.
import { createHash, X509Certificate } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { Agent, type IncomingMessage, request } from 'node:http';
import { Agent as TlsAgent, request as tlsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';

/** A remote berthd: its URL, the server certificate pinned at `berth remote add`, our identity. */
export interface RemoteTarget {
  url: string;
  /** the server's certificate (PEM): the only one accepted, whatever names it holds */
  serverCert: string;
  cert: string;
  key: string;
}

export interface ApiReply<T = unknown> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
}

export class ApiClient {
  private readonly socket: string | null;
  private readonly remote: RemoteTarget | null;
  private readonly agent: Agent;

  /** a unix socket's path, or a remote over HTTPS */
  constructor(target: string | RemoteTarget) {
    this.socket = typeof target === 'string' ? target : null;
    this.remote = typeof target === 'string' ? null : target;
    this.agent = this.remote
      ? new TlsAgent({ keepAlive: true, maxSockets: 8 })
      : new Agent({ keepAlive: true, maxSockets: 8 });
  }

  /** the request options that reach the target (a pinned certificate on HTTPS) */
  private where(): Record<string, unknown> {
    if (!this.remote) return { socketPath: this.socket };
    const u = new URL(this.remote.url);
    const pinned = fingerprint(this.remote.serverCert);
    return {
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port || 8443),
      ca: this.remote.serverCert,
      cert: this.remote.cert,
      key: this.remote.key,
      // the pinned certificate is the trust anchor; its names need not match the address used
      checkServerIdentity: (_host: string, c: { raw: Buffer }) =>
        createHash('sha256').update(c.raw).digest('hex') === pinned
          ? undefined
          : new Error('the server presented another certificate than the one pinned by berth remote add'),
    };
  }

  /** One request; body is sent as JSON (a string or Buffer as it is). */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiReply<T>> {
    const data =
      body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const send = this.remote ? tlsRequest : request;
      const req = send(
        {
          ...this.where(),
          path,
          method,
          agent: this.agent,
          headers:
            data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
        },
        (res: IncomingMessage) => this.collect(res, resolve, reject),
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  /**
   * POST of a file as the body, streamed (an archive of gigabytes never sits in memory), with
   * each chunk's size to onBytes; the answer is parsed as call's.
   */
  upload<T = unknown>(path: string, file: string, onBytes: (n: number) => void = () => {}): Promise<ApiReply<T>> {
    const size = statSync(file).size;
    return new Promise((resolve, reject) => {
      const send = this.remote ? tlsRequest : request;
      const req = send(
        {
          ...this.where(),
          path,
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/x-tar', 'content-length': size },
        },
        (res: IncomingMessage) => this.collect(res, resolve, reject),
      );
      req.on('error', reject);
      const body = createReadStream(file);
      body.on('data', (b) => onBytes(b.length));
      body.on('error', (err) => {
        req.destroy(err);
        reject(err);
      });
      body.pipe(req);
    });
  }

  /**
   * GET PATH asking to switch to PROTOCOL (`Upgrade: PROTOCOL`): the connection itself once the
   * server answers 101, its bytes then the protocol's both ways. Any other answer is rejected
   * with an Error carrying it as `reply` (an ApiReply, its JSON error parsed). Written by hand
   * over a socket of its own: an HTTP client's upgrade event differs between runtimes.
   */
  upgrade(path: string, protocol: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const sk: Socket = this.remote
        ? tlsConnect(this.where() as ConnectionOptions)
        : netConnect(this.socket as string);
      let head: Buffer = Buffer.alloc(0);
      const onData = (b: Buffer) => {
        head = Buffer.concat([head, b]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > 65536) fail(new Error('the answer to an upgrade has no end of its head'));
          return;
        }
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? 0);
        if (status === 101) {
          sk.off('data', onData);
          sk.off('error', fail);
          sk.pause();
          const rest = head.subarray(end + 4);
          if (rest.length) sk.unshift(rest);
          resolve(sk);
          return;
        }
        // an error answer: its body follows (connection: close)
        sk.off('data', onData);
        const chunks = [head.subarray(end + 4)];
        sk.on('data', (c: Buffer) => chunks.push(c));
        sk.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {}
          fail(Object.assign(new Error(`upgrade answered ${status}`), { reply: { status, body, headers: {} } }));
        });
      };
      const fail = (err: Error) => {
        sk.destroy();
        reject(err);
      };
      sk.on('error', fail);
      sk.on('data', onData);
      sk.write(`GET ${path} HTTP/1.1\r\nhost: berthd\r\nconnection: Upgrade\r\nupgrade: ${protocol}\r\n\r\n`);
    });
  }

  private collect<T>(res: IncomingMessage, resolve: (r: ApiReply<T>) => void, reject: (e: Error) => void): void {
    const chunks: Buffer[] = [];
    res.on('data', (b: Buffer) => chunks.push(b));
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      resolve({ status: res.statusCode ?? 0, body: parsed as T, headers: res.headers });
    });
    res.on('error', reject);
  }

  close(): void {
    this.agent.destroy();
  }
}

/** SHA-256 of a PEM certificate's DER, lowercase hex (as `berth trust list` shows it). */
export function fingerprint(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}
