import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

/*
 * Browsers on other origins (issue #14): by default none may call the API (no CORS headers at all;
 * yoga's own default reflected any origin, with credentials); REEL_CORS_ORIGINS lists those that
 * may, never with credentials. Every answer carries the security headers.
 */

let plain: TestApp;
let listed: TestApp;

beforeAll(async () => {
  plain = await startTestApp();
  listed = await startTestApp({ REEL_CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' });
});

afterAll(async () => {
  await plain?.close();
  await listed?.close();
});

const preflight = (app: TestApp, origin: string) =>
  fetch(`${app.url}/graphql`, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
  });

const post = (app: TestApp, origin: string) =>
  fetch(`${app.url}/graphql`, { method: 'POST', headers: { Origin: origin, 'Content-Type': 'application/json' }, body: '{"query":"{ __typename }"}' });

const cors = (res: Response) =>
  Object.fromEntries([...res.headers.entries()].filter(([name]) => name.startsWith('access-control-')));

describe('CORS', () => {
  it('by default answers no other origin', async () => {
    expect(cors(await preflight(plain, 'https://evil.example'))).toEqual({});
    const res = await post(plain, 'https://evil.example');
    expect(cors(res)).toEqual({});
  });

  it('answers the listed origins, without credentials, and no other', async () => {
    const res = await preflight(listed, 'https://app.example.com');
    expect(cors(res)).toEqual({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'Authorization, Content-Type, Accept',
      'access-control-max-age': '600',
    });
    expect(res.headers.get('vary')).toContain('Origin');
    expect(cors(await post(listed, 'http://localhost:5173'))).toMatchObject({ 'access-control-allow-origin': 'http://localhost:5173' });
    for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', 'null', 'https://APP.example.com:443']) {
      expect(cors(await preflight(listed, origin)), origin).toEqual({});
      expect(cors(await post(listed, origin)), origin).toEqual({});
    }
  });

  it('refuses a malformed list at start', () => {
    for (const value of ['app.example.com', 'https://app.example.com/', 'https://app.example.com/path', 'ftp://x.example', '*']) {
      expect(() => loadConfig({ REEL_CORS_ORIGINS: value }), value).toThrow(/REEL_CORS_ORIGINS/);
    }
  });
});

describe('security headers', () => {
  it('are on every answer', async () => {
    for (const path of ['/healthz', '/graphql', '/nothing-here', '/api/sessions/x/download?token=y']) {
      const res = await fetch(`${plain.url}${path}`, path === '/graphql' ? { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"query":"{ __typename }"}' } : {});
      expect(
        { nosniff: res.headers.get('x-content-type-options'), frame: res.headers.get('x-frame-options'), referrer: res.headers.get('referrer-policy') },
        path,
      ).toEqual({ nosniff: 'nosniff', frame: 'DENY', referrer: 'no-referrer' });
    }
  });
});
