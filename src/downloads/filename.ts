/**
 * `Content-Disposition` for session downloads (spec §6):
 * `attachment; filename="<roleName>-<id>-<YYYYMMDD-HHMMSS>.<extension>"`, timestamp in UTC.
 *
 * The quoted `filename` only ever holds `[A-Za-z0-9._-]` (role name, session id and extension are
 * each reduced to that set), so no quote, backslash, CR/LF, `;`, path separator or non-ASCII byte
 * can reach the header. When the role name had characters outside that set, a
 * `filename*=UTF-8''…` parameter (RFC 6266 / RFC 5987) carries a name built from the original
 * role name, percent-encoded, for clients that support it; control, format (e.g. bidi override)
 * and path/Windows-reserved characters are removed from it first.
 */

const SAFE_CHAR_RE = /[^A-Za-z0-9._-]/g;
/** Characters dropped from the extended (UTF-8) name: controls, format chars (bidi overrides,
 * zero-width), lone surrogates, path separators and characters Windows forbids in file names. */
const EXTENDED_DROP_RE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}/\\<>:"|?*]/gu;
/** Keep names well under common 255-byte file name limits. */
const MAX_ROLE_CHARS = 100;
const MAX_ID_CHARS = 128;
const FALLBACK_ROLE = 'session';

/** RFC 5987 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" */
const ATTR_CHAR_RE = /^[A-Za-z0-9!#$&+\-.^_`|~]$/;

function reduceToSafe(s: string): string {
  return s.replace(SAFE_CHAR_RE, '');
}

/** Truncates to at most `max` code points (never splitting a surrogate pair). */
function truncateCodePoints(s: string, max: number): string {
  const cps = Array.from(s);
  return cps.length <= max ? s : cps.slice(0, max).join('');
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** `YYYYMMDD-HHMMSS` of `now` in UTC. Throws RangeError on an invalid Date. */
export function downloadTimestamp(now: Date): string {
  if (Number.isNaN(now.getTime())) throw new RangeError('invalid date');
  return (
    `${pad(now.getUTCFullYear(), 4)}${pad(now.getUTCMonth() + 1, 2)}${pad(now.getUTCDate(), 2)}` +
    `-${pad(now.getUTCHours(), 2)}${pad(now.getUTCMinutes(), 2)}${pad(now.getUTCSeconds(), 2)}`
  );
}

/** Percent-encodes a string's UTF-8 bytes per RFC 5987 (everything but attr-char). */
export function encodeRfc5987(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && ATTR_CHAR_RE.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The role name reduced to `[A-Za-z0-9._-]`, or `session` when nothing is left. */
export function safeRoleName(roleName: string): string {
  return truncateCodePoints(reduceToSafe(roleName), MAX_ROLE_CHARS) || FALLBACK_ROLE;
}

export function contentDisposition(roleName: string, sessionId: string, extension: string, now: Date): string {
  const role = safeRoleName(roleName);
  const id = truncateCodePoints(reduceToSafe(sessionId), MAX_ID_CHARS);
  const ext = reduceToSafe(extension).replace(/^\.+/, '');
  const tail = `-${id}-${downloadTimestamp(now)}${ext ? `.${ext}` : ''}`;
  let header = `attachment; filename="${role}${tail}"`;

  if (role !== roleName) {
    const extendedRole = truncateCodePoints(roleName.replace(EXTENDED_DROP_RE, '').trim(), MAX_ROLE_CHARS);
    if (extendedRole && extendedRole !== role) {
      header += `; filename*=UTF-8''${encodeRfc5987(`${extendedRole}${tail}`)}`;
    }
  }
  return header;
}
