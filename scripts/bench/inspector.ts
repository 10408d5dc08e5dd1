import { request } from './http.ts';
import WebSocket from 'ws';

/*
 * A full garbage collection in a server started with `--inspect=127.0.0.1:PORT`, through the
 * inspector protocol (HeapProfiler.collectGarbage): memory is read once what is garbage is gone.
 */

export interface Inspector {
  collectGarbage(): Promise<void>;
  /** The JavaScript heap's used size, bytes (Runtime.getHeapUsage). */
  heapUsed(): Promise<number>;
  close(): void;
}

export async function connectInspector(port: number): Promise<Inspector> {
  const list = JSON.parse((await request(`http://127.0.0.1:${port}/json/list`)).body.toString('utf8')) as { webSocketDebuggerUrl?: string }[];
  const url = list[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${port}`);
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let id = 0;
  const waiting = new Map<number, { resolve: (result: Record<string, unknown>) => void; reject: (err: Error) => void }>();
  ws.on('message', (raw) => {
    const reply = JSON.parse(String(raw)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
    const w = reply.id === undefined ? undefined : waiting.get(reply.id);
    if (!w) return;
    waiting.delete(reply.id!);
    if (reply.error) w.reject(new Error(`inspector: ${reply.error.message}`));
    else w.resolve(reply.result ?? {});
  });
  const call = (method: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const k = ++id;
      waiting.set(k, { resolve, reject });
      ws.send(JSON.stringify({ id: k, method }));
    });
  return {
    collectGarbage: async () => void (await call('HeapProfiler.collectGarbage')),
    heapUsed: async () => Number((await call('Runtime.getHeapUsage')).usedSize),
    close: () => ws.close(),
  };
}
