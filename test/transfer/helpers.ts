import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SESSION_ATTRIBUTES } from '../support/ingest.ts';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const EXEC_SESSION = path.join(FIXTURES, 'hoop-exec-session.json');
export const SESSIONS = path.join(FIXTURES, 'hoop-sessions.json');
export const EXEC_ID = '5701046a-7b7a-4a78-abb0-a24c95e6fe54';
export const SSH_ID = '3f1c9a52-8e4b-4d7a-9c61-2b5e8f0a7d34';
export const PG_ID = 'a8e7d6c5-b4a3-4291-8f7e-6d5c4b3a2918';

/** Every attribute, with the review groups' ids and the stream: what an import must reproduce. */
export const SESSION_QUERY = /* GraphQL */ `
  query ($id: ID!) {
    session(id: $id) {
      ...SessionAttributes
      review { groups { id } }
      eventSize eventStream
    }
  }
  ${SESSION_ATTRIBUTES}`;

/** A scratch directory removed by the caller. */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'reel-transfer-'));
}

/** Collects what is written to a stream. */
export function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** The hoop-shaped records of a fixture file. */
export function records(file: string): Record<string, unknown>[] {
  const value = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  return (Array.isArray(value) ? value : [value]) as Record<string, unknown>[];
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}
