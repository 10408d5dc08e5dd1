import { createHash, randomBytes } from 'node:crypto';
import { prisma } from '../db/client.ts';
import type { Role } from '../generated/prisma/enums.ts';
import { isUuid } from '../util.ts';

export const ROLES = ['ADMIN', 'AUDITOR', 'STANDARD', 'RECORDER'] as const satisfies readonly Role[];

/** Who is asking: the API key's org, identity and role. */
export interface Viewer {
  keyId: string;
  orgId: string;
  role: Role;
  subject: string;
  email: string | null;
  name: string | null;
  groups: string[];
}

const KEY_PREFIX = 'reel_';

// Keys carry 256 random bits, so a plain SHA-256 is a safe hash at rest (no password stretching needed).
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export interface NewKey {
  orgId: string;
  role: Role;
  subject: string;
  email?: string | null | undefined;
  name?: string | null | undefined;
  groups?: string[] | undefined;
}

/** Creates an API key and returns it with the plain key, which is never stored or shown again. */
export async function createApiKey(input: NewKey): Promise<{ id: string; key: string }> {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  const row = await prisma().apiKey.create({
    data: {
      orgId: input.orgId,
      role: input.role,
      subject: input.subject,
      email: input.email ?? null,
      name: input.name ?? null,
      groups: input.groups ?? [],
      keyHash: hashKey(key),
      prefix: key.slice(0, KEY_PREFIX.length + 6),
    },
    select: { id: true },
  });
  return { id: row.id, key };
}

/** The viewer for a presented key, or null when the key is unknown or revoked. */
export async function viewerForKey(key: string): Promise<Viewer | null> {
  if (!key.startsWith(KEY_PREFIX) || key.length > 200) return null;
  const row = await prisma().apiKey.findUnique({ where: { keyHash: hashKey(key) } });
  if (!row || row.revokedAt) return null;
  return viewerFromRow(row);
}

/** The viewer for a key id, used to re-check a download link's issuer; null when revoked or gone. */
export async function viewerForKeyId(id: string): Promise<Viewer | null> {
  if (!isUuid(id)) return null;
  const row = await prisma().apiKey.findUnique({ where: { id } });
  if (!row || row.revokedAt) return null;
  return viewerFromRow(row);
}

function viewerFromRow(row: {
  id: string;
  orgId: string;
  role: Role;
  subject: string;
  email: string | null;
  name: string | null;
  groups: string[];
}): Viewer {
  return {
    keyId: row.id,
    orgId: row.orgId,
    role: row.role,
    subject: row.subject,
    email: row.email,
    name: row.name,
    groups: row.groups,
  };
}

/** The key from an `Authorization: Bearer <key>` header; undefined when absent or malformed. */
export function bearerKey(header: string | null): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
