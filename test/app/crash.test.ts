import { once } from 'node:events';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPEND, CLOSE, ev, OPEN, rawTuples, sizeOf, type EventIn } from '../support/ingest.ts';
import {
  cli,
  freePort,
  gql,
  instance,
  onPostgres,
  serve,
  setupKeys,
  spawnServe,
  stopProcesses,
  type Instance,
  type Server,
} from '../support/processes.ts';

/*
 * Spec §8 (every acknowledged event survives a crash right after the acknowledgement) and §11
 * (one process per embedded data directory; graceful shutdown), against the real `reel` binary.
 */

const TIMEOUT = 120_000;

afterAll(stopProcesses, 60_000);

interface Totals {
  appendSessionEvents: { sequence: number; eventCount: number; eventSize: number };
}

describe('the real server process', () => {
  // One data directory (or PostgreSQL database) for the file: every command-line run costs seconds.
  // The tests run in order and hand the running server on.
  let inst: Instance;
  let keys: { orgId: string; recorder: string; admin: string };
  let server: Server | undefined;

  beforeAll(async () => {
    inst = await instance();
    keys = await setupKeys(inst, 'crash-org');
  }, 240_000);

  const running = async () => {
    if (!server || server.child.exitCode !== null || server.child.signalCode !== null) server = await serve(inst);
    return server;
  };

  it(
    'keeps every acknowledged event across kill -9',
    async () => {
      const { recorder, admin } = keys;
      let srv = await running();
      const open = await gql<{ openSession: { id: string } }>(srv.url, recorder, OPEN, {
        input: { verb: 'CONNECT', type: 'database', connectionSubtype: 'postgres', roleName: 'pg-prod', userId: 'alice' },
      });
      const id = open.openSession.id;

      const calls: EventIn[][] = [];
      for (let seq = 0; seq < 25; seq++) {
        const big = seq % 8 === 7 ? Buffer.alloc(150_000 + seq, 0x41 + (seq % 26)) : `line ${seq}: ${'é'.repeat(seq)}\n`;
        calls.push([ev(seq * 0.5, 'i', `cmd ${seq}\n`), ev(seq * 0.5 + 0.25, seq % 3 === 0 ? 'e' : 'o', big)]);
      }
      let last: Totals['appendSessionEvents'] | undefined;
      for (const [seq, events] of calls.entries()) {
        last = (await gql<Totals>(srv.url, recorder, APPEND, { id, seq, events })).appendSessionEvents;
      }
      // Right after the last acknowledgement: no chance to flush anything more.
      srv.child.kill('SIGKILL');
      const [, signal] = await srv.exited;
      expect(signal).toBe('SIGKILL');

      const all = calls.flat();
      expect(last).toEqual({ sequence: calls.length - 1, eventCount: all.length, eventSize: sizeOf(all) });

      srv = await running();
      // Retrying the acknowledged calls answers the same totals: they are all stored, once.
      for (const seq of [calls.length - 1, 0, 12]) {
        const again = (await gql<Totals>(srv.url, recorder, APPEND, { id, seq, events: calls[seq] })).appendSessionEvents;
        expect(again).toEqual({ sequence: seq, eventCount: all.length, eventSize: sizeOf(all) });
      }
      const read = await gql<{ session: { eventStream: unknown; status: string } }>(
        srv.url,
        admin,
        `query($id: ID!) { session(id: $id) { status eventStream(format: RAW) } }`,
        { id },
      );
      expect(read.session.status).toBe('OPEN');
      expect(read.session.eventStream).toEqual(rawTuples(all));
      // The next call follows on, and closing reports every acknowledged byte.
      const next = (await gql<Totals>(srv.url, recorder, APPEND, { id, seq: calls.length, events: [ev(99, 'o', 'bye')] }))
        .appendSessionEvents;
      expect(next).toEqual({ sequence: calls.length, eventCount: all.length + 1, eventSize: sizeOf(all) + 3 });
      const closed = await gql<{ closeSession: { metrics: { eventSize: number } } }>(srv.url, recorder, CLOSE, { id });
      expect(closed.closeSession.metrics.eventSize).toBe(sizeOf(all) + 3);
    },
    TIMEOUT,
  );

  it.skipIf(onPostgres)(
    'refuses a second process on the embedded data directory while the server runs',
    async () => {
      const srv = await running();

      const list = await cli(inst, ['orgs', 'list']);
      expect(list.code).not.toBe(0);
      expect(list.stderr).toMatch(/in use/i);
      expect(list.stderr.trim().split('\n')).toHaveLength(1);

      const second = spawnServe(inst, await freePort());
      let err = '';
      second.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      second.stdout!.on('data', (c: Buffer) => (err += c.toString()));
      const [code] = (await once(second, 'exit')) as [number | null];
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      expect(err).toMatch(/in use/i);

      // The running server is unaffected and its directory intact.
      const data = await gql<{ sessions: { edges: unknown[] } }>(srv.url, keys.admin, `{ sessions { edges { node { id } } } }`, {});
      expect(data.sessions.edges.length).toBeGreaterThan(0);
    },
    TIMEOUT,
  );

  it(
    'on SIGTERM lets a request in flight complete, then exits 0',
    async () => {
      const { recorder, admin } = keys;
      let srv = await running();
      const id = (
        await gql<{ openSession: { id: string } }>(srv.url, recorder, OPEN, {
          input: { verb: 'CONNECT', type: 'application', roleName: 'ssh' },
        })
      ).openSession.id;

      const events = [ev(0, 'o', Buffer.alloc(64 * 1024, 0x62)), ev(1, 'i', 'exit\n')];
      const body = JSON.stringify({ query: APPEND, variables: { id, seq: 0, events } });
      const half = Math.floor(body.length / 2);
      const target = srv;
      const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(`${target.url}/graphql`, {
          method: 'POST',
          agent: false,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${recorder}`,
            connection: 'close',
          },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.write(body.slice(0, half));
        // The server has the request (headers and half the body) when the signal arrives.
        setTimeout(() => {
          target.child.kill('SIGTERM');
          setTimeout(() => req.end(body.slice(half)), 500);
        }, 500);
      });

      const answered = await response;
      expect(answered.status).toBe(200);
      expect(JSON.parse(answered.text)).toEqual({
        data: { appendSessionEvents: { sequence: 0, eventCount: 2, eventSize: sizeOf(events) } },
      });
      const [code, signal] = await srv.exited;
      expect(signal).toBeNull();
      expect(code).toBe(0);

      // It starts again on the same directory (the lock was released), with what it acknowledged while draining.
      srv = await running();
      const closed = await gql<{ closeSession: { metrics: { eventSize: number } } }>(srv.url, admin, CLOSE, { id });
      expect(closed.closeSession.metrics.eventSize).toBe(sizeOf(events));
      srv.child.kill('SIGTERM');
      expect((await srv.exited)[0]).toBe(0);
    },
    TIMEOUT,
  );
});
