import { z } from 'zod';

/*
 * Nested session attributes are stored as JSON in the reference's own (snake_case) shape, so that
 * sessions imported from hoop keep every key, and exported ones come out as hoop wrote them.
 * Each shape is declared here once, as a schema (keys in the order of hoop's Go structs, other keys
 * kept): import validates records with it, GraphQL and export read stored values with it
 * (readStored), and the conversions below build it from reel's camelCase inputs.
 */

export type JsonObject = { [key: string]: unknown };

/** A review group's reviewer (reference-hoop.md §3.1). */
export const StoredReviewer = z.looseObject({
  id: z.string().nullish(),
  name: z.string().nullish(),
  email: z.string().nullish(),
  slack_id: z.string().nullish(),
});

/** One step of an AI analysis (§3.2). */
export const StoredAIAnalysisStep = z.looseObject({
  type: z.string(),
  thinking: z.string().nullish(),
  tool_name: z.string().nullish(),
  tool_input: z.unknown().optional(),
  tool_output: z.unknown().optional(),
  is_error: z.boolean().nullish(),
  timestamp: z.string().nullish(),
});

export const StoredAIAnalysis = z.looseObject({
  risk_level: z.string(),
  title: z.string(),
  explanation: z.string(),
  action: z.string(),
  summary: z.string().nullish(),
  model: z.string().nullish(),
  steps: z.array(StoredAIAnalysisStep).nullish(),
});

export const StoredGuardrailRule = z.looseObject({
  type: z.string(),
  words: z.array(z.string()).nullish(),
  pattern_regex: z.string().nullish(),
});

/** A guardrail rule that matched (§3.3); a session stores a list of them. */
export const StoredGuardrail = z.looseObject({
  rule_name: z.string(),
  rule: StoredGuardrailRule,
  direction: z.string(),
  matched_words: z.array(z.string()).nullish(),
  message: z.string().nullish(),
});

export const StoredGuardrails = z.array(StoredGuardrail);

export const StoredDataMasking = z.looseObject({
  err_count: z.int(),
  info_types: z.record(z.string(), z.unknown()).nullish(),
  total_redact_count: z.int(),
  transformed_bytes: z.int(),
});

/** Metrics (§3.4), merged over at close: keys of other writers (ai_analyzer, data_analyzer, …) stay. */
export const StoredMetrics = z.looseObject({
  data_masking: StoredDataMasking.nullish(),
  event_size: z.int().optional(),
  truncated: z.boolean().nullish(),
});

/** The declared keys of a stored shape (values also hold any other keys they were stored with). */
export type Shape<Schema extends z.ZodType> = { [K in keyof z.infer<Schema> as string extends K ? never : K]: z.infer<Schema>[K] };

export type StoredReviewer = Shape<typeof StoredReviewer>;
export type StoredAIAnalysisStep = Shape<typeof StoredAIAnalysisStep>;
export type StoredAIAnalysis = Shape<typeof StoredAIAnalysis>;
export type StoredGuardrailRule = Shape<typeof StoredGuardrailRule>;
export type StoredGuardrail = Shape<typeof StoredGuardrail>;
export type StoredDataMasking = Shape<typeof StoredDataMasking>;
export type StoredMetrics = Shape<typeof StoredMetrics>;

/**
 * A stored value read with its shape's schema; null when there is none. Values stored before
 * imports were validated (they were only checked to be objects) may not match: what does not match
 * is left out, so that one wrong key cannot fail a query. A key of the wrong type is dropped; an
 * object that lacks a required key, or whose required key is wrong, is dropped in turn: left out of
 * its list, or the whole value is null. The stored row is not changed.
 */
export function readStored<T>(schema: z.ZodType<T>, value: unknown): T | null {
  let current = value;
  while (current !== undefined && current !== null) {
    const result = schema.safeParse(current);
    if (result.success) return result.data;
    current = without(current, result.error.issues[0]!.path);
  }
  return null;
}

/**
 * A copy of `value` without what is at `path`; without the object holding it when nothing is
 * there (a required key is missing). Undefined when `value` itself goes.
 */
function without(value: unknown, path: readonly PropertyKey[]): unknown {
  if (path.length === 0) return undefined;
  const [key, ...rest] = path;
  if (Array.isArray(value)) {
    const index = Number(key);
    const kept = without(value[index], rest);
    return kept === undefined ? value.filter((_, i) => i !== index) : value.map((v, i) => (i === index ? kept : v));
  }
  const obj = value as JsonObject;
  const name = String(key);
  if (obj[name] === undefined) return undefined;
  const kept = without(obj[name], rest);
  const { [name]: _dropped, ...others } = obj;
  return kept === undefined ? others : { ...others, [name]: kept };
}

export interface AIAnalysisStepInput {
  type: string;
  thinking?: string | null;
  toolName?: string | null;
  toolInput?: unknown;
  toolOutput?: unknown;
  isError?: boolean | null;
  timestamp?: string | null;
}

export interface AIAnalysisInput {
  riskLevel: string;
  title: string;
  explanation: string;
  action: string;
  summary?: string | null;
  model?: string | null;
  steps?: AIAnalysisStepInput[] | null;
}

export interface GuardrailsInfoInput {
  ruleName: string;
  rule: { type: string; words?: string[] | null; patternRegex?: string | null };
  direction: string;
  matchedWords?: string[] | null;
  message?: string | null;
}

export interface DataMaskingInput {
  errCount?: number | null;
  infoTypes?: unknown;
  totalRedactCount?: number | null;
  transformedBytes?: number | null;
}

export interface MetricsInput {
  dataMasking?: DataMaskingInput | null;
  truncated?: boolean | null;
}

/** Drops keys whose value is null or undefined, as the reference omits empty optional keys. */
function compact<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== null)) as T;
}

export function storedAIAnalysis(input: AIAnalysisInput): StoredAIAnalysis {
  return compact({
    risk_level: input.riskLevel,
    title: input.title,
    explanation: input.explanation,
    action: input.action,
    summary: input.summary,
    model: input.model,
    steps: input.steps?.map((s) =>
      compact({
        type: s.type,
        thinking: s.thinking,
        tool_name: s.toolName,
        tool_input: s.toolInput,
        tool_output: s.toolOutput,
        is_error: s.isError,
        timestamp: s.timestamp,
      }),
    ),
  });
}

export function storedReviewer(input: {
  id?: string | null;
  name?: string | null;
  email?: string | null;
  slackId?: string | null;
}): StoredReviewer {
  return compact({ id: input.id, name: input.name, email: input.email, slack_id: input.slackId });
}

export function storedGuardrail(input: GuardrailsInfoInput): StoredGuardrail {
  return compact({
    rule_name: input.ruleName,
    rule: compact({ type: input.rule.type, words: input.rule.words, pattern_regex: input.rule.patternRegex }),
    direction: input.direction,
    matched_words: input.matchedWords,
    message: input.message,
  });
}

/** Metrics at close: `input` merged over those stored before, with reel's own event_size. */
export function storedMetrics(input: MetricsInput | null | undefined, previous: unknown, eventSize: number): StoredMetrics {
  const base: JsonObject = isObject(previous) ? previous : {};
  const dm = input?.dataMasking;
  return {
    ...base,
    ...(dm && {
      data_masking: {
        err_count: dm.errCount ?? 0,
        info_types: isObject(dm.infoTypes) ? dm.infoTypes : {},
        total_redact_count: dm.totalRedactCount ?? 0,
        transformed_bytes: dm.transformedBytes ?? 0,
      },
    }),
    event_size: eventSize,
    truncated: input?.truncated ?? (base.truncated === true),
  };
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * PostgreSQL text and jsonb cannot hold U+0000 or a lone surrogate: find the first such string in
 * a value and say where, rather than fail in the database. Undefined when all of it can be stored.
 */
export function unstorableReason(value: unknown, at = ''): string | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return `${at || 'a value'} contains a NUL character (U+0000), which cannot be stored`;
    if (/\p{Surrogate}/u.test(value)) return `${at || 'a value'} contains an unpaired surrogate (invalid Unicode), which cannot be stored`;
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const reason = unstorableReason(v, `${at}[${i}]`);
      if (reason) return reason;
    }
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const reason = unstorableReason(k, at ? `a key of ${at}` : 'a key') ?? unstorableReason(v, at ? `${at}.${k}` : k);
      if (reason) return reason;
    }
  }
  return undefined;
}
