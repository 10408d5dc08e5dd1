import type { Prisma } from '../generated/prisma/client.ts';
import type { ReviewGroupModel, ReviewModel, SessionModel } from '../generated/prisma/models.ts';

/*
 * The rows `reel import` writes, typed from Prisma's generated models: a column added to
 * schema.prisma does not compile in import until it says what goes there. Import writes with raw
 * SQL beside the chunk store (Prisma cannot join that transaction), so the column names and types
 * are taken from the schema too: names by its convention, types from the table itself.
 */

/** A model's columns as written: JSON columns take any JSON value. */
export type Row<Model> = { [K in keyof Model]: Prisma.JsonValue extends Model[K] ? unknown : Model[K] };

/** A session row; the database fills in created_at, and open_digest is openSession's alone. */
export type SessionRow = Row<Omit<SessionModel, 'createdAt' | 'openDigest'>>;
export type ReviewRow = Row<ReviewModel>;
export type ReviewGroupRow = Row<ReviewGroupModel>;

interface Tables {
  sessions: SessionRow;
  reviews: ReviewRow;
  review_groups: ReviewGroupRow;
}

/** A model field's column: schema.prisma maps every field to its snake_case name (a test holds it to that). */
export const columnName = (field: string): string => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * An INSERT of one row. The values travel as one JSON object that PostgreSQL converts to the
 * table's own column types (enums, uuid, timestamptz, text[], jsonb; JSON null is NULL).
 */
export function insertRow<Table extends keyof Tables>(table: Table, row: Tables[Table], suffix = ''): [string, unknown[]] {
  const values = Object.fromEntries(Object.entries(row).map(([field, value]) => [columnName(field), value]));
  const columns = Object.keys(values)
    .map((c) => `"${c}"`)
    .join(', ');
  const json = JSON.stringify(values, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  return [`INSERT INTO ${table} (${columns}) SELECT ${columns} FROM jsonb_populate_record(NULL::${table}, $1::jsonb) ${suffix}`, [json]];
}
