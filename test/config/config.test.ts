import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ReelError } from '../../src/errors.ts';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(4000);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toMatch(/\/data$/);
    expect(c.publicUrl).toBe('http://localhost:4000');
    expect(c.downloadTtlSeconds).toBe(300);
    expect(c.maxInlineStreamBytes).toBe(8388608);
    expect(c.downloadSecrets).toEqual([]);
    expect(c.keyCacheSeconds).toBe(5);
    expect(c.dbPoolSize).toBe(20);
    expect(loadConfig({ REEL_DB_POOL_SIZE: '64' }).dbPoolSize).toBe(64);
    expect(loadConfig({ REEL_KEY_CACHE_SECONDS: '0' }).keyCacheSeconds).toBe(0);
    expect(loadConfig({}).maxSubscriptionsPerKey).toBe(100);
    expect(loadConfig({ REEL_MAX_SUBSCRIPTIONS_PER_KEY: '0' }).maxSubscriptionsPerKey).toBe(0);
  });

  it('keeps the public URL path prefix and takes rotation secrets', () => {
    const c = loadConfig({
      PORT: '8080',
      REEL_PUBLIC_URL: 'https://gw.example.com/reel/',
      REEL_DOWNLOAD_SECRET: 'a'.repeat(32),
      REEL_DOWNLOAD_OLD_SECRETS: `${'b'.repeat(32)}, ${'c'.repeat(32)}`,
    });
    expect(c.publicUrl).toBe('https://gw.example.com/reel');
    expect(c.downloadSecrets).toEqual(['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)]);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['REEL_PUBLIC_URL', 'not a url'],
    ['REEL_DOWNLOAD_SECRET', 'short'],
    ['REEL_DOWNLOAD_TTL_SECONDS', '0'],
    ['REEL_MAX_INLINE_STREAM_BYTES', '-1'],
    ['REEL_DB_POOL_SIZE', '0'],
    ['REEL_KEY_CACHE_SECONDS', '301'],
    ['REEL_KEY_CACHE_SECONDS', '-1'],
    ['REEL_MAX_SUBSCRIPTIONS_PER_KEY', 'many'],
    ['REEL_LOG_LEVEL', 'loud'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ReelError);
    expect(() => loadConfig({ [name]: value })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', details: { variable: name } }));
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
