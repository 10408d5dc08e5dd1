import { readStored, StoredReviewer } from '../sessions/stored-shapes.ts';
import { builder } from './builder.ts';
import { ReviewStatusEnum, ReviewTypeEnum } from './enums.ts';

export const ReviewerRef = builder.objectRef<StoredReviewer>('Reviewer').implement({
  description: 'Who reviewed for a group.',
  fields: (t) => ({
    id: t.exposeString('id', { nullable: true }),
    name: t.exposeString('name', { nullable: true }),
    email: t.exposeString('email', { nullable: true }),
    slackId: t.exposeString('slack_id', { nullable: true }),
  }),
});

builder.prismaObject('ReviewGroup', {
  fields: (t) => ({
    id: t.exposeID('id'),
    group: t.exposeString('group'),
    status: t.expose('status', { type: ReviewStatusEnum }),
    reviewedBy: t.field({
      type: ReviewerRef,
      nullable: true,
      select: { reviewedBy: true },
      resolve: (g) => readStored(StoredReviewer, g.reviewedBy),
    }),
    reviewDate: t.expose('reviewDate', { type: 'DateTime', nullable: true }),
    forcedReview: t.exposeBoolean('forcedReview'),
  }),
});

builder.prismaObject('Review', {
  description: 'The approval workflow of a session.',
  fields: (t) => ({
    id: t.exposeID('id'),
    type: t.expose('type', { type: ReviewTypeEnum }),
    status: t.expose('status', { type: ReviewStatusEnum }),
    accessDurationSec: t.int({
      description: 'Seconds of access granted (0 for ONETIME reviews).',
      select: { accessDurationSec: true },
      resolve: (r) => r.accessDurationSec ?? 0,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    revokeAt: t.expose('revokeAt', { type: 'DateTime', nullable: true }),
    timeWindow: t.expose('timeWindow', { type: 'JSON', nullable: true }),
    accessRequestRuleName: t.exposeString('accessRequestRuleName', { nullable: true }),
    minApprovals: t.exposeInt('minApprovals', { nullable: true }),
    forceApprovalGroups: t.exposeStringList('forceApprovalGroups'),
    rejectionReason: t.exposeString('rejectionReason', { nullable: true }),
    groups: t.relation('groups', { query: { orderBy: [{ group: 'asc' }] } }),
  }),
});
