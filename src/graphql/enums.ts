import type { EventType } from '../sessions/event.ts';
import { IdentityType, ReviewStatus, ReviewType, SessionStatus, SessionVerb } from '../generated/prisma/enums.ts';
import { builder } from './builder.ts';

export const SessionStatusEnum = builder.enumType(SessionStatus, {
  name: 'SessionStatus',
  description: 'READY: approved, not yet running; OPEN: running; DONE: finished.',
});
export const SessionVerbEnum = builder.enumType(SessionVerb, {
  name: 'SessionVerb',
  description: 'EXEC: one-shot script; CONNECT: interactive or native protocol.',
});
export const IdentityTypeEnum = builder.enumType(IdentityType, {
  name: 'IdentityType',
  description: 'USER: a human; MACHINE: a non-human identity.',
});
export const ReviewTypeEnum = builder.enumType(ReviewType, { name: 'ReviewType' });
export const ReviewStatusEnum = builder.enumType(ReviewStatus, { name: 'ReviewStatus' });

/** Resolvers see the stored types (`i`, `o`, `e`); clients see the names. */
export const EventTypeEnum = builder.enumType('EventType', {
  description: 'INPUT (`i`: stdin, client→server), OUTPUT (`o`) and ERROR (`e`) events.',
  values: {
    INPUT: { value: 'i' },
    OUTPUT: { value: 'o' },
    ERROR: { value: 'e' },
  } as const satisfies Record<string, { value: EventType }>,
});
