import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout. Never log API keys, tokens or payloads. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'reel' },
    redact: { paths: ['req.headers.authorization', 'authorization', 'key', 'token'], censor: '[redacted]' },
  });
}
