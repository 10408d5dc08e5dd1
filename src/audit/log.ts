import { queryRows } from '../sessions/chunk-storage.ts';
import type { Logger } from '../logger.ts';
import { auditDropped, auditWriteFailures } from '../metrics.ts';
import { auditInsert, type AuditEntry } from './audit.ts';

/*
 * Audit events of reads and links (spec §15: STREAM_READ, LINK_ISSUED, LINK_USED, LINK_REFUSED),
 * written in batches off the request's path: a request only queues its event (with its time), and
 * the queue is stored every FLUSH_MS, or at once when FLUSH_AT are waiting, in one INSERT. A batch
 * that fails is logged as an error, counted (reel_audit_write_failures_total) and kept at the front of
 * the queue to be tried again; only beyond MAX_QUEUED waiting events are new ones refused, each
 * logged and counted (reel_audit_events_dropped_total). A server that stops stores the queue first.
 */

const FLUSH_MS = 200;
const FLUSH_AT = 500;
const MAX_QUEUED = 100_000;
const RETRY_MS = 1000;

class AuditLog {
  private queue: AuditEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private retryAt = 0;

  constructor(private logger: Logger | undefined) {}

  useLogger(logger: Logger): void {
    this.logger = logger;
  }

  record(entry: AuditEntry): void {
    if (this.queue.length >= MAX_QUEUED) {
      auditDropped.inc();
      this.logger?.error({ action: entry.action, sessionId: entry.sessionId, orgId: entry.orgId }, 'audit event dropped: the queue of unwritten events is full');
      return;
    }
    this.queue.push({ ...entry, time: entry.time ?? new Date() });
    // A full batch goes at once, unless the last write failed: then the retry's timer decides.
    if (this.queue.length >= FLUSH_AT && Date.now() >= this.retryAt) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), Math.max(FLUSH_MS, this.retryAt - Date.now()));
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Stores what is queued (one attempt per batch while the database answers). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing ??= this.write().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.timer ??= setTimeout(() => void this.flush(), Math.max(FLUSH_MS, this.retryAt - Date.now()));
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, FLUSH_AT);
      try {
        await queryRows(...auditInsert(batch));
      } catch (err) {
        auditWriteFailures.inc(batch.length);
        this.logger?.error({ err, events: batch.length, waiting: this.queue.length + batch.length }, 'audit events could not be written; they are kept and retried');
        this.queue.unshift(...batch);
        this.retryAt = Date.now() + RETRY_MS;
        return;
      }
    }
  }
}

const log = new AuditLog(undefined);

/** Queues a read or link event for the next batch. */
export function recordAudit(entry: AuditEntry): void {
  log.record(entry);
}

/** Where the audit log reports failures (the running server's logger). */
export function useAuditLogger(logger: Logger): void {
  log.useLogger(logger);
}

/** Stores the events queued so far (a server stopping; tests reading the trail). */
export function flushAudit(): Promise<void> {
  return log.flush();
}

/** Events queued and not yet stored. */
export const auditWaiting = (): number => log.waiting;
