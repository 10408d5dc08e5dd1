import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import { DateTimeResolver, JSONResolver, SafeIntResolver } from 'graphql-scalars';
import type { Viewer } from '../auth/keys.ts';
import type { Config } from '../config.ts';
import type { LiveHub } from '../live/hub.ts';
import { prisma } from '../db/client.ts';
import type PrismaTypes from '../generated/pothos-prisma-types.ts';
import { getDatamodel } from '../generated/pothos-prisma-types.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.ts';

export interface Context {
  /** Who is asking; null for a request without a valid key. */
  viewer: Viewer | null;
  config: Config;
  /** Secrets that sign download links; the first signs new ones. */
  downloadSecrets: string[];
  /** The clock, injectable so tests can expire links without sleeping. */
  now: () => number;
  /** Live sessions: what subscriptions follow (absent only where a test builds GraphQL alone). */
  live: LiveHub | undefined;
  /**
   * Records that this request read a session's stream (STREAM_READ, spec §15): once per session per
   * request, whatever it read it by (`how`: a field, a search, a subscription).
   */
  auditRead(sessionId: string, how: string): void;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
    SafeInt: { Input: number; Output: number | bigint };
  };
}>({
  plugins: [PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  prisma: {
    client: () => prisma(),
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    defaultConnectionSize: DEFAULT_PAGE_SIZE,
    maxConnectionSize: MAX_PAGE_SIZE,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);
builder.addScalarType('SafeInt', SafeIntResolver);

builder.queryType({});
builder.mutationType({});
