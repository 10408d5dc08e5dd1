import { PgFrontendParser } from '../pgwire/index.ts';
import { EventClock, utf8Decoder } from '../render/common.ts';
import { readStored, StoredGuardrails } from '../sessions/stored-shapes.ts';
import { readEventBatches } from '../sessions/read-events.ts';

/*
 * The viewer page (spec §14), rendered on the server and streamed: the session's attributes, then
 * its recording. A terminal session is played by asciinema-player (view.js loads it from the
 * segmented recording's signed index); a Postgres session is its transcript, each query with its
 * time beside the output that followed it, written here as the stream is read. The page runs no
 * inline script: view.js reads what it needs from a JSON data element.
 */

/** The session as the page shows it. */
export interface ViewedSession {
  id: string;
  roleName: string;
  type: string;
  connectionSubtype: string | null;
  verb: 'EXEC' | 'CONNECT';
  status: string;
  userId: string | null;
  userName: string | null;
  userEmail: string | null;
  resourceName: string | null;
  startDate: Date;
  endDate: Date | null;
  exitCode: number | null;
  script: string | null;
  guardrailsInfo: unknown;
  review: { type: string; status: string; groups: { group: string; status: string }[] } | null;
}

/** What the page links to: signed links with the page's own expiry (view/route.ts). */
export interface PageLinks {
  /** The segmented recording's index, for terminal sessions. */
  recording?: string;
  /** Downloads of the whole stream. */
  downloads: { label: string; url: string }[];
  expiresAt: Date;
}

/** Rows of a transcript shown on the page; the rest is in the downloads. */
export const TRANSCRIPT_ROWS = 2000;
/** Output bytes shown per query. */
export const TRANSCRIPT_OUTPUT_BYTES = 64 * 1024;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** Where the page's assets are, relative to /sessions/:id/view (the page works behind any base URL). */
const ASSETS = '../../view/assets';

/** The document around a body: reel's stylesheet, and view.js when the page plays something. */
export function document(title: string, body: string, options: { script?: boolean } = {}): string {
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${escapeHtml(title)}</title>` +
    `<link rel="stylesheet" href="${ASSETS}/view.css">` +
    (options.script
      ? `<link rel="stylesheet" href="${ASSETS}/asciinema-player.css">` +
        `<script src="${ASSETS}/asciinema-player.min.js" defer></script><script src="${ASSETS}/view.js" defer></script>`
      : '') +
    `</head><body>${body}</body></html>\n`
  );
}

export const isPostgresSession = (s: Pick<ViewedSession, 'type' | 'connectionSubtype'>): boolean =>
  s.connectionSubtype === 'postgres' || s.type === 'postgres';

function attributes(session: ViewedSession): string {
  const user = [session.userName, session.userEmail, session.userId].filter((v) => v).join(' · ');
  const review = session.review
    ? `${session.review.type} · ${session.review.status}` +
      session.review.groups.map((g) => ` · ${g.group}: ${g.status}`).join('')
    : 'none';
  const guardrails = readStored(StoredGuardrails, session.guardrailsInfo) ?? [];
  const rows: [string, string, string?][] = [
    ['Role', session.roleName],
    ['Type', [session.type, session.connectionSubtype, session.verb].filter((v) => v).join(' · ')],
    ['User', user || 'unknown'],
    ['Status', session.status, `status-${session.status.toLowerCase()}`],
    ['Started', session.startDate.toISOString()],
    ['Ended', session.endDate?.toISOString() ?? 'not yet'],
    ['Exit code', session.exitCode === null ? 'none' : String(session.exitCode)],
    ['Review', review],
    [
      'Guardrails',
      guardrails.length === 0 ? 'none matched' : guardrails.map((g) => `${g.rule_name} (${g.direction})${g.message ? `: ${g.message}` : ''}`).join('; '),
      guardrails.length === 0 ? undefined : 'blocked',
    ],
  ];
  if (session.resourceName) rows.splice(2, 0, ['Resource', session.resourceName]);
  return (
    '<dl class="attributes">' +
    rows.map(([name, value, cls]) => `<div${cls ? ` class="${cls}"` : ''}><dt>${name}</dt><dd>${escapeHtml(value)}</dd></div>`).join('') +
    '</dl>'
  );
}

function header(session: ViewedSession, links: PageLinks): string {
  const downloads = links.downloads.map((d) => `<a href="${escapeHtml(d.url)}">${escapeHtml(d.label)}</a>`).join(' ');
  return (
    `<header><h1>${escapeHtml(session.roleName)}</h1><p class="id">${escapeHtml(session.id)}</p></header>` +
    attributes(session) +
    `<p class="downloads">Download: ${downloads} <span class="expiry">(links valid until ${links.expiresAt.toISOString()})</span></p>`
  );
}

/** The page of a session, streamed: attributes first, then its recording as it is read. */
export async function* renderViewPage(session: ViewedSession, links: PageLinks): AsyncGenerator<string> {
  const title = `${session.roleName} · reel`;
  const script = session.script === null ? '' : `<section><h2>Script</h2><pre class="script">${escapeHtml(session.script)}</pre></section>`;
  if (!isPostgresSession(session)) {
    const data = JSON.stringify({ recording: links.recording }).replace(/</g, '\\u003c');
    yield document(
      title,
      `<main>${header(session, links)}${script}<section><h2>Recording</h2>` +
        '<div class="controls"><label>Speed <select id="speed"><option>0.5</option><option selected>1</option><option>2</option><option>4</option><option>8</option></select></label></div>' +
        `<div id="player"></div><script type="application/json" id="view-data">${data}</script></section></main>`,
      { script: true },
    );
    return;
  }
  // The transcript streams between the two halves of the document.
  const [head, tail] = document(title, '\u0000').split('\u0000') as [string, string];
  yield `${head}<main>${header(session, links)}${script}<section><h2>Queries</h2><table class="transcript"><thead><tr><th>Time</th><th>Query</th><th>Output</th></tr></thead><tbody>`;
  yield* transcriptRows(session);
  yield `</tbody></table></section></main>${tail}`;
}

/**
 * The rows of a Postgres session's transcript: each query (§5 for CONNECT, each input event for
 * EXEC) with its time, then the output and errors recorded until the next one. At most
 * TRANSCRIPT_ROWS rows and TRANSCRIPT_OUTPUT_BYTES of output each are shown.
 */
async function* transcriptRows(session: ViewedSession): AsyncGenerator<string> {
  const clock = new EventClock(session.startDate.getTime());
  const parser = session.verb === 'CONNECT' ? new PgFrontendParser() : undefined;
  let rows = 0;
  let output: Uint8Array[] = [];
  let outputBytes = 0;
  let cut = false;
  let pending = '';
  const flush = (): string => {
    if (!pending) return '';
    const text = utf8Decoder().decode(Buffer.concat(output));
    const row = `${pending}<td><pre>${escapeHtml(text)}${cut ? '<span class="cut">… (cut: see the downloads)</span>' : ''}</pre></td></tr>`;
    pending = '';
    output = [];
    outputBytes = 0;
    cut = false;
    return row;
  };
  const start = (time: number, sql: Uint8Array): string => {
    const before = flush();
    rows++;
    const at = `<time datetime="${clock.iso(time)}">${time.toFixed(3)} s</time>`;
    pending = `<tr><td class="time">${at}</td><td><pre class="sql">${escapeHtml(utf8Decoder().decode(sql))}</pre></td>`;
    return before;
  };
  for await (const batch of readEventBatches(session.id)) {
    let html = '';
    for (const e of batch) {
      if (e.type === 'i') {
        const queries = parser ? parser.push(e.data, e.time) : e.data.length > 0 ? [{ time: e.time, sql: e.data }] : [];
        for (const q of queries) {
          if (rows >= TRANSCRIPT_ROWS) {
            yield html + flush() + `<tr><td colspan="3" class="cut">Only the first ${TRANSCRIPT_ROWS} queries are shown: see the downloads.</td></tr>`;
            return;
          }
          html += start(q.time, q.sql);
        }
      } else if (pending) {
        const room = TRANSCRIPT_OUTPUT_BYTES - outputBytes;
        if (e.data.length > room) cut = true;
        const kept = e.data.subarray(0, Math.max(0, room));
        if (kept.length > 0) {
          output.push(kept.slice());
          outputBytes += kept.length;
        }
      }
    }
    if (html) yield html;
  }
  for (const q of parser?.end() ?? []) {
    if (rows < TRANSCRIPT_ROWS) yield start(q.time, q.sql);
  }
  yield flush();
  if (rows === 0) yield '<tr><td colspan="3">No queries were recorded.</td></tr>';
}

/** A refusal (§14: like the download route's, as a small page). */
export function refusalPage(status: number, message: string): string {
  return document(`${status} · reel`, `<main class="refusal"><h1>${status}</h1><p>${escapeHtml(message)}</p></main>`);
}
