import { describe, expect, it } from 'vitest';
import {
  readStored,
  StoredAIAnalysis,
  StoredGuardrails,
  StoredMetrics,
  StoredReviewer,
  storedAIAnalysis,
  storedGuardrail,
  storedMetrics,
  storedReviewer,
} from '../../src/sessions/stored-shapes.ts';

const analysis = { risk_level: 'high', title: 't', explanation: 'e', action: 'block_execution' };

describe('readStored', () => {
  it('reads a value that matches its shape as it is, keys it does not declare included', () => {
    const stored = { ...analysis, summary: 's', steps: [{ type: 'tool_call', tool_input: { a: [1] }, extra: true }], vendor: { x: 1 } };
    expect(readStored(StoredAIAnalysis, stored)).toEqual(stored);
    expect(readStored(StoredAIAnalysis, null)).toBeNull();
    expect(readStored(StoredGuardrails, undefined)).toBeNull();
  });

  it('leaves out a key of the wrong type, and a list element that does not match', () => {
    expect(readStored(StoredAIAnalysis, { ...analysis, summary: 42, steps: [{ type: 'a', is_error: 'no' }, { thinking: 'no type' }, 'junk'] })).toEqual({
      ...analysis,
      steps: [{ type: 'a' }],
    });
    expect(
      readStored(StoredGuardrails, [
        { rule_name: 'r', rule: { type: 'deny_words_list', words: ['rm', 7] }, direction: 'input', matched_words: 'rm' },
        { rule_name: 'no rule', direction: 'input' },
        5,
      ]),
    ).toEqual([{ rule_name: 'r', rule: { type: 'deny_words_list', words: ['rm'] }, direction: 'input' }]);
    expect(readStored(StoredReviewer, { name: 'Ada', email: 5 })).toEqual({ name: 'Ada' });
  });

  it('leaves out an object whose required key is missing or wrong; the whole value when it is the top', () => {
    const metrics = { data_masking: { err_count: 'x', info_types: {}, total_redact_count: 1, transformed_bytes: 2 }, truncated: 'yes', data_analyzer: { EMAIL: 1 } };
    expect(readStored(StoredMetrics, metrics)).toEqual({ data_analyzer: { EMAIL: 1 } });
    expect(readStored(StoredAIAnalysis, { ...analysis, title: 5 })).toBeNull();
    expect(readStored(StoredAIAnalysis, { title: 'no risk level' })).toBeNull();
    expect(readStored(StoredMetrics, ['not', 'an object'])).toBeNull();
    expect(readStored(StoredGuardrails, { not: 'a list' })).toBeNull();
  });

  it("reads back what reel's own conversions store", () => {
    const ai = storedAIAnalysis({ riskLevel: 'low', title: 't', explanation: 'e', action: 'allow_execution', steps: [{ type: 'thinking', thinking: 'ok', isError: null }] });
    expect(readStored(StoredAIAnalysis, ai)).toEqual(ai);
    const guardrail = storedGuardrail({ ruleName: 'r', rule: { type: 'pattern_match', patternRegex: 'x+' }, direction: 'output', matchedWords: ['xx'] });
    expect(readStored(StoredGuardrails, [guardrail])).toEqual([guardrail]);
    const reviewer = storedReviewer({ email: 'a@example.com', slackId: 'U1' });
    expect(readStored(StoredReviewer, reviewer)).toEqual(reviewer);
    const metrics = storedMetrics({ dataMasking: { errCount: 1, infoTypes: { EMAIL_ADDRESS: 1 } }, truncated: true }, { other: 1 }, 12);
    expect(readStored(StoredMetrics, metrics)).toEqual(metrics);
  });
});
