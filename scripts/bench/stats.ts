/** Summary statistics over repeated measurements (nearest-rank percentiles). */

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(values: readonly number[]): Summary {
  return { n: values.length, median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

export const MiB = 1024 * 1024;
/** MB/s in decimal megabytes, as the issue states throughput. */
export const mbPerSec = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

/**
 * Runs two measurements back to back, the first one first in even repeats and second in odd ones,
 * so that neither always runs on a warmer or cooler machine.
 */
export async function inAlternateOrder(repeat: number, a: () => Promise<void>, b: () => Promise<void>): Promise<void> {
  for (const run of repeat % 2 === 0 ? [a, b] : [b, a]) await run();
}
