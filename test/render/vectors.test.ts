import { describe, expect, it } from 'vitest';
import { csvField } from '../../src/render/csv.ts';
import { renderCsvFile, renderDownload } from '../../src/render/files.ts';
import {
  computeEventSize,
  computeRawQueriesSize,
  renderInline,
  renderRawQueries,
  type InlineFormat,
  type QueryRecord,
} from '../../src/render/inline.ts';
import type { SessionEvent } from '../../src/sessions/event.ts';
import { vectors } from '../support/vectors.ts';
import { b64, batched, collect, collectText, ev, NO_CAP, source, utf8 } from './helpers.ts';

const eventsOf = (s: (typeof vectors.sessions)[number]): SessionEvent[] =>
  s.events.map(([time, type, data]) => ({ time, type, data: b64(data) }));

describe('vectors.json renderings', () => {
  for (const s of vectors.sessions) {
    for (const r of s.renderings) {
      it(`${s.name}: ${r.format} events=${JSON.stringify(r.events)}`, async () => {
        const events = eventsOf(s);
        if (r.format === 'RAW_QUERIES') {
          // The wire-protocol parser lives in src/pgwire; here the queries it reports are fed in.
          // EXEC: every non-empty `i` event is one query (§4.3), exactly what this derives.
          const queries: QueryRecord[] =
            s.verb === 'EXEC'
              ? events.filter((e) => e.type === 'i' && e.data.length > 0).map((e) => ({ time: e.time, sql: e.data }))
              : (r.eventStream as [number, string, string][]).map(([time, , sql]) => ({ time, sql: b64(sql) }));
          expect(await renderRawQueries(source(queries), { maxBytes: NO_CAP })).toEqual(r.eventStream);
          expect(await computeRawQueriesSize(source(queries))).toBe(r.eventSize);
          return;
        }
        const format = r.format as InlineFormat;
        expect(await renderInline(format, source(events), { types: r.events, maxBytes: NO_CAP })).toEqual(r.eventStream);
        expect(await computeEventSize(format, source(events), r.events)).toBe(r.eventSize);
        // A Set selects the same as a list.
        if (r.events) expect(await computeEventSize(format, source(events), new Set(r.events))).toBe(r.eventSize);
      });
    }
  }
});

describe('vectors.json downloads', () => {
  for (const s of vectors.sessions) {
    for (const d of s.downloads ?? []) {
      it(`${s.name}: .${d.extension} events=${JSON.stringify(d.events)} newline=${d.newline} eventTime=${d.eventTime}`, async () => {
        const { body } = renderDownload(d.extension, batched(eventsOf(s)), new Date(s.startDate), {
          types: d.events,
          newline: d.newline,
          eventTime: d.eventTime,
        });
        const bytes = await collect(body);
        if (d.json !== undefined) expect(JSON.parse(Buffer.from(bytes).toString('utf8'))).toEqual(d.json);
        else expect(Buffer.from(bytes).toString('base64')).toBe(d.bytes);
      });
    }
  }

  it('JSON is the compact text of §6, keys in order time, type, stream', async () => {
    const s = vectors.sessions[0]!;
    const text = await collectText(renderDownload('json', batched(eventsOf(s)), new Date(s.startDate)).body);
    expect(text).toBe(
      '[{"time":"2024-07-25T15:56:35.817Z","type":"o","stream":"col1\\tcol2\\n1\\t2\\n(1 row)\\n"},' +
        '{"time":"2024-07-25T15:56:37.017Z","type":"e","stream":"ERROR: x\\n"}]',
    );
  });
});

describe('vectors.json csvFields', () => {
  for (const [input, output] of Object.entries(vectors.csvFields)) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(output)}`, async () => {
      expect(csvField(input)).toBe(output);
      // And as the only field of a line in a file.
      const text = await collectText(renderCsvFile(batched([ev(0, 'o', utf8(input))]), new Date(0)));
      expect(text).toBe(`${output}\r\n`);
    });
  }
});
