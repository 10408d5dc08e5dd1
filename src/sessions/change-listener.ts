import pg from 'pg';
import type { Database } from '../db/index.ts';
import type { Logger } from '../logger.ts';
import { CHANGES_CHANNEL, parseChange, type SessionChange } from './changes.ts';

/** What a part of the server does with the database's change notifications. */
export interface ChangeHandler {
  /** A session changed (sessions/changes.ts). */
  changed(change: SessionChange): void;
  /** Notifications may have been missed (the listener reconnected): read again whatever is followed. */
  missed(): void;
}

/**
 * The one place a server process hears of changes: it LISTENs once, on a connection of its own
 * (PostgreSQL) or in process (PGlite), and hands each notification to every handler (live
 * subscriptions, the search indexer).
 */
/** Where notifications come from. */
interface ChangeSource {
  close(): Promise<void>;
}

export class ChangeListener {
  private readonly handlers: ChangeHandler[] = [];
  private source: ChangeSource | undefined;

  private constructor() {}

  static async start(db: Database, databaseUrl: string | undefined, logger: Logger): Promise<ChangeListener> {
    const listener = new ChangeListener();
    const changed = (change: SessionChange) => {
      for (const handler of listener.handlers) handler.changed(change);
    };
    const missed = () => {
      for (const handler of listener.handlers) handler.missed();
    };
    listener.source = db.pglite ? await pgliteSource(db, changed) : await postgresSource(databaseUrl!, changed, missed, logger);
    return listener;
  }

  add(handler: ChangeHandler): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    this.handlers.length = 0;
    await this.source?.close();
  }
}

async function pgliteSource(db: Database, onChange: (change: SessionChange) => void): Promise<ChangeSource> {
  const unlisten = await db.pglite!.listen(CHANGES_CHANNEL, (payload) => {
    const change = parseChange(payload);
    if (change) onChange(change);
  });
  return { close: () => unlisten() };
}

/**
 * A connection of its own that LISTENs (a pooled one would be handed to others); when it is lost,
 * it reconnects (after a second, then up to 10) and every handler reads again, since notifications
 * sent meanwhile never arrive.
 */
async function postgresSource(
  databaseUrl: string,
  onChange: (change: SessionChange) => void,
  onReconnect: () => void,
  logger: Logger,
): Promise<ChangeSource> {
  let client: pg.Client | undefined;
  let closing = false;
  let retry: NodeJS.Timeout | undefined;
  let delay = 1000;
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: databaseUrl });
    next.on('notification', (message) => {
      const change = message.channel === CHANGES_CHANNEL && message.payload ? parseChange(message.payload) : undefined;
      if (change) onChange(change);
    });
    next.on('error', () => {}); // 'end' follows and reconnects
    next.on('end', () => {
      if (closing || client !== next) return;
      client = undefined;
      logger.warn('lost the connection listening for changes; reconnecting');
      reconnect();
    });
    await next.connect();
    await next.query(`LISTEN ${CHANGES_CHANNEL}`);
    client = next;
  };
  const reconnect = () => {
    retry = setTimeout(() => {
      connect().then(
        () => {
          delay = 1000;
          onReconnect();
        },
        () => {
          delay = Math.min(10_000, delay * 2);
          reconnect();
        },
      );
    }, delay);
    retry.unref();
  };
  await connect();
  return {
    async close() {
      closing = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}
