/**
 * The campaign operations routes: duplicate, the publish preview, enrolling a segment or a
 * filtered contact list (counted first with dryRun), listing enrollments (one contact's journey,
 * those at a node), bulk exit, and the workspace's broadcasts listed and cancelled. Shapes are in
 * ops.schemas.ts; pause, resume, archive, publish and migrate are in routes.ts.
 */
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { IdParams } from '../http/schemas.js';
import { apiErrors, errors, type ApiInstance } from '../http/typed.js';
import { CampaignAnswer } from './campaigns.schemas.js';
import { cancelBroadcast, listBroadcasts } from './broadcast-admin.js';
import { duplicateCampaign, enrollAudience, exitEnrollments, listEnrollments } from './operations.js';
import {
  AudienceAnswer,
  AudienceBody,
  BroadcastAnswer,
  BroadcastListAnswer,
  BroadcastListQuery,
  BroadcastParams,
  BulkExitAnswer,
  BulkExitBody,
  DuplicateBody,
  EnrollmentListAnswer,
  EnrollmentListQuery,
  PublishPreviewAnswer,
} from './ops.schemas.js';
import { publishPreview } from './publish-diff.js';

export function campaignOpsRoutes(api: ApiInstance, deps: AppDeps): void {
  const { db } = deps;
  const tags = ['campaigns'];

  api.get(
    '/campaigns/broadcasts',
    { config: { permission: 'campaigns:read' }, schema: { tags, summary: "The workspace's broadcasts, scheduled ones first (next to run first)", querystring: BroadcastListQuery, response: { 200: BroadcastListAnswer, ...apiErrors(400) } } },
    async (request) => listBroadcasts(db, authOf(request).workspaceId, request.query),
  );

  api.post(
    '/campaigns/:id/broadcasts/:version/cancel',
    { config: { permission: 'campaigns:write' }, schema: { tags, summary: 'Cancel a scheduled broadcast before it runs', params: BroadcastParams, response: { 200: BroadcastAnswer, ...apiErrors(400), ...errors(404, 409) } } },
    async (request) => ({ broadcast: await cancelBroadcast(deps, authOf(request).workspaceId, actorOf(request), request.params.id, request.params.version) }),
  );

  api.post(
    '/campaigns/:id/duplicate',
    { config: { permission: 'campaigns:write' }, schema: { tags, summary: "A new draft with a copy of this campaign's draft", params: IdParams, body: DuplicateBody, response: { 201: CampaignAnswer, ...apiErrors(400), ...errors(404) } } },
    async (request, reply) => {
      const campaign = await duplicateCampaign(deps, authOf(request).workspaceId, actorOf(request), request.params.id, request.body.name);
      return reply.code(201).send({ campaign });
    },
  );

  api.get(
    '/campaigns/:id/publish-preview',
    {
      config: { permission: 'campaigns:read' },
      schema: { tags, summary: 'What publishing the draft would change against the running version, and the running enrollments per version', params: IdParams, response: { 200: PublishPreviewAnswer, ...apiErrors(400), ...errors(404) } },
    },
    async (request) => publishPreview(db, authOf(request).workspaceId, request.params.id),
  );

  api.post(
    '/campaigns/:id/enroll-audience',
    {
      config: { permission: 'campaigns:write' },
      schema: { tags, summary: 'Enroll every contact of a segment or a filtered list (dryRun: count only)', params: IdParams, body: AudienceBody, response: { 200: AudienceAnswer, ...apiErrors(400), ...errors(404, 409) } },
    },
    async (request) => enrollAudience(deps, authOf(request).workspaceId, actorOf(request), request.params.id, request.body),
  );

  api.get(
    '/campaigns/:id/enrollments',
    { config: { permission: 'campaigns:read' }, schema: { tags, summary: "The campaign's enrollments, newest first, by contact, status or current node", params: IdParams, querystring: EnrollmentListQuery, response: { 200: EnrollmentListAnswer, ...apiErrors(400), ...errors(404) } } },
    async (request) => listEnrollments(db, authOf(request).workspaceId, request.params.id, request.query),
  );

  api.post(
    '/campaigns/:id/enrollments/exit',
    { config: { permission: 'campaigns:write' }, schema: { tags, summary: 'Exit running enrollments: chosen ones, all at a node, or all', params: IdParams, body: BulkExitBody, response: { 200: BulkExitAnswer, ...apiErrors(400), ...errors(404) } } },
    async (request) => exitEnrollments(deps, authOf(request).workspaceId, actorOf(request), request.params.id, request.body),
  );
}
