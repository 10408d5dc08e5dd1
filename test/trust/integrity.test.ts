import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendDigest, chainStart, foldChain } from '../../src/integrity/chain.ts';
import { backfillChains } from '../../src/integrity/backfill.ts';
import { loadSigningKeys, publicKeysPem } from '../../src/integrity/keys.ts';
import { encodeAppend } from '../../src/sessions/codec.ts';
import { decodeEventInputs } from '../../src/sessions/ingest.ts';
import { queryRows } from '../../src/sessions/chunk-storage.ts';
import { exportSessions } from '../../src/transfer/export.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { reelInProcess } from '../support/cli.ts';
import { ok } from '../support/graphql.ts';
import { APPEND, CLOSE, OPEN, b64 } from '../support/ingest.ts';
import { importSessions } from '../../src/transfer/import.ts';
import { capture, EXEC_ID, EXEC_SESSION, tempDir } from '../transfer/helpers.ts';

/*
 * Integrity (spec §15, docs/integrity.md): each append advances the session's hash chain as it is
 * stored, the final digest is signed at close, the public keys are published, an export carries
 * the chain and `reel verify` recomputes it from the events alone — and names a session whose
 * stored bytes or exported events were changed.
 */

const INTEGRITY = 'query($id: ID!) { session(id: $id) { integrity { algorithm digest appendCount signature keyId } } }';
type Integrity = { algorithm: string; digest: string; appendCount: number; signature: string | null; keyId: string | null };

let app: TestApp;
let orgId: string;
let admin: string;
let recorder: string;
let dir: string;

const APPENDS = [
  [{ time: 0, type: 'OUTPUT', data: b64('$ ls\r\n') }],
  [],
  [
    { time: 1.25, type: 'INPUT', data: b64('x') },
    // Over 64 KiB: on the embedded database this append takes the transaction path, not the group commit.
    { time: 1.5, type: 'OUTPUT', data: b64(Buffer.concat([Buffer.from([0, 255, 10]), Buffer.alloc(70 * 1024, 'z')])) },
  ],
];

async function integrity(id: string): Promise<Integrity> {
  return ok(await app.gql<{ session: { integrity: Integrity } }>(INTEGRITY, { id }, admin)).session.integrity;
}

/** A session appended as APPENDS (through the API), closed unless `open`. */
async function recorded(open = false): Promise<string> {
  const { openSession } = ok(await app.gql<{ openSession: { id: string } }>(OPEN, { input: { verb: 'CONNECT', type: 'custom', roleName: 'shell' } }, recorder));
  for (const [seq, events] of APPENDS.entries()) ok(await app.gql(APPEND, { id: openSession.id, seq, events }, recorder));
  // A retried append is not a new one.
  ok(await app.gql(APPEND, { id: openSession.id, seq: 2, events: APPENDS[2] }, recorder));
  if (!open) ok(await app.gql(CLOSE, { id: openSession.id }, recorder));
  return openSession.id;
}

/** The chain as docs/integrity.md defines it, computed here from the events alone. */
function expectedChain(id: string): Buffer {
  const digests = APPENDS.map((events) =>
    appendDigest(events.map((e) => ({ time: e.time, type: ({ INPUT: 'i', OUTPUT: 'o', ERROR: 'e' } as const)[e.type as 'INPUT'], data: Buffer.from(e.data, 'base64') }))),
  );
  let h = createHash('sha256').update(id).digest();
  for (const d of digests) h = createHash('sha256').update(h).update(d).digest();
  return h;
}

async function exportTo(name: string, ids: string[]): Promise<string> {
  const out = capture();
  await exportSessions(ids, orgId, out.stream);
  const file = path.join(dir, name);
  fs.writeFileSync(file, out.text());
  return file;
}

beforeAll(async () => {
  app = await startTestApp();
  orgId = await app.org('acme');
  admin = await app.key(orgId, 'ADMIN', 'root');
  recorder = await app.key(orgId, 'RECORDER', 'gw');
  dir = tempDir();
});
afterAll(async () => {
  await app?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the chain', () => {
  it('hashes an append’s canonical bytes as the chunk store keeps them', () => {
    const events = [
      { time: 0.5, type: 'o' as const, data: Buffer.from('hi') },
      { time: 2, type: 'i' as const, data: Buffer.alloc(0) },
    ];
    expect(appendDigest(events).toString('hex')).toBe(encodeAppend(0, events)[0]!.digest);
    // The bytes, spelled out: time as float64 BE, the type letter, the length as uint32 BE, the data.
    const canonical = Buffer.concat([
      Buffer.from('3fe0000000000000', 'hex'), Buffer.from('o'), Buffer.from('00000002', 'hex'), Buffer.from('hi'),
      Buffer.from('4000000000000000', 'hex'), Buffer.from('i'), Buffer.from('00000000', 'hex'),
    ]);
    expect(appendDigest(events)).toEqual(createHash('sha256').update(canonical).digest());
    expect(chainStart('ABCDEF00-0000-4000-8000-000000000000')).toEqual(createHash('sha256').update('abcdef00-0000-4000-8000-000000000000').digest());
    expect(foldChain('x', [])).toEqual(chainStart('x'));
    // -0 is stored as 0: an export cannot write it otherwise, and the chain must read back the same bytes.
    const [zero] = decodeEventInputs([{ time: -0, type: 'o', data: '' }], { maxAppendEvents: 10, maxAppendBytes: 10 });
    expect(Object.is(zero!.time, 0)).toBe(true);
  });

  it('advances with each stored append, and is signed at close with a key the well-known endpoint publishes', async () => {
    const open = await recorded(true);
    const during = await integrity(open);
    expect(during).toEqual({ algorithm: 'sha256-chain', digest: expectedChain(open).toString('hex'), appendCount: 3, signature: null, keyId: null });
    // Kept by the appends' own statements, not computed when asked.
    const [row] = await queryRows<{ chain_count: number; digest: string }>("SELECT chain_count, encode(chain_digest, 'hex') AS digest FROM sessions WHERE id = $1::uuid", [open]);
    expect(row).toEqual({ chain_count: 3, digest: during.digest });
    ok(await app.gql(CLOSE, { id: open }, recorder));
    const closed = await integrity(open);
    expect(closed.digest).toBe(during.digest);
    expect(closed.keyId).toMatch(/^[0-9a-f]{16}$/);
    const res = await fetch(`${app.url}/.well-known/reel-signing-key.pem`);
    expect(res.status).toBe(200);
    const key = createPublicKey(await res.text());
    expect(verify(null, Buffer.from(closed.digest, 'hex'), key, Buffer.from(closed.signature!, 'base64'))).toBe(true);
  });

  it('is computed for imported sessions over the appends they were stored in, and signed when they are closed', async () => {
    await importSessions(EXEC_SESSION, orgId, capture().stream);
    const imported = await integrity(EXEC_ID);
    // The reference's example: two events, stored by the import as one append.
    const events = [
      { time: 0.268589438, type: 'i' as const, data: Buffer.from('SELECT 1;') },
      { time: 0.5, type: 'o' as const, data: Buffer.from('?column?\n1\n(1 row)\n') },
    ];
    expect(imported).toMatchObject({ digest: foldChain(EXEC_ID, [appendDigest(events)]).toString('hex'), appendCount: 1, keyId: expect.any(String) });
    expect(imported.signature).not.toBeNull();
  });

  it('is filled in for sessions stored before it, from their chunks, and signed when closed', async () => {
    const id = await recorded();
    const before = await integrity(id);
    await queryRows('UPDATE sessions SET chain_digest = NULL, chain_count = 0, signature = NULL, signing_key_id = NULL WHERE id = $1::uuid', [id]);
    // Until then, it is computed when asked.
    expect(await integrity(id)).toMatchObject({ digest: before.digest, appendCount: 3, signature: null });
    expect(await backfillChains()).toBe(1);
    const after = await integrity(id);
    expect(after.digest).toBe(before.digest);
    expect(after.signature).not.toBeNull();
    expect(await backfillChains()).toBe(0);
  });
});

describe('reel verify', () => {
  it('holds for an export, and names a session whose stored bytes or exported events were changed', async () => {
    const [a, b, open] = [await recorded(), await recorded(), await recorded(true)];
    const file = await exportTo('good.json', [a, b]);
    const withOpen = await exportTo('with-open.json', [a, open]);
    const exported = JSON.parse(fs.readFileSync(file, 'utf8')) as { integrity: Record<string, unknown> }[];
    expect(exported[0]!.integrity).toMatchObject({ algorithm: 'sha256-chain', append_count: 3, append_events: [1, 0, 2] });

    // An event changed in the file.
    const edited = JSON.parse(fs.readFileSync(file, 'utf8')) as { event_stream: [number, string, string][] }[];
    edited[1]!.event_stream[1]![2] = b64('y');
    const editedFile = path.join(dir, 'edited.json');
    fs.writeFileSync(editedFile, JSON.stringify(edited));

    // A byte of a stored chunk flipped through SQL, then a fresh export.
    await queryRows(`UPDATE session_event_chunks SET data = overlay(data placing '\\x58'::bytea from 14 for 1) WHERE session_id = $1::uuid AND sequence = 0`, [a]);
    const tampered = await exportTo('tampered.json', [b, a]);

    await app.stop(); // the command line opens the database (and its keys) itself
    const env = { REEL_DATA_DIR: app.database.dataDir, DATABASE_URL: app.database.databaseUrl };
    const good = await reelInProcess(['verify', file], env);
    expect([good.code, good.last]).toEqual([0, '2 sessions verified']);
    // An open session's events match its digest, but nothing signed vouches for it: said, or refused on demand.
    expect((await reelInProcess(['verify', withOpen], env)).last).toBe('2 sessions verified, 1 of them open and not signed yet');
    const strict = await reelInProcess(['verify', withOpen, '--require-signed'], env);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain(`session ${open} fails verification: it is not signed (it was open when exported)`);
    const bad = await reelInProcess(['verify', tampered], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`session ${a} fails verification: its events do not give its digest`);
    const changed = await reelInProcess(['verify', editedFile], env);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain(`session ${b} fails verification`);

    // With a public key given: the server's verifies, another does not.
    const pem = path.join(dir, 'server.pem');
    fs.writeFileSync(pem, publicKeysPem(loadSigningKeys({ dataDir: app.database.dataDir, create: false })));
    expect((await reelInProcess(['verify', file, '--public-key', pem], {})).code).toBe(0);
    const other = path.join(dir, 'other.pem');
    fs.writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const stranger = await reelInProcess(['verify', file, '--public-key', other], {});
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toMatch(/which is not among the public keys given/);
  });

  it('keeps verifying what an older key signed after the key is rotated', async () => {
    const oldPem = fs.readFileSync(path.join(app.database.dataDir, 'signing-key.pem'), 'utf8');
    const newPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    app = await startTestApp({ REEL_SIGNING_KEY: newPem, REEL_SIGNING_OLD_KEYS: oldPem }, { database: app.database });
    const published = await (await fetch(`${app.url}/.well-known/reel-signing-key.pem`)).text();
    expect(published.match(/BEGIN PUBLIC KEY/g)).toHaveLength(2);
    const fresh = await recorded();
    const sessions = await queryRows<{ id: string }>("SELECT id::text AS id FROM sessions WHERE status = 'DONE' ORDER BY created_at LIMIT 1");
    const file = await exportTo('rotated.json', [sessions[0]!.id, fresh]);
    await app.stop();
    const env = { REEL_DATA_DIR: app.database.dataDir, DATABASE_URL: app.database.databaseUrl, REEL_SIGNING_KEY: newPem, REEL_SIGNING_OLD_KEYS: oldPem };
    expect((await reelInProcess(['verify', file], env)).last).toBe('2 sessions verified');
    const withoutOld = await reelInProcess(['verify', file], { ...env, REEL_SIGNING_OLD_KEYS: '' });
    expect(withoutOld.code).toBe(1);
  });
});
