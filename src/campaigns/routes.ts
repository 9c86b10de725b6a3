/**
 * The campaign routes: drafts, the definition schema, publishing and status, simulation, manual
 * enrollment, version migration, journeys and the operator's controls on an enrollment, the
 * frequency cap, and the public inbound webhook trigger. Shapes are in campaigns.schemas.ts.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { AppError } from '../http/errors.js';
import { ErrorResponse, IdParams, NoContent } from '../http/schemas.js';
import { apiErrors } from '../http/typed.js';
import { createCampaign, getCampaign, listCampaigns, migrateEnrollments, publishCampaign, setCampaignStatus, updateCampaign } from './campaigns.js';
import {
  CampaignAnswer,
  CampaignDetailAnswer,
  CampaignList,
  CreateCampaignBody,
  DefinitionSchemaAnswer,
  EnrollAnswer,
  EnrollBody,
  EnrollmentParams,
  EnrollResultSchema,
  FrequencyCapAnswer,
  FrequencyCapBody,
  InboundBody,
  InboundSecretAnswer,
  JourneyAnswer,
  MigrateAnswer,
  MigrateBody,
  SaveDraftAnswer,
  SimulateBody,
  SimulateDraftBody,
  SimulationAnswer,
  UpdateCampaignBody,
} from './campaigns.schemas.js';
import { CampaignDefinitionSchema, DEFINITION_SCHEMA_VERSION, NODE_CONFIG_SCHEMAS } from './definition.schemas.js';
import { enrollManually, retryEnrollment, setEnrollmentPaused } from './enrollment.js';
import { getFrequencyCap, setFrequencyCap } from './frequency-cap.js';
import { enrollFromInboundWebhook, rotateInboundSecret } from './inbound-webhook.js';
import { getJourney } from './journeys.js';
import { campaignMetrics } from './metrics.js';
import { simulateCampaign } from './simulate.js';

export function campaignRoutes(app: FastifyInstance, deps: AppDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;

  api.get(
    '/campaigns/schema',
    { config: { permission: 'campaigns:read' }, schema: { tags: ['campaigns'], summary: 'The JSON schema of campaign definitions and node configs', response: { 200: DefinitionSchemaAnswer, ...apiErrors(400) } } },
    async () => ({ version: DEFINITION_SCHEMA_VERSION, definition: CampaignDefinitionSchema, nodeConfigs: NODE_CONFIG_SCHEMAS }),
  );

  api.get(
    '/campaigns/frequency-cap',
    { config: { permission: 'campaigns:read' }, schema: { tags: ['campaigns'], summary: 'The workspace cap on campaign emails per contact', response: { 200: FrequencyCapAnswer, ...apiErrors(400) } } },
    async (request) => ({ frequencyCap: await getFrequencyCap(db, authOf(request).workspaceId) }),
  );
  api.put(
    '/campaigns/frequency-cap',
    { config: { permission: 'settings:write' }, schema: { tags: ['campaigns'], summary: 'Set (or with null remove) the cap; capped emails are deferred, not dropped', body: FrequencyCapBody, response: { 200: FrequencyCapAnswer, ...apiErrors(400) } } },
    async (request) => ({ frequencyCap: await setFrequencyCap(deps, authOf(request).workspaceId, actorOf(request), request.body.frequencyCap) }),
  );

  api.get('/campaigns', { config: { permission: 'campaigns:read' }, schema: { tags: ['campaigns'], response: { 200: CampaignList, ...apiErrors(400) } } }, async (request) => ({
    campaigns: await listCampaigns(db, authOf(request).workspaceId),
  }));

  api.post(
    '/campaigns',
    { config: { permission: 'campaigns:write' }, schema: { tags: ['campaigns'], summary: 'Create a draft campaign', body: CreateCampaignBody, response: { 201: CampaignAnswer, ...apiErrors(400) } } },
    async (request, reply) => {
      const campaign = await createCampaign(deps, authOf(request).workspaceId, actorOf(request), request.body.name, request.body.definition);
      return reply.code(201).send({ campaign });
    },
  );

  const simulationSchema = { tags: ['campaigns'], summary: 'Run a definition for one contact with time fast-forwarded; nothing is stored or sent', response: { 200: SimulationAnswer, ...apiErrors(400), 404: ErrorResponse } };
  api.post('/campaigns/simulate', { config: { permission: 'campaigns:read' }, schema: { ...simulationSchema, body: SimulateBody } }, async (request) =>
    simulateCampaign(deps, authOf(request).workspaceId, 'Simulation', request.body),
  );
  api.post('/campaigns/:id/simulate', { config: { permission: 'campaigns:read' }, schema: { ...simulationSchema, params: IdParams, body: SimulateDraftBody } }, async (request) => {
    const workspaceId = authOf(request).workspaceId;
    const { campaign, definition } = await getCampaign(db, workspaceId, request.params.id);
    // The builder sends the draft as it shows it, so unsaved edits are simulated too.
    return simulateCampaign(deps, workspaceId, campaign.name, { ...request.body, definition: request.body.definition ?? definition });
  });

  api.get(
    '/campaigns/:id',
    { config: { permission: 'campaigns:read' }, schema: { tags: ['campaigns'], summary: 'A campaign, its draft definition and per-node metrics', params: IdParams, response: { 200: CampaignDetailAnswer, ...apiErrors(400), 404: ErrorResponse } } },
    async (request) => {
      const workspaceId = authOf(request).workspaceId;
      const { campaign, definition, problems } = await getCampaign(db, workspaceId, request.params.id);
      const metrics = await campaignMetrics(db, workspaceId, request.params.id);
      return { campaign, definition, problems, metrics };
    },
  );

  api.put(
    '/campaigns/:id',
    {
      config: { permission: 'campaigns:write' },
      schema: {
        tags: ['campaigns'],
        summary: 'Save the draft, valid or not, and get its problems (publish requires none)',
        params: IdParams,
        body: UpdateCampaignBody,
        response: { 200: SaveDraftAnswer, ...apiErrors(400), 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => {
      const { name, definition, draftRevision } = request.body;
      return updateCampaign(deps, authOf(request).workspaceId, actorOf(request), request.params.id, { definition, ...(name === undefined ? {} : { name }), ...(draftRevision === undefined ? {} : { draftRevision }) });
    },
  );

  api.post(
    '/campaigns/:id/publish',
    { config: { permission: 'campaigns:write' }, schema: { tags: ['campaigns'], summary: 'Freeze the draft as the next version and activate', params: IdParams, response: { 200: CampaignAnswer, ...apiErrors(400), 404: ErrorResponse, 409: ErrorResponse } } },
    async (request) => ({ campaign: await publishCampaign(deps, authOf(request).workspaceId, actorOf(request), request.params.id) }),
  );

  for (const [action, to] of [
    ['pause', 'paused'],
    ['resume', 'active'],
    ['archive', 'archived'],
  ] as const) {
    api.post(
      `/campaigns/:id/${action}`,
      { config: { permission: 'campaigns:write' }, schema: { tags: ['campaigns'], params: IdParams, response: { 200: CampaignAnswer, ...apiErrors(400), 404: ErrorResponse, 409: ErrorResponse } } },
      async (request) => ({ campaign: await setCampaignStatus(deps, authOf(request).workspaceId, actorOf(request), request.params.id, to) }),
    );
  }

  api.post(
    '/campaigns/:id/enroll',
    {
      config: { permission: 'campaigns:write' },
      schema: { tags: ['campaigns'], summary: 'Enroll contacts by hand; the answer gives each contact its result', params: IdParams, body: EnrollBody, response: { 200: EnrollAnswer, ...apiErrors(400), 404: ErrorResponse, 409: ErrorResponse } },
    },
    async (request) => ({ results: await enrollManually(deps, authOf(request).workspaceId, actorOf(request), request.params.id, request.body.contactIds) }),
  );

  api.post(
    '/campaigns/:id/migrate',
    {
      config: { permission: 'campaigns:write' },
      schema: { tags: ['campaigns'], summary: 'Move running enrollments from an older version to the current one', params: IdParams, body: MigrateBody, response: { 200: MigrateAnswer, ...apiErrors(400), 404: ErrorResponse, 409: ErrorResponse } },
    },
    async (request) => migrateEnrollments(deps, authOf(request).workspaceId, actorOf(request), request.params.id, request.body.fromVersion),
  );

  api.post(
    '/campaigns/:id/inbound-secret',
    { config: { permission: 'campaigns:write' }, schema: { tags: ['campaigns'], summary: 'Create or rotate the inbound webhook secret (shown once)', params: IdParams, response: { 201: InboundSecretAnswer, ...apiErrors(400), 404: ErrorResponse } } },
    async (request, reply) => {
      const id = request.params.id;
      const secret = await rotateInboundSecret(deps, authOf(request).workspaceId, actorOf(request), id);
      return reply.code(201).send({ secret, url: `${deps.config.publicUrl}/hooks/campaigns/${id}` });
    },
  );

  api.get(
    '/campaigns/:id/enrollments/:enrollmentId',
    { config: { permission: 'campaigns:read' }, schema: { tags: ['campaigns'], summary: 'An enrollment and its journey, step by step', params: EnrollmentParams, response: { 200: JourneyAnswer, ...apiErrors(400), 404: ErrorResponse } } },
    async (request) => getJourney(db, authOf(request).workspaceId, request.params.id, request.params.enrollmentId),
  );

  for (const action of ['pause', 'resume'] as const) {
    api.post(
      `/campaigns/:id/enrollments/:enrollmentId/${action}`,
      { config: { permission: 'campaigns:write' }, schema: { tags: ['campaigns'], summary: `${action === 'pause' ? 'Pause' : 'Resume'} one enrollment`, params: EnrollmentParams, response: { 204: NoContent, ...apiErrors(400), 404: ErrorResponse, 409: ErrorResponse } } },
      async (request, reply) => {
        await setEnrollmentPaused(deps, authOf(request).workspaceId, actorOf(request), request.params.id, request.params.enrollmentId, action === 'pause');
        return reply.code(204).send(null);
      },
    );
  }

  api.post(
    '/campaigns/:id/enrollments/:enrollmentId/retry',
    { config: { permission: 'campaigns:write' }, schema: { tags: ['campaigns'], summary: 'Retry a failed enrollment from the step it failed at', params: EnrollmentParams, response: { 204: NoContent, ...apiErrors(400), 404: ErrorResponse, 409: ErrorResponse } } },
    async (request, reply) => {
      await retryEnrollment(deps, authOf(request).workspaceId, actorOf(request), request.params.id, request.params.enrollmentId);
      return reply.code(204).send(null);
    },
  );
}

/** Public (root scope) route of inbound webhook triggers, authenticated by the campaign secret. */
export function campaignHookRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/hooks/campaigns/:id',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Inbound webhook trigger (Authorization: Bearer <campaign secret>)',
        params: IdParams,
        body: InboundBody,
        response: { 202: EnrollResultSchema, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const authorization = request.headers.authorization ?? '';
      const secret = authorization.startsWith('Bearer ') ? authorization.slice(7).trim() : '';
      const body = request.body;
      if (!body.email && !body.contactId) throw new AppError('VALIDATION_FAILED', 'Send email or contactId');
      const result = await enrollFromInboundWebhook(deps, request.params.id, secret, body);
      return reply.code(202).send(result);
    },
  );
}
