import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../../src/db/client.ts';
import { exportSessions } from '../../src/transfer/export.ts';
import { importSessions } from '../../src/transfer/import.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { ok } from '../support/graphql.ts';
import { capture, tempDir } from '../transfer/helpers.ts';

/*
 * Nested attributes stored before imports were validated against their shapes (they were only
 * checked to be objects): GraphQL and export read what matches and leave the rest out.
 */

const FIELDS = /* GraphQL */ `
  id
  metrics { eventSize truncated raw dataMasking { errCount infoTypes totalRedactCount transformedBytes } }
  review { groups { group reviewedBy { id name email slackId } } }
  aiAnalysis { riskLevel title explanation action summary model
    steps { type thinking toolName toolInput toolOutput isError timestamp } }
  guardrailsInfo { ruleName rule { type words patternRegex } direction matchedWords message }
`;

const BENT = '00000000-0000-4000-a000-000000000001';
const BROKEN = '00000000-0000-4000-a000-000000000002';

let app: TestApp;
let orgId: string;
let key: string;
let dir: string;

async function storeUnchecked(): Promise<void> {
  const base = { orgId, status: 'DONE', verb: 'EXEC', type: 'database', roleName: 'pg', startDate: new Date('2024-01-01T00:00:00Z') } as const;
  await prisma().session.create({
    data: {
      ...base,
      id: BENT,
      aiAnalysis: {
        risk_level: 'high',
        title: 'Drop',
        explanation: 'e',
        action: 'block_execution',
        summary: 42,
        steps: [{ type: 'thinking', thinking: 'hm' }, { thinking: 'no type' }, 'junk'],
        vendor: 'x',
      },
      guardrailsInfo: [
        { rule_name: 'ok', rule: { type: 'deny_words_list', words: ['rm', 7] }, direction: 'input', matched_words: 'rm' },
        { rule_name: 'no rule', direction: 'input' },
        5,
      ],
      metrics: {
        data_masking: { err_count: 'x', info_types: {}, total_redact_count: 1, transformed_bytes: 2 },
        truncated: 'yes',
        data_analyzer: { EMAIL_ADDRESS: 1 },
      },
      review: {
        create: { type: 'JIT', status: 'APPROVED', groups: { create: [{ group: 'dba', status: 'APPROVED', reviewedBy: { name: 'Ada', email: 5 } }] } },
      },
    },
  });
  await prisma().session.create({
    data: { ...base, id: BROKEN, aiAnalysis: { title: 'no risk level' }, metrics: ['not', 'an object'], guardrailsInfo: { not: 'a list' } },
  });
}

const readBack = async (id: string) =>
  ok(await app.gql<{ session: Record<string, unknown> }>(`query ($id: ID!) { session(id: $id) { ${FIELDS} } }`, { id }, key)).session;

beforeAll(async () => {
  app = await startTestApp();
  orgId = await app.org('acme');
  key = await app.key(orgId, 'ADMIN', 'admin');
  dir = tempDir();
  await storeUnchecked();
});

afterAll(async () => {
  await app?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('stored shapes that do not match', () => {
  it('read as far as they match, in session and sessions alike, without an error', async () => {
    const bent = {
      id: BENT,
      metrics: { eventSize: 0, truncated: false, raw: { data_analyzer: { EMAIL_ADDRESS: 1 }, event_size: 0 }, dataMasking: null },
      review: { groups: [{ group: 'dba', reviewedBy: { id: null, name: 'Ada', email: null, slackId: null } }] },
      aiAnalysis: {
        riskLevel: 'high',
        title: 'Drop',
        explanation: 'e',
        action: 'block_execution',
        summary: null,
        model: null,
        steps: [{ type: 'thinking', thinking: 'hm', toolName: null, toolInput: null, toolOutput: null, isError: null, timestamp: null }],
      },
      guardrailsInfo: [
        { ruleName: 'ok', rule: { type: 'deny_words_list', words: ['rm'], patternRegex: null }, direction: 'input', matchedWords: [], message: null },
      ],
    };
    const broken = { id: BROKEN, metrics: null, review: null, aiAnalysis: null, guardrailsInfo: [] };
    expect(await readBack(BENT)).toEqual(bent);
    expect(await readBack(BROKEN)).toEqual(broken);
    const list = ok(await app.gql<{ sessions: { edges: { node: unknown }[] } }>(`{ sessions(first: 10) { edges { node { ${FIELDS} } } } }`, {}, key));
    expect(list.sessions.edges.map((e) => e.node)).toEqual([broken, bent]);
  });

  it('export as they read, so that the export imports again', async () => {
    const before = [await readBack(BENT), await readBack(BROKEN)];
    const out = capture();
    await exportSessions([BENT, BROKEN], orgId, out.stream);
    const [bent, broken] = JSON.parse(out.text()) as Record<string, unknown>[];
    expect(bent).toMatchObject({
      ai_analysis: { risk_level: 'high', title: 'Drop', explanation: 'e', action: 'block_execution', steps: [{ type: 'thinking', thinking: 'hm' }], vendor: 'x' },
      guardrails_info: [{ rule_name: 'ok', rule: { type: 'deny_words_list', words: ['rm'] }, direction: 'input' }],
      metrics: { data_analyzer: { EMAIL_ADDRESS: 1 }, event_size: 0 },
    });
    expect((bent!.review as { review_groups_data: unknown[] }).review_groups_data).toMatchObject([{ reviewed_by: { name: 'Ada', email: '', slack_id: '' } }]);
    expect(broken).toMatchObject({ ai_analysis: null, guardrails_info: null, metrics: null });

    const file = path.join(dir, 'export.json');
    fs.writeFileSync(file, out.text());
    await prisma().session.deleteMany({ where: { id: { in: [BENT, BROKEN] } } });
    expect(await importSessions(file, orgId, capture().stream)).toEqual({ imported: 2, skipped: 0 });
    // hoop's reviewer always carries an email and a Slack id, "" when unknown.
    const reviewer = { id: null, name: 'Ada', email: '', slackId: '' };
    expect([await readBack(BENT), await readBack(BROKEN)]).toEqual([
      { ...before[0], review: { groups: [{ group: 'dba', reviewedBy: reviewer }] } },
      before[1],
    ]);
  });
});
