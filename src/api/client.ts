// A small client of berthd's API, over the unix socket (later TLS too): used by the tests, the
// benchmarks and the CLI's remote mode. Keeps one connection alive between requests.
import { Agent, request } from 'node:http';

export interface ApiReply<T = unknown> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
}

export class ApiClient {
  private readonly socket: string;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });

  constructor(socket: string) {
    this.socket = socket;
  }

  /** One request; body is sent as JSON (a string or Buffer as it is). */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiReply<T>> {
    const data =
      body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socket,
          path,
          method,
          agent: this.agent,
          headers:
            data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
        },
        (res) => {
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
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
