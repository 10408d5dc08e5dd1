import { prisma } from '../db/client.ts';
import { keyRevoked, notFound, tooManySubscriptions, type ReelError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ChangeListener } from '../sessions/change-listener.ts';
import type { SessionChange } from '../sessions/changes.ts';
import type { ChunkKey, PageLimit } from '../sessions/chunk-storage.ts';
import { readTails, type SessionTail } from '../sessions/tails.ts';

/*
 * The live side of a server process (spec §13): which sessions its subscribers follow, and what
 * wakes them.
 *
 * A subscriber first reads the stored events on its own, a page at a time as its client takes
 * them (catch-up). Once it has read all there is, it attaches to its session's feed: one per
 * session per process, however many subscribers follow it. When the database announces a change
 * of a followed session (a notification sent by the committing statement; see sessions/changes.ts),
 * the feed reads the new chunks once and hands them to each of its subscribers. Feeds that have
 * something to read are read together, in one statement per round, so that many busy sessions cost
 * a few reads rather than one per append and subscriber.
 *
 * A subscriber that does not keep up (its client reads slower than the session grows) holds at most
 * LIVE_BACKLOG_BYTES: past that the feed lets go of it, and it goes back to reading from the database
 * at its client's pace, from where it was. The server's memory thus stays bounded by the number of
 * subscriptions, whatever their clients do.
 */

/** What one read of a feed (or a catch-up page) takes at most. */
export const READ_LIMIT: PageLimit = { chunks: 1024, bytes: 1024 * 1024 };
/** Chunks a subscriber may hold unsent before its feed lets go of it. */
export const LIVE_BACKLOG_BYTES = 4 * 1024 * 1024;
/** Feeds read in one round. */
const FEEDS_PER_ROUND = 32;

/** What a feed needs of a subscriber. */
export interface LiveSubscriber {
  readonly sessionId: string;
  readonly keyId: string;
  /** The last chunk it holds (undefined: none). */
  readonly after: ChunkKey | undefined;
  /**
   * New chunks (possibly some it already holds) as one read saw them, with the session's status,
   * and whether every event is in them now the session is done; false when it will not take them
   * (too much unsent): it is detached then.
   */
  offer(tail: SessionTail, done: boolean): boolean;
  /** Ends the subscription with an error (its key revoked, its session gone). */
  fail(error: ReelError): void;
  /** Completes the subscription (the server is stopping). */
  end(): void;
}

interface Feed {
  sessionId: string;
  /** The last chunk read. */
  after: ChunkKey | undefined;
  /** One past the last event read. */
  events: number;
  subscribers: Set<LiveSubscriber>;
}

const compareKeys = (a: ChunkKey | undefined, b: ChunkKey | undefined): number => {
  const x = a ?? { sequence: -1, part: -1 };
  const y = b ?? { sequence: -1, part: -1 };
  return x.sequence - y.sequence || x.part - y.part;
};
export const isAfter = (a: ChunkKey | undefined, b: ChunkKey | undefined): boolean => compareKeys(a, b) > 0;

export interface LiveOptions {
  /** Live subscriptions one API key may hold on this server; 0: no limit. */
  maxPerKey: number;
  /** How often the keys of live subscriptions are checked for revocation. */
  keyCheckMs: number;
}

export class LiveHub {
  private readonly feeds = new Map<string, Feed>();
  private readonly dirty = new Set<Feed>();
  private reading = false;
  private readonly byKey = new Map<string, Set<LiveSubscriber>>();
  private keyTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly options: LiveOptions,
    private readonly logger: Logger,
  ) {}

  /** Follows the database's change notifications. */
  static start(changes: ChangeListener, options: LiveOptions, logger: Logger): LiveHub {
    const hub = new LiveHub(options, logger);
    changes.add({ changed: (change) => hub.changed(change), missed: () => hub.resync() });
    return hub;
  }

  /**
   * Registers a subscription; false when the server is stopping. Throws RATE_LIMITED when its key
   * holds as many as allowed.
   */
  register(subscriber: LiveSubscriber): boolean {
    if (this.closed) return false;
    let mine = this.byKey.get(subscriber.keyId);
    if (this.options.maxPerKey > 0 && (mine?.size ?? 0) >= this.options.maxPerKey) throw tooManySubscriptions(this.options.maxPerKey);
    if (!mine) this.byKey.set(subscriber.keyId, (mine = new Set()));
    mine.add(subscriber);
    this.keyTimer ??= setInterval(() => void this.checkKeys(), this.options.keyCheckMs).unref();
    return true;
  }

  /** Forgets a subscription that ended. */
  unregister(subscriber: LiveSubscriber): void {
    this.detach(subscriber);
    const mine = this.byKey.get(subscriber.keyId);
    mine?.delete(subscriber);
    if (mine?.size === 0) this.byKey.delete(subscriber.keyId);
    if (this.byKey.size === 0 && this.keyTimer) {
      clearInterval(this.keyTimer);
      this.keyTimer = undefined;
    }
  }

  /** Live subscriptions (of one key, or all). */
  subscriptions(keyId?: string): number {
    if (keyId !== undefined) return this.byKey.get(keyId)?.size ?? 0;
    let n = 0;
    for (const set of this.byKey.values()) n += set.size;
    return n;
  }

  /** Sessions followed, and subscriptions attached to their feeds (the others are catching up). */
  following(): { sessions: number; subscriptions: number } {
    let subscriptions = 0;
    for (const feed of this.feeds.values()) subscriptions += feed.subscribers.size;
    return { sessions: this.feeds.size, subscriptions };
  }

  /**
   * Attaches a subscriber that has read all there was to its session's feed; false when the feed
   * has read further than it (the subscriber reads on by itself, then attaches again).
   */
  attach(subscriber: LiveSubscriber, events: number): boolean {
    let feed = this.feeds.get(subscriber.sessionId);
    if (feed && isAfter(feed.after, subscriber.after)) return false;
    if (!feed) {
      feed = { sessionId: subscriber.sessionId, after: subscriber.after, events, subscribers: new Set() };
      this.feeds.set(feed.sessionId, feed);
      // A change committed after the subscriber's read may have been announced before the feed
      // existed: read once now.
      this.markDirty(feed);
    }
    feed.subscribers.add(subscriber);
    return true;
  }

  detach(subscriber: LiveSubscriber): void {
    const feed = this.feeds.get(subscriber.sessionId);
    if (!feed?.subscribers.delete(subscriber) || feed.subscribers.size > 0) return;
    this.feeds.delete(feed.sessionId);
    this.dirty.delete(feed);
  }

  /**
   * Completes every subscription and stops listening; resolves once every subscription has sent
   * its completion (or a second has passed).
   */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const set of [...this.byKey.values()]) for (const subscriber of [...set]) subscriber.end();
      if (this.keyTimer) clearInterval(this.keyTimer);
    }
    for (let waited = 0; this.byKey.size > 0 && waited < 1000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    // Their transports write the completion after the subscription lets go.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  private changed(change: SessionChange): void {
    const feed = this.feeds.get(change.sessionId);
    // A close leaves the count as it was: `>=` wakes the feed for it.
    // A deleted session's feed reads nothing, and its subscribers end with NOT_FOUND.
    if (feed && (change.deleted || change.eventCount >= feed.events)) this.markDirty(feed);
  }

  /** Notifications may have been missed (the listener reconnected): every feed reads again. */
  private resync(): void {
    for (const feed of this.feeds.values()) this.markDirty(feed);
  }

  private markDirty(feed: Feed): void {
    this.dirty.add(feed);
    if (this.reading) return;
    this.reading = true;
    // Changes announced in the same turn share a round.
    setImmediate(() => void this.readRounds());
  }

  private async readRounds(): Promise<void> {
    try {
      while (this.dirty.size > 0 && !this.closed) {
        const feeds = [...this.dirty].slice(0, FEEDS_PER_ROUND);
        for (const feed of feeds) this.dirty.delete(feed);
        try {
          await this.readRound(feeds);
        } catch (err) {
          // A failed read (the database restarting): try again shortly, nothing is lost.
          this.logger.warn({ err }, 'live sessions: reading new events failed; retrying');
          for (const feed of feeds) if (this.feeds.get(feed.sessionId) === feed) this.dirty.add(feed);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    } finally {
      this.reading = false;
    }
  }

  private async readRound(feeds: Feed[]): Promise<void> {
    const tails = await readTails(
      feeds.map((f) => ({ sessionId: f.sessionId, after: f.after })),
      READ_LIMIT,
    );
    feeds.forEach((feed, k) => {
      if (this.feeds.get(feed.sessionId) !== feed) return; // its last subscriber left meanwhile
      const tail = tails[k];
      if (!tail) {
        for (const subscriber of [...feed.subscribers]) subscriber.fail(notFound('session not found'));
        return;
      }
      const last = tail.chunks.at(-1);
      if (last) {
        feed.after = { sequence: last.sequence, part: last.part };
        feed.events = last.firstEvent + last.eventCount;
      }
      const done = tail.status === 'DONE' && feed.events >= tail.eventCount;
      for (const subscriber of [...feed.subscribers]) {
        if (!subscriber.offer(tail, done)) this.detach(subscriber);
      }
      if (done) {
        this.feeds.delete(feed.sessionId);
      } else if (tail.cut) {
        this.markDirty(feed);
      }
    });
  }

  /** Ends the subscriptions of keys revoked (or deleted) since they started. */
  private async checkKeys(): Promise<void> {
    const ids = [...this.byKey.keys()];
    if (ids.length === 0) return;
    try {
      const valid = await prisma().apiKey.findMany({ where: { id: { in: ids }, revokedAt: null }, select: { id: true } });
      const kept = new Set(valid.map((k) => k.id));
      for (const id of ids) {
        if (kept.has(id)) continue;
        for (const subscriber of [...(this.byKey.get(id) ?? [])]) subscriber.fail(keyRevoked());
      }
    } catch (err) {
      this.logger.warn({ err }, 'live sessions: checking keys failed');
    }
  }
}
