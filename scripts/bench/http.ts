import fs from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';

/* A lean HTTP/1.1 client on keep-alive sockets: the load generator shares two cores with the server. */

export function agent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

const defaultAgent = agent(64);

export interface Reply {
  status: number;
  body: Buffer;
  ms: number;
}

export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
    const req = http.request(
      url,
      {
        method: options.method ?? (body ? 'POST' : 'GET'),
        agent: options.agent ?? defaultAgent,
        headers: { ...(body && { 'content-length': String(body.length) }), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - started }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Fetches a URL and discards the body, counting its bytes; with `file`, the body is also written
 * there (not for timed downloads: the writes would be part of the time).
 */
export function download(url: string, file?: string): Promise<{ status: number; bytes: number; ms: number; firstByteMs: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: defaultAgent }, (res) => {
      let bytes = 0;
      let firstByteMs = 0;
      const out = file === undefined ? undefined : fs.createWriteStream(file);
      out?.on('error', reject);
      res.on('data', (c: Buffer) => {
        if (bytes === 0) firstByteMs = performance.now() - started;
        bytes += c.length;
        if (out && !out.write(c)) {
          res.pause();
          out.once('drain', () => res.resume());
        }
      });
      res.on('end', () => {
        const done = () => resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - started, firstByteMs });
        if (out) out.end(done);
        else done();
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export interface GraphQLReply<T> {
  data: T | null | undefined;
  errors: { message: string; extensions?: { code?: string } }[] | undefined;
  ms: number;
  bytes: number;
}

/**
 * A GraphQL operation. `variablesJson` may be given pre-serialised (large append batches are built
 * once, outside the timed window, and spliced into the body).
 */
export async function gql<T = Record<string, unknown>>(
  base: string,
  key: string,
  query: string,
  variables: Record<string, unknown> | string = {},
): Promise<GraphQLReply<T>> {
  const vars = typeof variables === 'string' ? variables : JSON.stringify(variables);
  const reply = await request(`${base}/graphql`, {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: `{"query":${JSON.stringify(query)},"variables":${vars}}`,
  });
  let parsed: { data?: T; errors?: GraphQLReply<T>['errors'] };
  try {
    parsed = JSON.parse(reply.body.toString('utf8'));
  } catch {
    throw new Error(`GraphQL: non-JSON reply ${reply.status}: ${reply.body.subarray(0, 200).toString()}`);
  }
  return { data: parsed.data, errors: parsed.errors, ms: reply.ms, bytes: reply.body.length };
}

/** Like gql, but throws on errors. */
export async function gqlOk<T = Record<string, unknown>>(
  base: string,
  key: string,
  query: string,
  variables: Record<string, unknown> | string = {},
): Promise<T & { _ms: number }> {
  const reply = await gql<T>(base, key, query, variables);
  if (reply.errors?.length || !reply.data) {
    throw new Error(`GraphQL error: ${JSON.stringify(reply.errors ?? reply.data).slice(0, 500)}`);
  }
  return { ...reply.data, _ms: reply.ms };
}

export interface LoadResult {
  requests: number;
  errors: number;
  elapsedMs: number;
  latencies: number[];
  firstError: string | undefined;
}

/**
 * Closed-loop load: `connections` workers, each sending its next request as soon as the previous
 * answer has been read, for `durationMs`. A request counts as an error unless it is a 200 whose
 * body passes `check`.
 */
export async function closedLoop(options: {
  url: string;
  headers: Record<string, string>;
  bodies: readonly Buffer[];
  connections: number;
  durationMs: number;
  check: (body: Buffer) => boolean;
}): Promise<LoadResult> {
  const pool = agent(options.connections);
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  const deadline = started + options.durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const body = options.bodies[next++ % options.bodies.length]!;
      try {
        const reply = await request(options.url, { headers: options.headers, body, agent: pool });
        if (reply.status === 200 && options.check(reply.body)) latencies.push(reply.ms);
        else {
          errors++;
          firstError ??= `${reply.status} ${reply.body.subarray(0, 300).toString()}`;
        }
      } catch (err) {
        errors++;
        firstError ??= String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  const elapsedMs = performance.now() - started;
  pool.destroy();
  return { requests: latencies.length, errors, elapsedMs, latencies, firstError };
}
