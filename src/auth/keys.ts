import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { auditWith, type Actor } from '../audit/audit.ts';
import { prisma } from '../db/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import type { Role } from '../generated/prisma/enums.ts';
import { isUuid } from '../uuid.ts';

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
  /** The client's address, for the audit trail (set per request; see server.ts). */
  clientIp?: string | null;
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
export async function createApiKey(input: NewKey, actor: Actor = 'cli'): Promise<{ id: string; key: string }> {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  const create = (tx: Prisma.TransactionClient) => tx.apiKey.create({
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
  const row = await auditWith(create, ({ id }) => ({
    orgId: input.orgId,
    action: 'KEY_CREATED',
    actor,
    details: { keyId: id, role: input.role, subject: input.subject },
  }));
  return { id: row.id, key };
}

/** An org's keys, oldest first: what they are, never the keys themselves (only their hashes are stored). */
export function listApiKeys(orgId: string) {
  return prisma().apiKey.findMany({
    where: { orgId },
    orderBy: { createdAt: 'asc' },
    select: { id: true, prefix: true, role: true, subject: true, groups: true, createdAt: true, revokedAt: true },
  });
}

/**
 * Revokes a key, named by its id or by the key itself; null when there is no such key. The key stays
 * stored, marked revoked (download links it issued are refused from then on); revoking it again
 * keeps the first revocation's time.
 */
export async function revokeApiKey(idOrKey: string, actor: Actor = 'cli'): Promise<{ id: string; revokedAt: Date } | null> {
  const where = isUuid(idOrKey) ? { id: idOrKey } : { keyHash: hashKey(idOrKey) };
  const key = await prisma().apiKey.findUnique({ where, select: { id: true, orgId: true, revokedAt: true, role: true, subject: true } });
  if (!key) return null;
  if (key.revokedAt) return { id: key.id, revokedAt: key.revokedAt };
  const revokedAt = new Date();
  // Only the revocation that changes the row counts (and is audited): a concurrent one finds it done.
  const { count } = await auditWith(
    (tx) => tx.apiKey.updateMany({ where: { id: key.id, revokedAt: null }, data: { revokedAt } }),
    ({ count }) => (count === 1 ? { orgId: key.orgId, action: 'KEY_REVOKED', actor, details: { keyId: key.id, role: key.role, subject: key.subject } } : null),
  );
  if (count === 0) return revokeApiKey(key.id, actor);
  return { id: key.id, revokedAt };
}

/** Whether a presented key could be one of ours at all (checked before any hashing or lookup). */
const plausibleKey = (key: string): boolean => key.startsWith(KEY_PREFIX) && key.length <= 200;

/** The viewer for a key's hash, or null when the key is unknown or revoked. */
async function viewerForKeyHash(keyHash: string): Promise<Viewer | null> {
  const row = await prisma().apiKey.findUnique({ where: { keyHash } });
  if (!row || row.revokedAt) return null;
  return viewerFromRow(row);
}

/**
 * The viewer for a presented key (null when it is unknown or revoked), with a short memory: a key
 * found valid is trusted for `ttlMs` (by `now`) without asking the database again, so a revocation
 * takes effect within that time on every server (REEL_KEY_CACHE_SECONDS; 0 asks every time).
 * Unknown and revoked keys are never remembered (a flood of made-up keys cannot evict real ones, and
 * a new key works at once); concurrent checks of one key share one lookup.
 */
export class KeyCache {
  private readonly entries: LRUCache<string, { viewer: Promise<Viewer | null>; until: number }>;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    max = 10_000,
  ) {
    this.entries = new LRUCache({ max });
  }

  viewer(key: string): Promise<Viewer | null> {
    if (!plausibleKey(key)) return Promise.resolve(null);
    const keyHash = hashKey(key);
    if (this.ttlMs <= 0) return viewerForKeyHash(keyHash);
    const hit = this.entries.get(keyHash);
    if (hit && hit.until > this.now()) return hit.viewer;
    const entry = { viewer: viewerForKeyHash(keyHash), until: this.now() + this.ttlMs };
    this.entries.set(keyHash, entry);
    const forget = () => {
      if (this.entries.peek(keyHash) === entry) this.entries.delete(keyHash);
    };
    entry.viewer.then((viewer) => viewer ?? forget(), forget);
    return entry.viewer;
  }
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
