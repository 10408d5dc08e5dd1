/**
 * Stateless, signed download tokens (spec §6).
 *
 * A token is `<payload>.<mac>`, both base64url without padding:
 *
 * - `payload` carries what the verifier cannot learn from the request URL: a format version byte,
 *   the expiry (unix ms, uint64 big-endian), the org id and the issuing key id (each a uint16
 *   big-endian byte length followed by UTF-8 bytes). The layout is exact: no trailing bytes.
 * - `mac` is HMAC-SHA256 (32 bytes) over a domain label, the raw payload bytes, and then every claim
 *   the verifier re-supplies from the URL (session id from the path; target from the route;
 *   extension, newline, event-time and events from the query; the time window, when the link has
 *   one), each length-prefixed, so the encoding is unambiguous and any changed parameter
 *   invalidates the token. A link without a window signs exactly what it signed before windows
 *   existed, so links issued by an older version keep working.
 *
 * Nothing is stored: a token works across restarts and replicas and may be used repeatedly until
 * it expires. Verification accepts a list of secrets (current first, then older ones still
 * accepted) so the secret can be rotated without breaking links already issued.
 *
 * The verifier must supply the URL parameters exactly as they were signed: this module binds
 * strings byte for byte, and the download service decides their canonical form (`events`
 * deduplicated, in `i,o,e` order: canonicalEvents in service.ts).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a link opens: the rendered events, the script, or the viewer page (§14). */
export type DownloadTarget = 'EVENT_STREAM' | 'SCRIPT' | 'VIEW';

export const DOWNLOAD_TARGETS: readonly DownloadTarget[] = ['EVENT_STREAM', 'SCRIPT', 'VIEW'];

export interface DownloadClaims {
  sessionId: string;
  orgId: string;
  issuerKeyId: string;
  target: DownloadTarget;
  extension: string;
  newline: boolean;
  eventTime: boolean;
  /** The `events` query value as put in the URL, e.g. `"o,e"`. */
  events: string;
  /** The time window as put in the URL (`from` and `to`, service.ts windowClaim); '' for none. */
  window?: string;
  /** Unix milliseconds; the token is expired when `now >= expiresAt`. */
  expiresAt: number;
}

/** What the verifier re-supplies from the request (path and query). */
export type SuppliedDownloadClaims = Omit<DownloadClaims, 'issuerKeyId' | 'orgId' | 'expiresAt'>;

export type VerifyDownloadTokenResult =
  | { ok: true; claims: DownloadClaims }
  | { ok: false; reason: 'invalid' | 'expired' };

const VERSION = 1;
const MAC_LABEL = Buffer.from('reel/download-token/v1\0', 'utf8');
const MAC_BYTES = 32;
/** base64url length of a 32-byte MAC without padding. */
const MAC_CHARS = 43;
const MAX_ID_BYTES = 0xffff;
/** Longest token accepted at all (2 × uint16-limited ids plus overhead, base64url-expanded). */
const MAX_TOKEN_CHARS = 180_000;
const TOKEN_RE = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
const EXTENSION_RE = /^[A-Za-z0-9]{1,16}$/;
/** With the `u` flag, paired surrogates form one code point, so this matches lone surrogates only. */
const LONE_SURROGATE_RE = /\p{Cs}/u;

/** 1–16 ASCII letters or digits. */
export function isValidExtension(s: unknown): s is string {
  return typeof s === 'string' && EXTENSION_RE.test(s);
}

export function isDownloadTarget(s: unknown): s is DownloadTarget {
  return (DOWNLOAD_TARGETS as readonly unknown[]).includes(s);
}

/** A string that UTF-8 encodes without loss (no lone surrogates, which would all become U+FFFD). */
function isWellFormedString(s: unknown): s is string {
  return typeof s === 'string' && !LONE_SURROGATE_RE.test(s);
}

function isExpiry(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function lengthPrefixed(s: string, lengthBytes: 2 | 4): Buffer {
  const body = Buffer.from(s, 'utf8');
  const head = Buffer.alloc(lengthBytes);
  if (lengthBytes === 2) head.writeUInt16BE(body.length);
  else head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

function encodePayload(expiresAt: number, orgId: string, issuerKeyId: string): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt8(VERSION, 0);
  head.writeBigUInt64BE(BigInt(expiresAt), 1);
  return Buffer.concat([head, lengthPrefixed(orgId, 2), lengthPrefixed(issuerKeyId, 2)]);
}

interface Payload {
  expiresAt: number;
  orgId: string;
  issuerKeyId: string;
}

/** Strict inverse of encodePayload; null on any deviation. */
function decodePayload(buf: Buffer): Payload | null {
  if (buf.length < 9 + 2 + 2 || buf.readUInt8(0) !== VERSION) return null;
  const big = buf.readBigUInt64BE(1);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  let at = 9;
  const readString = (): string | null => {
    if (at + 2 > buf.length) return null;
    const len = buf.readUInt16BE(at);
    at += 2;
    if (at + len > buf.length) return null;
    const bytes = buf.subarray(at, at + len);
    at += len;
    const s = bytes.toString('utf8');
    // Reject invalid UTF-8 (it would decode lossily), so one payload has exactly one meaning.
    if (!Buffer.from(s, 'utf8').equals(bytes)) return null;
    return s;
  };
  const orgId = readString();
  if (orgId === null) return null;
  const issuerKeyId = readString();
  if (issuerKeyId === null || at !== buf.length) return null;
  return { expiresAt: Number(big), orgId, issuerKeyId };
}

/** base64url decode that only accepts the canonical (unpadded, zero-trailing-bits) encoding. */
function decodeBase64UrlStrict(s: string): Buffer | null {
  const buf = Buffer.from(s, 'base64url');
  return buf.toString('base64url') === s ? buf : null;
}

function macInput(payload: Buffer, supplied: SuppliedDownloadClaims): Buffer {
  return Buffer.concat([
    MAC_LABEL,
    payload,
    lengthPrefixed(supplied.sessionId, 4),
    lengthPrefixed(supplied.target, 4),
    lengthPrefixed(supplied.extension, 4),
    Buffer.from([supplied.newline ? 1 : 0, supplied.eventTime ? 1 : 0]),
    lengthPrefixed(supplied.events, 4),
    ...(supplied.window ? [lengthPrefixed(supplied.window, 4)] : []),
  ]);
}

function keyBytes(secret: string | Buffer): Buffer {
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
}

function hmac(key: Buffer, data: Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function suppliedIsWellTyped(s: SuppliedDownloadClaims): boolean {
  return (
    typeof s === 'object' &&
    s !== null &&
    isWellFormedString(s.sessionId) &&
    isDownloadTarget(s.target) &&
    isValidExtension(s.extension) &&
    typeof s.newline === 'boolean' &&
    typeof s.eventTime === 'boolean' &&
    isWellFormedString(s.events) &&
    (s.window === undefined || isWellFormedString(s.window))
  );
}

/**
 * Signs every claim. Throws (TypeError/RangeError) on claims that could never verify: an invalid
 * extension or target, a non-integer or negative expiry, ids over 65535 UTF-8 bytes, strings with
 * lone surrogates, or an empty secret.
 */
export function signDownloadToken(claims: DownloadClaims, secret: string | Buffer): string {
  const key = keyBytes(secret);
  if (key.length === 0) throw new RangeError('download token secret must not be empty');
  if (!suppliedIsWellTyped(claims)) throw new TypeError('invalid download token claims');
  if (!isExpiry(claims.expiresAt)) throw new RangeError('expiresAt must be a non-negative safe integer (unix ms)');
  for (const id of [claims.orgId, claims.issuerKeyId]) {
    if (!isWellFormedString(id)) throw new TypeError('orgId and issuerKeyId must be well-formed strings');
    if (Buffer.byteLength(id, 'utf8') > MAX_ID_BYTES) throw new RangeError('orgId/issuerKeyId too long');
  }
  const payload = encodePayload(claims.expiresAt, claims.orgId, claims.issuerKeyId);
  const mac = hmac(key, macInput(payload, claims));
  return `${payload.toString('base64url')}.${mac.toString('base64url')}`;
}

/**
 * Checks a token against the request's parameters. Never throws.
 *
 * - malformed token, MAC mismatch under every secret, or any supplied parameter differing from
 *   what was signed → `invalid`;
 * - genuine token with `now >= expiresAt` (or a non-finite `now`) → `expired`.
 *
 * `secrets`: current first, then older ones still accepted. Empty secrets are ignored. Every
 * secret is tried (no early exit) and MACs are compared with `timingSafeEqual`.
 */
export function verifyDownloadToken(
  token: string,
  supplied: SuppliedDownloadClaims,
  secrets: ReadonlyArray<string | Buffer>,
  now: number,
): VerifyDownloadTokenResult {
  const invalid = { ok: false, reason: 'invalid' } as const;
  try {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) return invalid;
    const m = TOKEN_RE.exec(token);
    if (!m || m[2]?.length !== MAC_CHARS) return invalid;
    const payloadBytes = decodeBase64UrlStrict(m[1] ?? '');
    const mac = decodeBase64UrlStrict(m[2]);
    if (!payloadBytes || !mac || mac.length !== MAC_BYTES) return invalid;
    const payload = decodePayload(payloadBytes);
    if (!payload) return invalid;
    if (!suppliedIsWellTyped(supplied) || !Array.isArray(secrets)) return invalid;

    const input = macInput(payloadBytes, supplied);
    let matched = false;
    for (const secret of secrets) {
      if (typeof secret !== 'string' && !Buffer.isBuffer(secret)) continue;
      const key = keyBytes(secret);
      if (key.length === 0) continue;
      const expected = hmac(key, input);
      // Both are 32 bytes here (checked above), so timingSafeEqual cannot throw.
      if (timingSafeEqual(expected, mac)) matched = true;
    }
    if (!matched) return invalid;

    if (typeof now !== 'number' || !Number.isFinite(now) || now >= payload.expiresAt) {
      return { ok: false, reason: 'expired' };
    }
    return {
      ok: true,
      claims: {
        sessionId: supplied.sessionId,
        orgId: payload.orgId,
        issuerKeyId: payload.issuerKeyId,
        target: supplied.target,
        extension: supplied.extension,
        newline: supplied.newline,
        eventTime: supplied.eventTime,
        events: supplied.events,
        window: supplied.window ?? '',
        expiresAt: payload.expiresAt,
      },
    };
  } catch {
    return invalid;
  }
}
