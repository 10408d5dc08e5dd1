import { prisma } from '../db/client.ts';
import { notFound } from '../errors.ts';
import {
  isObject,
  type JsonObject,
  readStored,
  StoredAIAnalysis,
  StoredAIAnalysisStep,
  StoredGuardrail,
  StoredGuardrailRule,
  StoredGuardrails,
  StoredMetrics,
  StoredReviewer,
} from '../sessions/stored-shapes.ts';
import { readEvents } from '../sessions/read-events.ts';
import { queryRows } from '../sessions/chunk-storage.ts';
import { CHAIN_ALGORITHM } from '../integrity/chain.ts';
import { sessionChain, type ChainColumns } from '../integrity/session-chain.ts';
import { isUuid } from '../uuid.ts';

/*
 * `reel export`: a JSON array of sessions in the shape of hoop's
 * `GET /api/sessions/:id?expand=event_stream,session_input` (docs/api.md §11.1), which
 * `reel import` reads back. Keys in hoop's order; JSON maps (metadata, metrics, …) with their keys
 * sorted as Go prints them; event_stream as raw [time, type, base64] tuples; event_size and
 * metrics.event_size in reel's meaning (payload bytes); review.access_duration in nanoseconds.
 * Written session by session and event by event, waiting for the output to drain, so memory stays
 * bounded whatever the sessions' size.
 */

export async function exportSessions(ids: string[], orgId: string, out: NodeJS.WritableStream): Promise<void> {
  // Every id is checked before the first byte is written: a failed export writes nothing.
  const wanted = ids.filter(isUuid).map((id) => id.toLowerCase());
  const found = await prisma().session.findMany({ where: { orgId, id: { in: wanted } }, select: { id: true } });
  const present = new Set(found.map((s) => s.id));
  const missing = ids.find((id) => !isUuid(id) || !present.has(id.toLowerCase()));
  if (missing !== undefined) throw notFound(`session ${missing} not found`);

  const sink = new Sink(out);
  try {
    await sink.write('[');
    for (const [i, id] of ids.entries()) {
      await sink.write(i === 0 ? '\n' : ',\n');
      await writeSession(sink, id.toLowerCase(), orgId);
    }
    await sink.write(ids.length > 0 ? '\n]\n' : ']\n');
    await sink.flush();
  } finally {
    sink.release();
  }
}

async function writeSession(sink: Sink, id: string, orgId: string): Promise<void> {
  const s = await prisma().session.findFirst({
    where: { id, orgId },
    include: { review: { include: { groups: { orderBy: [{ group: 'asc' }, { id: 'asc' }] } } } },
  });
  if (!s) throw notFound(`session ${id} not found`); // deleted since the check
  const eventSize = Number(s.inputBytes + s.outputBytes + s.errorBytes);
  const metrics = readStored(StoredMetrics, s.metrics);
  const head: [string, string][] = [
    ['id', str(s.id)],
    ['org_id', str(s.orgId)],
    ['script', `{"data":${str(s.script ?? '')}}`],
    ['script_size', String(s.scriptSize)],
    ['labels', 'null'],
    ['integrations_metadata', goJson(s.integrationsMetadata)],
    ['metadata', goJson(s.metadata)],
    ['metrics', metrics ? goJson({ ...metrics, event_size: eventSize }) : 'null'],
    ['user', str(s.userEmail ?? '')],
    ['user_id', str(s.userId ?? '')],
    ['user_name', str(s.userName ?? '')],
    ['type', str(s.type)],
    ['connection_subtype', str(s.connectionSubtype ?? '')],
    ['connection', str(s.roleName)],
    ['resource_name', str(s.resourceName ?? '')],
    ['role_name', str(s.roleName)],
    ['connection_tags', goJson(s.connectionTags)],
    ['review', s.review ? reviewJson(s.review) : 'null'],
    ['verb', str(s.verb.toLowerCase())],
    ['status', str(s.status.toLowerCase())],
    ['exit_code', s.exitCode === null ? 'null' : String(s.exitCode)],
  ];
  // The integrity block comes before the events it describes (a verifier reading the file as a
  // stream needs the appends' sizes first), and the events written are exactly those it covers.
  const integrity = await integrityOf(s);
  head.push(['integrity', integrity.json]);
  await sink.write(`{${head.map(([k, v]) => `"${k}":${v}`).join(',')},"event_stream":[`);
  let first = true;
  let left = integrity.events;
  for await (const ev of readEvents(s.id)) {
    if (left-- <= 0) break; // appended after the integrity was read
    const data = Buffer.from(ev.data.buffer, ev.data.byteOffset, ev.data.byteLength).toString('base64');
    await sink.write(`${first ? '' : ','}[${JSON.stringify(ev.time)},"${ev.type}","${data}"]`);
    first = false;
  }
  const aiAnalysis = readStored(StoredAIAnalysis, s.aiAnalysis);
  const guardrails = readStored(StoredGuardrails, s.guardrailsInfo) ?? [];
  const tail: [string, string | undefined][] = [
    ['event_size', String(eventSize)],
    ['session_batch_id', s.sessionBatchId === null ? undefined : str(s.sessionBatchId)],
    ['correlation_id', s.correlationId === null ? undefined : str(s.correlationId)],
    ['start_date', str(goTime(s.startDate))],
    ['end_date', s.endDate ? str(goTime(s.endDate)) : 'null'],
    ['ai_analysis', aiAnalysis ? aiAnalysisJson(aiAnalysis) : 'null'],
    // hoop prints an empty list as null.
    ['guardrails_info', guardrails.length > 0 ? `[${guardrails.map(guardrailJson).join(',')}]` : 'null'],
    ['identity_type', str(s.identityType.toLowerCase())],
    ['machine_identity_id', s.machineIdentityId === null ? undefined : str(s.machineIdentityId)],
  ];
  await sink.write(`]${tail.map(([k, v]) => (v === undefined ? '' : `,"${k}":${v}`)).join('')}}`);
}

/**
 * A session's integrity as exported (docs/integrity.md): its chain, signature and key, and the
 * number of events of each append, so that a verifier can cut the event stream into appends.
 */
async function integrityOf(s: ChainColumns & { signature: Uint8Array | null; signingKeyId: string | null }): Promise<{ json: string; events: number }> {
  const counts = await queryRows<{ events: string }>(
    'SELECT sum(event_count)::text AS events FROM session_event_chunks WHERE session_id = $1::uuid AND sequence < $2 GROUP BY sequence ORDER BY sequence',
    [s.id, s.nextSequence],
  );
  const appendEvents = counts.map((c) => Number(c.events));
  const chain = await sessionChain(queryRows, s);
  const json = fields([
    ['algorithm', str(CHAIN_ALGORITHM)],
    ['digest', str(chain.digest.toString('hex'))],
    ['append_count', String(chain.appendCount)],
    ['signature', s.signature ? str(Buffer.from(s.signature).toString('base64')) : 'null'],
    ['key_id', s.signature && s.signingKeyId ? str(s.signingKeyId) : 'null'],
    ['append_events', `[${appendEvents.join(',')}]`],
  ]);
  return { json, events: appendEvents.reduce((a, b) => a + b, 0) };
}

interface ReviewRow {
  id: string;
  type: string;
  status: string;
  accessDurationSec: number | null;
  createdAt: Date;
  revokeAt: Date | null;
  timeWindow: unknown;
  accessRequestRuleName: string | null;
  minApprovals: number | null;
  forceApprovalGroups: string[];
  rejectionReason: string | null;
  groups: { id: string; group: string; status: string; reviewedBy: unknown; reviewDate: Date | null; forcedReview: boolean }[];
}

function reviewJson(r: ReviewRow): string {
  const groups = r.groups.map((g) =>
    fields([
      ['id', str(g.id)],
      ['group', str(g.group)],
      ['status', str(g.status)],
      ['reviewed_by', reviewerJson(g.reviewedBy)],
      ['review_date', g.reviewDate ? str(goTime(g.reviewDate)) : 'null'],
      ['forced_review', String(g.forcedReview)],
    ]),
  );
  return fields([
    ['id', str(r.id)],
    ['type', str(r.type.toLowerCase())],
    // hoop's access_duration is a Go time.Duration: nanoseconds.
    ['access_duration', (BigInt(r.accessDurationSec ?? 0) * 1_000_000_000n).toString()],
    ['status', str(r.status)],
    ['revoke_at', r.revokeAt ? str(goTime(r.revokeAt)) : 'null'],
    ['created_at', str(goTime(r.createdAt))],
    ['review_groups_data', `[${groups.join(',')}]`],
    ['time_window', goJson(r.timeWindow)],
    ['access_request_rule_name', r.accessRequestRuleName === null ? 'null' : str(r.accessRequestRuleName)],
    ['min_approvals', r.minApprovals === null ? 'null' : String(r.minApprovals)],
    ['force_approval_groups', goJson(r.forceApprovalGroups)],
    ['rejection_reason', r.rejectionReason === null ? undefined : str(r.rejectionReason)],
  ]);
}

/** hoop's reviewer: {id?, name?, email, slack_id}. */
function reviewerJson(stored: unknown): string {
  const v = readStored(StoredReviewer, stored);
  if (!v) return 'null';
  return fields([
    ['id', v.id ? str(v.id) : undefined],
    ['name', v.name ? str(v.name) : undefined],
    ['email', str(v.email ?? '')],
    ['slack_id', str(v.slack_id ?? '')],
  ]);
}

function aiAnalysisJson(a: StoredAIAnalysis): string {
  return struct(a, keysOf(StoredAIAnalysis), {
    steps: () => (a.steps ? `[${a.steps.map((step) => struct(step, keysOf(StoredAIAnalysisStep))).join(',')}]` : goJson(a.steps)),
  });
}

function guardrailJson(g: StoredGuardrail): string {
  return struct(g, keysOf(StoredGuardrail), { rule: () => struct(g.rule, keysOf(StoredGuardrailRule)) });
}

/** A stored shape's keys in the order its schema declares them: that of hoop's Go struct. */
const keysOf = (schema: { shape: object }) => Object.keys(schema.shape);

/** A Go struct: its fields in declaration order, then any other stored keys, sorted. */
function struct(obj: object, order: string[], nested: Record<string, () => string> = {}): string {
  const values = obj as JsonObject;
  const rest = Object.keys(values)
    .filter((k) => !order.includes(k))
    .sort(byteOrder);
  return fields([...order.filter((k) => k in values), ...rest].map((k) => [k, nested[k] ? nested[k]() : goJson(values[k])]));
}

function fields(entries: [string, string | undefined][]): string {
  return `{${entries
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${str(k)}:${v}`)
    .join(',')}}`;
}

const str = (s: string) => JSON.stringify(s);

/** Go sorts map keys by their bytes; JS string order differs only for characters beyond U+FFFF. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** JSON as Go prints a map[string]any: object keys sorted at every level. */
export function goJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort(byteOrder)
      .map((k) => `${str(k)}:${goJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A time as Go's time.Time JSON prints it (RFC 3339 with trailing zeros of the fraction dropped). */
export function goTime(date: Date): string {
  return date.toISOString().replace(/\.(\d*?)0+Z$/, (_m, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

/** Buffers small writes into larger ones and waits for `drain` whenever the stream asks to. */
class Sink {
  private parts: string[] = [];
  private size = 0;
  private failure: Error | undefined;
  private readonly onError = (err: Error) => {
    this.failure ??= err;
  };

  constructor(private readonly out: NodeJS.WritableStream) {
    // Recorded here, raised by the next write: an EPIPE must not be an unhandled 'error' event.
    out.on('error', this.onError);
  }

  async write(text: string): Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 64 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (text && !this.out.write(text)) await this.drained();
    if (this.failure) throw this.failure;
  }

  release(): void {
    this.out.off('error', this.onError);
  }

  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (err?: Error) => {
        this.out.off('drain', onDrain);
        this.out.off('error', onFail);
        this.out.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => finish();
      const onFail = (err: Error) => finish(err);
      const onClose = () => finish(this.failure ?? new Error('output closed before the export was written'));
      this.out.once('drain', onDrain);
      this.out.once('error', onFail);
      this.out.once('close', onClose);
    });
  }
}
