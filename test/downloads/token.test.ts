import { describe, expect, it } from 'vitest';
import {
  isValidExtension,
  signDownloadToken,
  verifyDownloadToken,
  type DownloadClaims,
  type SuppliedDownloadClaims,
} from '../../src/downloads/token.ts';

const SECRET = 'current-secret-0123456789abcdef';
const OLD_SECRET = Buffer.from('old-secret-fedcba9876543210', 'utf8');
const NOW = Date.UTC(2024, 6, 25, 16, 0, 0);

const claims: DownloadClaims = {
  sessionId: 'sess_01J3ZK8Q',
  orgId: 'org_acme',
  issuerKeyId: 'key_alice',
  target: 'EVENT_STREAM',
  extension: 'csv',
  newline: true,
  eventTime: false,
  events: 'o,e',
  window: '',
  expiresAt: NOW + 5 * 60_000,
};

function supplied(c: DownloadClaims = claims): SuppliedDownloadClaims {
  return {
    sessionId: c.sessionId,
    target: c.target,
    extension: c.extension,
    newline: c.newline,
    eventTime: c.eventTime,
    events: c.events,
    window: c.window,
  };
}

const invalid = { ok: false, reason: 'invalid' };
const expired = { ok: false, reason: 'expired' };

describe('download tokens', () => {
  it('round-trips every claim', () => {
    const token = signDownloadToken(claims, SECRET);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyDownloadToken(token, supplied(), [SECRET], NOW)).toEqual({ ok: true, claims });
  });

  it('is URL-safe and compact', () => {
    const token = signDownloadToken(claims, SECRET);
    expect(encodeURIComponent(token)).toBe(token);
    expect(token.length).toBeLessThan(120);
  });

  it('is deterministic and reusable (stateless)', () => {
    const token = signDownloadToken(claims, SECRET);
    expect(signDownloadToken(claims, SECRET)).toBe(token);
    for (let i = 0; i < 3; i++) expect(verifyDownloadToken(token, supplied(), [SECRET], NOW).ok).toBe(true);
  });

  it('round-trips SCRIPT tokens and non-ASCII ids', () => {
    const c: DownloadClaims = { ...claims, target: 'SCRIPT', orgId: 'örg-✓', issuerKeyId: 'ключ-😀', sessionId: 'ß/1' };
    const token = signDownloadToken(c, SECRET);
    expect(verifyDownloadToken(token, supplied(c), [SECRET], NOW)).toEqual({ ok: true, claims: c });
  });

  it('binds a time window, and signs a link without one as it did before windows existed', () => {
    const windowed: DownloadClaims = { ...claims, window: '1.5~3' };
    const token = signDownloadToken(windowed, SECRET);
    expect(verifyDownloadToken(token, supplied(windowed), [SECRET], NOW)).toEqual({ ok: true, claims: windowed });
    for (const window of ['', '1.5~', '~3', '1.5~3.0', '1.50~3']) {
      expect(verifyDownloadToken(token, { ...supplied(), window }, [SECRET], NOW)).toEqual(invalid);
    }
    const { window: _none, ...older } = claims;
    expect(signDownloadToken(older, SECRET)).toBe(signDownloadToken(claims, SECRET));
  });

  describe('tampering with a supplied parameter → invalid', () => {
    const token = signDownloadToken(claims, SECRET);
    const changes: Array<[string, Partial<SuppliedDownloadClaims>]> = [
      ['sessionId', { sessionId: 'sess_01J3ZK8R' }],
      ['sessionId (prefix)', { sessionId: 'sess_01J3ZK8' }],
      ['target', { target: 'SCRIPT' }],
      ['extension', { extension: 'json' }],
      ['extension case', { extension: 'CSV' }],
      ['newline', { newline: false }],
      ['eventTime', { eventTime: true }],
      ['events', { events: 'i,o,e' }],
      ['events order', { events: 'e,o' }],
      ['events empty', { events: '' }],
      ['target VIEW', { target: 'VIEW' }],
      ['a window added', { window: '1.5~' }],
    ];
    it.each(changes)('%s', (_name, change) => {
      expect(verifyDownloadToken(token, { ...supplied(), ...change }, [SECRET], NOW)).toEqual(invalid);
    });

    it('field boundaries are unambiguous', () => {
      // Moving bytes between adjacent fields must not keep the MAC valid.
      const a: DownloadClaims = { ...claims, extension: 'csv', events: 'o,e' };
      const t = signDownloadToken(a, SECRET);
      expect(verifyDownloadToken(t, { ...supplied(a), extension: 'cs', events: 'vo,e' }, [SECRET], NOW)).toEqual(
        invalid,
      );
      const b: DownloadClaims = { ...claims, orgId: 'ab', issuerKeyId: 'c' };
      const shifted = signDownloadToken({ ...b, orgId: 'a', issuerKeyId: 'bc' }, SECRET);
      const genuineMac = signDownloadToken(b, SECRET).split('.')[1];
      expect(verifyDownloadToken(`${shifted.split('.')[0]}.${genuineMac}`, supplied(b), [SECRET], NOW)).toEqual(invalid);
    });
  });

  describe('tampering with the token → invalid', () => {
    const token = signDownloadToken(claims, SECRET);
    const [payload = '', mac = ''] = token.split('.');
    const payloadBytes = Buffer.from(payload, 'base64url');

    function withPayload(mutate: (c: DownloadClaims) => DownloadClaims): string {
      // Take the payload of a token signed over different claims and graft it onto the genuine MAC.
      const other = signDownloadToken(mutate(claims), SECRET);
      return `${other.split('.')[0]}.${mac}`;
    }

    it('org changed', () => {
      expect(verifyDownloadToken(withPayload((c) => ({ ...c, orgId: 'org_evil' })), supplied(), [SECRET], NOW)).toEqual(
        invalid,
      );
    });
    it('issuer changed', () => {
      expect(
        verifyDownloadToken(withPayload((c) => ({ ...c, issuerKeyId: 'key_mallory' })), supplied(), [SECRET], NOW),
      ).toEqual(invalid);
    });
    it('expiry extended', () => {
      const t = withPayload((c) => ({ ...c, expiresAt: c.expiresAt + 3_600_000 }));
      expect(verifyDownloadToken(t, supplied(), [SECRET], NOW)).toEqual(invalid);
      // Even once the genuine expiry has passed, a tampered expiry is invalid, not "expired".
      const t2 = withPayload((c) => ({ ...c, expiresAt: c.expiresAt - 1 }));
      expect(verifyDownloadToken(t2, supplied(), [SECRET], claims.expiresAt + 10)).toEqual(invalid);
    });
    it('every single flipped bit in the payload', () => {
      for (let i = 0; i < payloadBytes.length * 8; i++) {
        const b = Buffer.from(payloadBytes);
        b[i >> 3]! ^= 1 << (i & 7);
        const t = `${b.toString('base64url')}.${mac}`;
        expect(verifyDownloadToken(t, supplied(), [SECRET], NOW)).toEqual(invalid);
      }
    });
    it('every single flipped bit in the MAC', () => {
      const macBytes = Buffer.from(mac, 'base64url');
      for (let i = 0; i < macBytes.length * 8; i++) {
        const b = Buffer.from(macBytes);
        b[i >> 3]! ^= 1 << (i & 7);
        expect(verifyDownloadToken(`${payload}.${b.toString('base64url')}`, supplied(), [SECRET], NOW)).toEqual(
          invalid,
        );
      }
    });
    it('truncated', () => {
      for (let n = 0; n < token.length; n++) {
        expect(verifyDownloadToken(token.slice(0, n), supplied(), [SECRET], NOW)).toEqual(invalid);
      }
    });
    it('extra characters', () => {
      for (const t of [`${token}A`, `${token}.`, `A${token}`, `${token}=`, `${payload}==.${mac}`, ` ${token}`]) {
        expect(verifyDownloadToken(t, supplied(), [SECRET], NOW)).toEqual(invalid);
      }
    });
    it('non-canonical base64url (trailing bits) is rejected', () => {
      const last = mac[mac.length - 1]!;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const idx = alphabet.indexOf(last);
      const alt = alphabet[idx ^ 1]!; // differs only in the low (unused) bit of the final sextet
      const t = `${payload}.${mac.slice(0, -1)}${alt}`;
      expect(Buffer.from(t.split('.')[1]!, 'base64url').equals(Buffer.from(mac, 'base64url'))).toBe(true);
      expect(verifyDownloadToken(t, supplied(), [SECRET], NOW)).toEqual(invalid);
    });
    it('empty string and garbage', () => {
      const garbage = [
        '',
        '.',
        '..',
        'abc',
        'abc.def',
        `${payload}.`,
        `.${mac}`,
        'a'.repeat(43) + '.' + 'b'.repeat(43),
        '💥.💥',
        '\u0000.\u0000',
        '\ud800.' + mac,
        'x'.repeat(1_000_000),
        `${payload}.${mac}.${mac}`,
      ];
      for (const t of garbage) expect(verifyDownloadToken(t, supplied(), [SECRET], NOW)).toEqual(invalid);
    });
    it('signed with another secret', () => {
      const t = signDownloadToken(claims, 'some-other-secret');
      expect(verifyDownloadToken(t, supplied(), [SECRET], NOW)).toEqual(invalid);
      // ...and not reported as expired either, even when past its expiry.
      expect(verifyDownloadToken(t, supplied(), [SECRET], claims.expiresAt + 1)).toEqual(invalid);
    });
  });

  it('never throws, whatever it is given', () => {
    const token = signDownloadToken(claims, SECRET);
    const weird: unknown[] = [undefined, null, 42, {}, [], token];
    for (const t of weird) {
      expect(() => verifyDownloadToken(t as string, supplied(), [SECRET], NOW)).not.toThrow();
      expect(verifyDownloadToken(t as string, null as unknown as SuppliedDownloadClaims, [SECRET], NOW)).toEqual(
        invalid,
      );
      expect(verifyDownloadToken(t as string, supplied(), null as unknown as string[], NOW)).toEqual(invalid);
    }
    expect(verifyDownloadToken(token, { ...supplied(), sessionId: '\ud800' }, [SECRET], NOW)).toEqual(invalid);
    expect(verifyDownloadToken(token, { ...supplied(), extension: 'c.sv' }, [SECRET], NOW)).toEqual(invalid);
    expect(verifyDownloadToken(token, { ...supplied(), target: 'X' as 'SCRIPT' }, [SECRET], NOW)).toEqual(invalid);
  });

  describe('expiry', () => {
    const token = signDownloadToken(claims, SECRET);
    it('valid until just before expiresAt', () => {
      expect(verifyDownloadToken(token, supplied(), [SECRET], claims.expiresAt - 1).ok).toBe(true);
    });
    it('expired at and after expiresAt', () => {
      expect(verifyDownloadToken(token, supplied(), [SECRET], claims.expiresAt)).toEqual(expired);
      expect(verifyDownloadToken(token, supplied(), [SECRET], claims.expiresAt + 86_400_000)).toEqual(expired);
    });
    it('a non-finite clock fails closed', () => {
      expect(verifyDownloadToken(token, supplied(), [SECRET], Number.NaN)).toEqual(expired);
    });
    it('expired but tampered → invalid', () => {
      expect(verifyDownloadToken(token, { ...supplied(), events: 'i' }, [SECRET], claims.expiresAt + 1)).toEqual(
        invalid,
      );
    });
  });

  describe('secret rotation', () => {
    const oldToken = signDownloadToken(claims, OLD_SECRET);
    const newToken = signDownloadToken(claims, SECRET);
    it('accepts a token signed with an old secret still in the list', () => {
      expect(verifyDownloadToken(oldToken, supplied(), [SECRET, OLD_SECRET], NOW)).toEqual({ ok: true, claims });
      expect(verifyDownloadToken(newToken, supplied(), [SECRET, OLD_SECRET], NOW)).toEqual({ ok: true, claims });
    });
    it('string and Buffer forms of the same secret are interchangeable', () => {
      expect(verifyDownloadToken(newToken, supplied(), [Buffer.from(SECRET, 'utf8')], NOW).ok).toBe(true);
    });
    it('rejects once the old secret is removed', () => {
      expect(verifyDownloadToken(oldToken, supplied(), [SECRET], NOW)).toEqual(invalid);
    });
    it('no (usable) secrets → invalid', () => {
      expect(verifyDownloadToken(newToken, supplied(), [], NOW)).toEqual(invalid);
      expect(verifyDownloadToken(newToken, supplied(), ['', Buffer.alloc(0)], NOW)).toEqual(invalid);
    });
  });

  describe('signing rejects claims that could never verify', () => {
    it.each<[string, Partial<DownloadClaims>]>([
      ['bad extension', { extension: 'c.sv' }],
      ['empty extension', { extension: '' }],
      ['long extension', { extension: 'a'.repeat(17) }],
      ['bad target', { target: 'OTHER' as 'SCRIPT' }],
      ['fractional expiry', { expiresAt: 1.5 }],
      ['negative expiry', { expiresAt: -1 }],
      ['NaN expiry', { expiresAt: Number.NaN }],
      ['lone surrogate', { orgId: '\udc00' }],
      ['huge id', { issuerKeyId: 'x'.repeat(70_000) }],
    ])('%s', (_name, change) => {
      expect(() => signDownloadToken({ ...claims, ...change }, SECRET)).toThrow();
    });
    it('empty secret', () => {
      expect(() => signDownloadToken(claims, '')).toThrow();
    });
  });
});

describe('isValidExtension', () => {
  it.each(['csv', 'CSV', 'json', 'txt', 'a', '7z', 'abcdefghij123456'])('accepts %s', (s) => {
    expect(isValidExtension(s)).toBe(true);
  });
  it.each(['', 'abcdefghij1234567', 'c.sv', '.csv', 'csv ', 'c/s', 'ü', 'cs\nv', 'tar-gz'])('rejects %j', (s) => {
    expect(isValidExtension(s)).toBe(false);
  });
  it('rejects non-strings', () => {
    expect(isValidExtension(undefined)).toBe(false);
    expect(isValidExtension(12)).toBe(false);
  });
});
