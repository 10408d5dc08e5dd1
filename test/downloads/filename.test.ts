import { describe, expect, it } from 'vitest';
import { contentDisposition, downloadTimestamp, encodeRfc5987, safeRoleName } from '../../src/downloads/filename.ts';

const NOW = new Date(Date.UTC(2024, 6, 5, 3, 4, 9, 999));

/** The value of the quoted `filename` parameter. */
function plainName(header: string): string {
  const m = /^attachment; filename="([^"]*)"(?:; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+))?$/.exec(header);
  if (!m) throw new Error(`unexpected header: ${header}`);
  return m[1]!;
}

function extendedName(header: string): string | undefined {
  const m = /; filename\*=UTF-8''(.+)$/.exec(header);
  return m ? decodeURIComponent(m[1]!) : undefined;
}

describe('contentDisposition', () => {
  it('builds the spec shape with a UTC timestamp', () => {
    expect(contentDisposition('pg-prod', 'sess_1', 'csv', NOW)).toBe(
      'attachment; filename="pg-prod-sess_1-20240705-030409.csv"',
    );
  });

  it('uses UTC regardless of the Date’s local representation', () => {
    const d = new Date('2023-12-31T23:59:59.000-05:00'); // 2024-01-01T04:59:59Z
    expect(contentDisposition('db', 'x', 'json', d)).toBe('attachment; filename="db-x-20240101-045959.json"');
  });

  it('keeps dots, underscores and dashes', () => {
    expect(plainName(contentDisposition('my_role.v2-a', 'id', 'txt', NOW))).toBe('my_role.v2-a-id-20240705-030409.txt');
  });

  it('removes spaces and adds filename* for the original name', () => {
    const h = contentDisposition('pg prod', 'id1', 'csv', NOW);
    expect(plainName(h)).toBe('pgprod-id1-20240705-030409.csv');
    expect(h).toContain("filename*=UTF-8''pg%20prod-id1-20240705-030409.csv");
    expect(extendedName(h)).toBe('pg prod-id1-20240705-030409.csv');
  });

  it('removes quotes, backslashes, semicolons, CR/LF and path separators', () => {
    const h = contentDisposition('a"b\\c;d\r\ne/f/../g', 'id', 'csv', NOW);
    expect(plainName(h)).toBe('abcdef..g-id-20240705-030409.csv');
    // Header as a whole: a single line, no stray quotes beyond the two delimiters.
    expect(h).not.toMatch(/[\r\n]/);
    expect(h.split('"')).toHaveLength(3);
    const ext = extendedName(h)!;
    expect(ext).not.toMatch(/[/\\\r\n"]/);
    expect(ext).toBe('abc;def..g-id-20240705-030409.csv');
  });

  it('handles unicode role names', () => {
    const h = contentDisposition('Données-prod', 's1', 'csv', NOW);
    expect(plainName(h)).toBe('Donnes-prod-s1-20240705-030409.csv');
    expect(h).toContain("filename*=UTF-8''Donn%C3%A9es-prod-s1-20240705-030409.csv");
    expect(extendedName(h)).toBe('Données-prod-s1-20240705-030409.csv');
  });

  it('falls back to "session" when nothing safe is left', () => {
    const h = contentDisposition('数据库', 's1', 'csv', NOW);
    expect(plainName(h)).toBe('session-s1-20240705-030409.csv');
    expect(extendedName(h)).toBe('数据库-s1-20240705-030409.csv');
    expect(h).toContain('%E6%95%B0%E6%8D%AE%E5%BA%93');
  });

  it('empty role name → session, no filename*', () => {
    expect(contentDisposition('', 's1', 'csv', NOW)).toBe('attachment; filename="session-s1-20240705-030409.csv"');
    expect(contentDisposition('   ', 's1', 'csv', NOW)).toBe('attachment; filename="session-s1-20240705-030409.csv"');
    expect(contentDisposition('///', 's1', 'csv', NOW)).toBe('attachment; filename="session-s1-20240705-030409.csv"');
  });

  it('no filename* when the role name is already safe', () => {
    expect(contentDisposition('pg-prod', 's1', 'csv', NOW)).not.toContain('filename*');
    // ...or when only dropped characters differ (nothing extra to say).
    expect(contentDisposition('pg/prod', 's1', 'csv', NOW)).toBe('attachment; filename="pgprod-s1-20240705-030409.csv"');
  });

  it('strips bidi overrides and control characters from filename*', () => {
    const h = contentDisposition('é\u202Egpj.exe\u0007', 's1', 'txt', NOW);
    expect(extendedName(h)).toBe('égpj.exe-s1-20240705-030409.txt');
  });

  it('emoji (surrogate pairs) are encoded as UTF-8', () => {
    const h = contentDisposition('db😀', 's1', 'csv', NOW);
    expect(plainName(h)).toBe('db-s1-20240705-030409.csv');
    expect(h).toContain("filename*=UTF-8''db%F0%9F%98%80-s1");
  });

  it('sanitises the session id and extension too', () => {
    const h = contentDisposition('r', 'a/"b;\r\n', 'c"s;v', NOW);
    expect(plainName(h)).toBe('r-ab-20240705-030409.csv');
  });

  it('caps very long role names', () => {
    const h = contentDisposition('r'.repeat(5000), 's1', 'csv', NOW);
    expect(plainName(h).length).toBeLessThan(200);
  });

  it('the header only ever contains printable ASCII', () => {
    const inputs = ['a"b', 'ü', '\u0000', '\u2028x', 'x\ud800y', '; filename="evil.exe"', '%41', "it's"];
    for (const role of inputs) {
      const h = contentDisposition(role, 'id', 'csv', NOW);
      expect(h).toMatch(/^[\x20-\x7e]+$/);
      expect(() => plainName(h)).not.toThrow();
    }
  });

  it('percent-encodes a literal percent sign in filename*', () => {
    const h = contentDisposition('100%', 's', 'csv', NOW);
    expect(plainName(h)).toBe('100-s-20240705-030409.csv');
    expect(h).toContain("filename*=UTF-8''100%25-s");
  });
});

describe('helpers', () => {
  it('downloadTimestamp pads every field', () => {
    expect(downloadTimestamp(new Date(Date.UTC(2001, 0, 2, 3, 4, 5)))).toBe('20010102-030405');
    expect(() => downloadTimestamp(new Date(Number.NaN))).toThrow(RangeError);
  });
  it('encodeRfc5987 keeps attr-chars only', () => {
    expect(encodeRfc5987("a b'*()%;,\"é!#$&+-.^_`|~")).toBe("a%20b%27%2A%28%29%25%3B%2C%22%C3%A9!#$&+-.^_`|~");
  });
  it('safeRoleName', () => {
    expect(safeRoleName('x y')).toBe('xy');
    expect(safeRoleName('')).toBe('session');
  });
});
