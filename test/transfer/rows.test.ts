import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../../src/db/client.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';
import { importSessions } from '../../src/transfer/import.ts';
import { columnName } from '../../src/transfer/rows.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { capture, EXEC_ID, EXEC_SESSION } from './helpers.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});

afterAll(async () => {
  await app?.close();
});

describe('the rows import writes', () => {
  // Import writes with raw SQL, naming columns after the Prisma model's fields: this holds the
  // migrated tables to that naming, both ways (no field without its column, no column without its field).
  it.each([
    ['sessions', Prisma.SessionScalarFieldEnum],
    ['reviews', Prisma.ReviewScalarFieldEnum],
    ['review_groups', Prisma.ReviewGroupScalarFieldEnum],
  ])('the columns of %s are the snake_case names of its model fields', async (table, fields) => {
    const columns = await prisma().$queryRaw<{ name: string }[]>`
      SELECT column_name::text AS name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ${table}`;
    expect(columns.map((c) => c.name).sort()).toEqual(Object.values(fields).map(columnName).sort());
  });

  it('stores an absent JSON attribute as NULL, not as JSON null', async () => {
    const orgId = await app.org('acme');
    expect(await importSessions(EXEC_SESSION, orgId, capture().stream)).toEqual({ imported: 1, skipped: 0 });
    const [row] = await prisma().$queryRaw<{ nulls: boolean }[]>`
      SELECT connection_tags IS NULL AND integrations_metadata IS NULL AND ai_analysis IS NULL AS nulls
      FROM sessions WHERE id = ${EXEC_ID}::uuid`;
    expect(row).toEqual({ nulls: true });
  });
});
