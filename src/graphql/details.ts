import { isObject, type JsonObject } from '../sessions/shapes.ts';
import { builder } from './builder.ts';

/*
 * Nested attributes stored as JSON in the reference's snake_case shape (see sessions/shapes.ts),
 * exposed with reel's camelCase names.
 */

const str = (o: JsonObject, key: string) => (typeof o[key] === 'string' ? (o[key] as string) : null);
const num = (o: JsonObject, key: string) => (typeof o[key] === 'number' ? (o[key] as number) : 0);
const strings = (o: JsonObject, key: string) =>
  Array.isArray(o[key]) ? (o[key] as unknown[]).filter((v): v is string => typeof v === 'string') : [];
const obj = (o: JsonObject, key: string) => (isObject(o[key]) ? (o[key] as JsonObject) : {});

export const DataMaskingRef = builder.objectRef<JsonObject>('DataMasking').implement({
  fields: (t) => ({
    errCount: t.field({ type: 'SafeInt', resolve: (o) => num(o, 'err_count') }),
    infoTypes: t.field({
      type: 'JSON',
      description: 'Info type → count, e.g. {"EMAIL_ADDRESS":1}.',
      resolve: (o) => obj(o, 'info_types'),
    }),
    totalRedactCount: t.field({ type: 'SafeInt', resolve: (o) => num(o, 'total_redact_count') }),
    transformedBytes: t.field({ type: 'SafeInt', resolve: (o) => num(o, 'transformed_bytes') }),
  }),
});

/** Metrics with reel's own eventSize (payload bytes) folded in. */
export interface MetricsValue {
  stored: JsonObject;
  eventSize: number;
}

export const SessionMetricsRef = builder.objectRef<MetricsValue>('SessionMetrics').implement({
  fields: (t) => ({
    eventSize: t.field({
      type: 'SafeInt',
      description: 'Payload bytes of the whole stream.',
      resolve: (m) => m.eventSize,
    }),
    truncated: t.boolean({ resolve: (m) => m.stored.truncated === true }),
    dataMasking: t.field({
      type: DataMaskingRef,
      nullable: true,
      resolve: (m) => (isObject(m.stored.data_masking) ? m.stored.data_masking : null),
    }),
    raw: t.field({
      type: 'JSON',
      description: 'The whole metrics object as stored (reference key names), including keys not modelled here.',
      resolve: (m) => ({ ...m.stored, event_size: m.eventSize }),
    }),
  }),
});

export const AIAnalysisStepRef = builder.objectRef<JsonObject>('AIAnalysisStep').implement({
  fields: (t) => ({
    type: t.string({ resolve: (o) => str(o, 'type') ?? '' }),
    thinking: t.string({ nullable: true, resolve: (o) => str(o, 'thinking') }),
    toolName: t.string({ nullable: true, resolve: (o) => str(o, 'tool_name') }),
    toolInput: t.field({ type: 'JSON', nullable: true, resolve: (o) => o.tool_input ?? null }),
    toolOutput: t.field({ type: 'JSON', nullable: true, resolve: (o) => o.tool_output ?? null }),
    isError: t.boolean({ nullable: true, resolve: (o) => (typeof o.is_error === 'boolean' ? o.is_error : null) }),
    timestamp: t.string({ nullable: true, resolve: (o) => str(o, 'timestamp') }),
  }),
});

export const AIAnalysisRef = builder.objectRef<JsonObject>('AIAnalysis').implement({
  fields: (t) => ({
    riskLevel: t.string({ description: 'low, medium or high.', resolve: (o) => str(o, 'risk_level') ?? '' }),
    title: t.string({ resolve: (o) => str(o, 'title') ?? '' }),
    explanation: t.string({ resolve: (o) => str(o, 'explanation') ?? '' }),
    action: t.string({
      description: 'allow_execution, block_execution or require_access_request.',
      resolve: (o) => str(o, 'action') ?? '',
    }),
    summary: t.string({ nullable: true, resolve: (o) => str(o, 'summary') }),
    model: t.string({ nullable: true, resolve: (o) => str(o, 'model') }),
    steps: t.field({
      type: [AIAnalysisStepRef],
      resolve: (o) => (Array.isArray(o.steps) ? o.steps.filter(isObject) : []),
    }),
  }),
});

export const GuardrailRuleRef = builder.objectRef<JsonObject>('GuardrailRule').implement({
  fields: (t) => ({
    type: t.string({ description: 'deny_words_list or pattern_match.', resolve: (o) => str(o, 'type') ?? '' }),
    words: t.stringList({ resolve: (o) => strings(o, 'words') }),
    patternRegex: t.string({ nullable: true, resolve: (o) => str(o, 'pattern_regex') }),
  }),
});

export const GuardrailsInfoRef = builder.objectRef<JsonObject>('GuardrailsInfo').implement({
  fields: (t) => ({
    ruleName: t.string({ resolve: (o) => str(o, 'rule_name') ?? '' }),
    rule: t.field({ type: GuardrailRuleRef, resolve: (o) => obj(o, 'rule') }),
    direction: t.string({ description: 'input or output.', resolve: (o) => str(o, 'direction') ?? '' }),
    matchedWords: t.stringList({ resolve: (o) => strings(o, 'matched_words') }),
    message: t.string({ nullable: true, resolve: (o) => str(o, 'message') }),
  }),
});

export const SessionScriptRef = builder.objectRef<{ data: string }>('SessionScript').implement({
  fields: (t) => ({ data: t.exposeString('data') }),
});
