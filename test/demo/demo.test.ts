import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDemoSessions } from '../../src/demo.ts';
import { operatorViewer } from '../../src/orgs.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { decodedTuples, FORMATS, readStream, rendered, type Format } from '../graphql/helpers.ts';
import { ok } from '../support/graphql.ts';
import type { Kind } from '../support/ingest.ts';

/* The demo data (src/demo.ts) renders in every format through GraphQL. */

let app: TestApp;
let admin: string;
let ids: string[];
interface Meta {
  id: string;
  verb: string;
  type: string;
  connectionSubtype: string | null;
  userId: string | null;
  eventSize: number;
}
const meta: Record<string, Meta> = {};

beforeAll(async () => {
  app = await startTestApp();
  const orgId = await app.org('demo');
  admin = await app.key(orgId, 'ADMIN', 'root');
  ids = await loadDemoSessions(operatorViewer(orgId));
  for (const id of ids) {
    const data = ok(
      await app.gql<{ session: Meta }>(`query($id: ID!) { session(id: $id) { id verb type connectionSubtype userId eventSize } }`, { id }, admin),
    );
    meta[id] = data.session;
  }
});

afterAll(async () => {
  await app?.close();
});

const isPostgres = (m: Meta) => m.connectionSubtype === 'postgres' || m.type === 'postgres';
const sessionWhere = (pred: (m: Meta) => boolean) => Object.values(meta).find(pred)!;

describe('demo sessions', () => {
  it('are loaded', () => {
    expect(ids.length).toBeGreaterThanOrEqual(4);
    expect(Object.values(meta).some((m) => m.connectionSubtype === 'ssh')).toBe(true);
    expect(Object.values(meta).some((m) => m.verb === 'CONNECT' && isPostgres(m))).toBe(true);
  });

  it('render every format and selection without errors; sizes agree with the renderings', async () => {
    const selections: (Kind[] | null)[] = [null, [], ['i'], ['o'], ['e'], ['i', 'o', 'e']];
    for (const id of ids) {
      const m = meta[id]!;
      for (const format of FORMATS) {
        for (const events of format === 'RAW_QUERIES' ? [null] : selections) {
          const label = `${m.connectionSubtype}/${m.verb} ${format} ${JSON.stringify(events)}`;
          if (format === 'RAW_QUERIES' && !isPostgres(m)) {
            const res = await readStream(app, admin, id, format);
            expect(res.errors?.map((e) => `${e.path?.join('.')} ${e.extensions?.code}`).sort(), label).toEqual([
              'session.eventSize UNSUPPORTED_FORMAT',
              'session.eventStream UNSUPPORTED_FORMAT',
            ]);
            continue;
          }
          const [stream, size] = await rendered(app, admin, id, format, events);
          expect(Array.isArray(stream), label).toBe(true);
          if (format === 'UTF8') expect(size, label).toBe([...(stream as string[])[0]!].length);
          if (format === 'BASE64') expect(size, label).toBe((stream as string[])[0]!.length);
          if (format === 'RAW' || format === 'RAW_QUERIES') {
            const bytes = (stream as [number, Kind, string][]).reduce((n, [, , d]) => n + Buffer.from(d, 'base64').length, 0);
            expect(size, label).toBe(bytes);
          }
        }
      }
      // Without arguments: RAW of everything; eventSize is every payload byte.
      const [raw, rawSize] = await rendered(app, admin, id);
      expect(rawSize).toBe(m.eventSize);
      expect((raw as unknown[]).length).toBeGreaterThan(0);
    }
  });

  it('UTF8 of the shell session holds ✓ whole, though it was written in two pieces', async () => {
    const shell = sessionWhere((m) => m.connectionSubtype === 'ssh');
    const [[text], size] = (await rendered(app, admin, shell.id, 'UTF8')) as unknown as [[string], number];
    expect(text).toContain('déploiement terminé ✓\r\n');
    expect(text).not.toContain('\uFFFD');
    expect(text).toContain('\x1b[1;32mops@web-1\x1b[0m');
    expect(size).toBe([...text].length);
    // The second ✓ really is split across two stored events: decoded alone, the first ends broken.
    const [raw] = await rendered(app, admin, shell.id, 'RAW', ['o']);
    const pieces = (raw as [number, Kind, string][]).map(([, , d]) => Buffer.from(d, 'base64'));
    expect(pieces.some((p) => p.toString('utf8').endsWith('terminé \uFFFD'))).toBe(true);
  });

  it('RAW_QUERIES of the Postgres CONNECT session: the 3 queries, no password text', async () => {
    const connect = sessionWhere((m) => m.verb === 'CONNECT' && isPostgres(m));
    const [stream, size] = await rendered(app, admin, connect.id, 'RAW_QUERIES');
    const queries = decodedTuples(stream);
    expect(queries.map(([, , sql]) => sql)).toEqual([
      "SELECT id, email FROM customers WHERE email LIKE '%@example.com' LIMIT 3;",
      'SELECT total FROM orders WHERE customer_id = $1',
      "UPDATE orders SET status = 'shipped' WHERE id IN (SELECT id FROM orders WHERE status = 'paid' ORDER BY created_at LIMIT 100);",
    ]);
    expect(queries.map(([t]) => t)).toEqual([1.204518, 3.50021, 7.100004]);
    expect(queries.every(([, k]) => k === 'i')).toBe(true);
    expect(size).toBe(queries.reduce((n, [, , sql]) => n + Buffer.byteLength(String(sql)), 0));
    expect(JSON.stringify(queries)).not.toMatch(/s3cr3t/);
  });

  it('RAW_QUERIES of the Postgres EXEC sessions is their script', async () => {
    for (const m of Object.values(meta).filter((x) => x.verb === 'EXEC' && isPostgres(x))) {
      const script = ok(await app.gql<{ session: { script: { data: string } } }>(`query($id: ID!) { session(id: $id) { script { data } } }`, { id: m.id }, admin)).session.script.data;
      const [stream] = await rendered(app, admin, m.id, 'RAW_QUERIES');
      expect(decodedTuples(stream).map(([, , sql]) => sql)).toEqual([script]);
    }
  });

  it('UTF8 and BASE64 of every demo session describe the same bytes', async () => {
    for (const id of ids) {
      for (const events of [null, ['i', 'o', 'e']] as (Kind[] | null)[]) {
        const [[base64]] = (await rendered(app, admin, id, 'BASE64', events)) as unknown as [[string]];
        const [[text]] = (await rendered(app, admin, id, 'UTF8', events)) as unknown as [[string]];
        expect(text).toBe(new TextDecoder().decode(Buffer.from(base64, 'base64')));
      }
    }
  });

  it('the formats list covers the schema enum', async () => {
    const res = ok(await app.gql<{ __type: { enumValues: { name: string }[] } }>(`{ __type(name: "EventStreamFormat") { enumValues { name } } }`));
    expect(res.__type.enumValues.map((v) => v.name).sort()).toEqual([...FORMATS].sort() as Format[]);
  });
});
