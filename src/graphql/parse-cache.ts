import { LRUCache } from 'lru-cache';

/**
 * A cache for yoga's parser (documents and parse errors, keyed by the document's text), bounded by
 * the text it holds rather than by entries: yoga's default keeps 1,024 of each whatever their size,
 * and a document may be as large as a request (tens of MB), so a client sending large distinct
 * documents — no key is needed to be parsed — could make the server hold gigabytes (found by the
 * fuzz run, docs/fuzz.md). Documents over `maxDocument` characters are parsed each time; the
 * cached ones total at most `maxTotal` characters. A parsed tree takes far more memory than its
 * text — every token becomes nodes with locations, on the order of 100 bytes per character for a
 * document of one-letter fields — so the bound on text is small: 512 Ki characters, tens of MB of
 * trees at worst, and hundreds of everyday queries (a few hundred characters each).
 */
export function boundedParseCache<T extends object>(maxTotal = 512 * 1024, maxDocument = 16 * 1024) {
  const cache = new LRUCache<string, T>({ maxSize: maxTotal, sizeCalculation: (_value, key) => Math.max(1, key.length), ttl: 3_600_000 });
  return {
    get: (document: string): T | undefined => cache.get(document),
    set(document: string, value: T): void {
      if (document.length <= maxDocument) cache.set(document, value);
    },
    /** Characters of document text held (for tests). */
    get size(): number {
      return cache.calculatedSize;
    },
  };
}
