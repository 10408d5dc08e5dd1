/** Progress of a long import: one updating line on a terminal, an occasional line otherwise. */
export interface ProgressOptions {
  /** Files smaller than this show no progress. Default 16 MiB. */
  minBytes?: number;
  /** Nothing is shown before the import has run this long. Default 1000 ms. */
  delayMs?: number;
  /** Minimum time between two reports. Default 200 ms on a terminal, 10 s otherwise. */
  intervalMs?: number;
}

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

export class ProgressLine {
  private readonly tty: boolean;
  private readonly started = Date.now();
  private last = 0;
  private shown = false;
  private readonly enabled: boolean;
  private readonly delayMs: number;
  private readonly intervalMs: number;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly label: string,
    private readonly totalBytes: number,
    options: ProgressOptions = {},
  ) {
    this.tty = (out as { isTTY?: boolean }).isTTY === true;
    this.enabled = totalBytes >= (options.minBytes ?? 16 * 1024 * 1024);
    this.delayMs = options.delayMs ?? 1000;
    this.intervalMs = options.intervalMs ?? (this.tty ? 200 : 10_000);
  }

  update(bytes: number, imported: number, skipped: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.started < this.delayMs || (this.shown && now - this.last < this.intervalMs)) return;
    this.last = now;
    this.shown = true;
    this.write(bytes, imported, skipped);
  }

  /** Ends the display: clears the terminal line, or prints a last line if any was printed. */
  done(bytes: number, imported: number, skipped: number): void {
    if (!this.shown) return;
    if (this.tty) this.out.write('\r\x1b[K');
    else this.write(bytes, imported, skipped);
  }

  private write(bytes: number, imported: number, skipped: number): void {
    const pct = this.totalBytes > 0 ? Math.min(100, Math.floor((bytes / this.totalBytes) * 100)) : 100;
    const line = `${this.label}: ${mib(bytes)} of ${mib(this.totalBytes)} (${pct}%), ${imported} session(s) imported, ${skipped} skipped`;
    this.out.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`);
  }
}
