import {
  readStored,
  type StoredAIAnalysis,
  type StoredAIAnalysisStep,
  type StoredDataMasking,
  type StoredGuardrail,
  type StoredGuardrailRule,
  StoredMetrics,
} from '../sessions/stored-shapes.ts';
import { builder } from './builder.ts';

/*
 * Nested attributes stored as JSON in the reference's snake_case shape (see sessions/stored-shapes.ts),
 * exposed with reel's camelCase names.
 */

export const DataMaskingRef = builder.objectRef<StoredDataMasking>('DataMasking').implement({
  fields: (t) => ({
    errCount: t.expose('err_count', { type: 'SafeInt' }),
    infoTypes: t.field({
      type: 'JSON',
      description: 'Info type → count, e.g. {"EMAIL_ADDRESS":1}.',
      resolve: (d) => d.info_types ?? {},
    }),
    totalRedactCount: t.expose('total_redact_count', { type: 'SafeInt' }),
    transformedBytes: t.expose('transformed_bytes', { type: 'SafeInt' }),
  }),
});

/** Metrics with reel's own eventSize (payload bytes) folded in. */
export interface MetricsValue {
  stored: StoredMetrics;
  eventSize: number;
}

/** A session's metrics as GraphQL shows them: null until stored (at close). */
export function sessionMetrics(stored: unknown, eventSize: number): MetricsValue | null {
  const metrics = readStored(StoredMetrics, stored);
  return metrics && { stored: metrics, eventSize };
}

export const SessionMetricsRef = builder.objectRef<MetricsValue>('SessionMetrics').implement({
  fields: (t) => ({
    eventSize: t.expose('eventSize', { type: 'SafeInt', description: 'Payload bytes of the whole stream.' }),
    truncated: t.boolean({ resolve: (m) => m.stored.truncated ?? false }),
    dataMasking: t.field({ type: DataMaskingRef, nullable: true, resolve: (m) => m.stored.data_masking }),
    raw: t.field({
      type: 'JSON',
      description: 'The whole metrics object as stored (reference key names), including keys not modelled here.',
      resolve: (m) => ({ ...m.stored, event_size: m.eventSize }),
    }),
  }),
});

export const AIAnalysisStepRef = builder.objectRef<StoredAIAnalysisStep>('AIAnalysisStep').implement({
  fields: (t) => ({
    type: t.exposeString('type'),
    thinking: t.exposeString('thinking', { nullable: true }),
    toolName: t.exposeString('tool_name', { nullable: true }),
    toolInput: t.expose('tool_input', { type: 'JSON', nullable: true }),
    toolOutput: t.expose('tool_output', { type: 'JSON', nullable: true }),
    isError: t.exposeBoolean('is_error', { nullable: true }),
    timestamp: t.exposeString('timestamp', { nullable: true }),
  }),
});

export const AIAnalysisRef = builder.objectRef<StoredAIAnalysis>('AIAnalysis').implement({
  fields: (t) => ({
    riskLevel: t.exposeString('risk_level', { description: 'low, medium or high.' }),
    title: t.exposeString('title'),
    explanation: t.exposeString('explanation'),
    action: t.exposeString('action', { description: 'allow_execution, block_execution or require_access_request.' }),
    summary: t.exposeString('summary', { nullable: true }),
    model: t.exposeString('model', { nullable: true }),
    steps: t.field({ type: [AIAnalysisStepRef], resolve: (a) => a.steps ?? [] }),
  }),
});

export const GuardrailRuleRef = builder.objectRef<StoredGuardrailRule>('GuardrailRule').implement({
  fields: (t) => ({
    type: t.exposeString('type', { description: 'deny_words_list or pattern_match.' }),
    words: t.stringList({ resolve: (r) => r.words ?? [] }),
    patternRegex: t.exposeString('pattern_regex', { nullable: true }),
  }),
});

export const GuardrailsInfoRef = builder.objectRef<StoredGuardrail>('GuardrailsInfo').implement({
  fields: (t) => ({
    ruleName: t.exposeString('rule_name'),
    rule: t.expose('rule', { type: GuardrailRuleRef }),
    direction: t.exposeString('direction', { description: 'input or output.' }),
    matchedWords: t.stringList({ resolve: (g) => g.matched_words ?? [] }),
    message: t.exposeString('message', { nullable: true }),
  }),
});

export const SessionScriptRef = builder.objectRef<{ data: string }>('SessionScript').implement({
  fields: (t) => ({ data: t.exposeString('data') }),
});
