/*
 * Nested session attributes are stored as JSON in the reference's own (snake_case) shape, so that
 * sessions imported from hoop keep every key, and exported ones come out as hoop wrote them.
 * These are the conversions from reel's camelCase inputs to that shape.
 */

export type JsonObject = { [key: string]: unknown };

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
function compact(obj: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== null));
}

export function storedAIAnalysis(input: AIAnalysisInput): JsonObject {
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
}): JsonObject {
  return compact({ id: input.id, name: input.name, email: input.email, slack_id: input.slackId });
}

export function storedGuardrail(input: GuardrailsInfoInput): JsonObject {
  return compact({
    rule_name: input.ruleName,
    rule: compact({ type: input.rule.type, words: input.rule.words, pattern_regex: input.rule.patternRegex }),
    direction: input.direction,
    matched_words: input.matchedWords,
    message: input.message,
  });
}

export function storedMetrics(input: MetricsInput | null | undefined, previous: unknown, eventSize: number): JsonObject {
  const base = isObject(previous) ? previous : {};
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
