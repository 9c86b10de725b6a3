import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { AppError } from '../http/errors.js';
import { ErrorResponse, IdParams } from '../http/schemas.js';
import { simulateCampaign } from './simulate.js';
import { CampaignDefinitionSchema, DEFINITION_SCHEMA_VERSION, NODE_CONFIG_SCHEMAS } from './definition.js';
import {
  campaignMetrics,
  enrollFromInboundWebhook,
  rotateInboundSecret,
  createCampaign,
  enrollManually,
  getCampaign,
  getFrequencyCap,
  getJourney,
  listCampaigns,
  migrateEnrollments,
  publishCampaign,
  retryEnrollment,
  setEnrollmentPaused,
  setFrequencyCap,
  setCampaignStatus,
  updateCampaign,
} from './store.js';

const CampaignSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.Union([Type.Literal('draft'), Type.Literal('active'), Type.Literal('paused'), Type.Literal('archived')]),
  currentVersion: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
// The definition is checked by the campaign validator, which names node and field for every problem.
const DefinitionBody = Type.Unknown({ description: 'A campaign definition; see GET /api/campaigns/schema' });
const CreateBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), definition: DefinitionBody }, { additionalProperties: false });
const UpdateBody = Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), definition: DefinitionBody }, { additionalProperties: false });
const EnrollBody = Type.Object({ contactIds: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false });
const EnrollmentParams = Type.Object({ id: Type.String({ format: 'uuid' }), enrollmentId: Type.String({ format: 'uuid' }) });

export function campaignRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { db, clock } = deps;

  app.get('/campaigns/schema', { config: { permission: 'campaigns:read' }, schema: { tags: ['campaigns'], summary: 'The JSON schema of campaign definitions and node configs' } }, async () => ({
    version: DEFINITION_SCHEMA_VERSION,
    definition: CampaignDefinitionSchema,
    nodeConfigs: NODE_CONFIG_SCHEMAS,
  }));

  const Cap = Type.Union([Type.Object({ maxEmails: Type.Integer({ minimum: 1, maximum: 100 }), windowHours: Type.Integer({ minimum: 1, maximum: 24 * 31 }) }, { additionalProperties: false }), Type.Null()]);
  app.get('/campaigns/frequency-cap', { config: { permission: 'campaigns:read' }, schema: { tags: ['campaigns'], summary: 'The workspace cap on campaign emails per contact', response: { 200: Type.Object({ frequencyCap: Cap }) } } }, async (request) => ({
    frequencyCap: await getFrequencyCap(db, authOf(request).workspaceId),
  }));
  app.put(
    '/campaigns/frequency-cap',
    { config: { permission: 'settings:write' }, schema: { tags: ['campaigns'], summary: 'Set (or with null remove) the cap; capped emails are deferred, not dropped', body: Type.Object({ frequencyCap: Cap }, { additionalProperties: false }), response: { 200: Type.Object({ frequencyCap: Cap }) } } },
    async (request) => ({ frequencyCap: await setFrequencyCap(db, authOf(request).workspaceId, actorOf(request), (request.body as { frequencyCap: Static<typeof Cap> }).frequencyCap) }),
  );

  app.get('/campaigns', { config: { permission: 'campaigns:read' }, schema: { tags: ['campaigns'], response: { 200: Type.Object({ campaigns: Type.Array(CampaignSchema) }) } } }, async (request) => ({
    campaigns: await listCampaigns(db, authOf(request).workspaceId),
  }));

  app.post(
    '/campaigns',
    { config: { permission: 'campaigns:write' }, schema: { tags: ['campaigns'], summary: 'Create a draft campaign', body: CreateBody, response: { 201: Type.Object({ campaign: CampaignSchema }), 400: ErrorResponse } } },
    async (request, reply) => {
      const body = request.body as Static<typeof CreateBody>;
      const campaign = await createCampaign(db, authOf(request).workspaceId, actorOf(request), body.name, body.definition, clock.now(), deps.dns);
      return reply.code(201).send({ campaign });
    },
  );

  const SimulationOptions = {
    contactId: Type.Optional(Type.String({ format: 'uuid', description: 'A real contact (nothing about it is changed)' })),
    contact: Type.Optional(
      Type.Object(
        {
          email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
          first_name: Type.Optional(Type.String({ maxLength: 200 })),
          last_name: Type.Optional(Type.String({ maxLength: 200 })),
          company: Type.Optional(Type.String({ maxLength: 200 })),
          job_title: Type.Optional(Type.String({ maxLength: 200 })),
          timezone: Type.Optional(Type.String({ maxLength: 64 })),
          tags: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100 })),
          score: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
          custom_fields: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
        },
        { additionalProperties: false, description: 'A hypothetical contact' },
      ),
    ),
    entryEvent: Type.Optional(Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }, { additionalProperties: false })),
    events: Type.Optional(
      Type.Array(
        Type.Object(
          {
            afterSeconds: Type.Integer({ minimum: 0, maximum: 3650 * 86_400 }),
            type: Type.Optional(Type.Union(['track', 'system', 'email'].map((v) => Type.Literal(v as 'track')))),
            name: Type.String({ minLength: 1, maxLength: 200 }),
            properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
          },
          { additionalProperties: false },
        ),
        { maxItems: 100 },
      ),
    ),
    horizonDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })),
  };
  const SimulateBody = Type.Object({ definition: DefinitionBody, ...SimulationOptions }, { additionalProperties: false });
  const SimulateDraftBody = Type.Object(SimulationOptions, { additionalProperties: false });
  const simulationSchema = { tags: ['campaigns'], summary: 'Run a definition for one contact with time fast-forwarded; nothing is stored or sent', response: { 400: ErrorResponse, 404: ErrorResponse } };

  app.post('/campaigns/simulate', { config: { permission: 'campaigns:read' }, schema: { ...simulationSchema, body: SimulateBody } }, async (request) => {
    const body = request.body as Static<typeof SimulateBody>;
    return simulateCampaign(deps, authOf(request).workspaceId, 'Simulation', body);
  });

  app.post('/campaigns/:id/simulate', { config: { permission: 'campaigns:read' }, schema: { ...simulationSchema, params: IdParams, body: SimulateDraftBody } }, async (request) => {
    const workspaceId = authOf(request).workspaceId;
    const { campaign, definition } = await getCampaign(db, workspaceId, (request.params as { id: string }).id);
    return simulateCampaign(deps, workspaceId, campaign.name, { ...(request.body as Static<typeof SimulateDraftBody>), definition });
  });

  app.get(
    '/campaigns/:id',
    { config: { permission: 'campaigns:read' }, schema: { tags: ['campaigns'], summary: 'A campaign, its draft definition and per-node metrics', params: IdParams, response: { 404: ErrorResponse } } },
    async (request) => {
      const workspaceId = authOf(request).workspaceId;
      const id = (request.params as { id: string }).id;
      const { campaign, definition } = await getCampaign(db, workspaceId, id);
      const metrics = await campaignMetrics(db, workspaceId, id);
      return { campaign, definition, metrics };
    },
  );

  app.put(
    '/campaigns/:id',
    { config: { permission: 'campaigns:write' }, schema: { tags: ['campaigns'], summary: 'Save the draft (publish to make it live)', params: IdParams, body: UpdateBody, response: { 200: Type.Object({ campaign: CampaignSchema }), 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => {
      const body = request.body as Static<typeof UpdateBody>;
      const change = body.name === undefined ? { definition: body.definition } : { name: body.name, definition: body.definition };
      return { campaign: await updateCampaign(db, authOf(request).workspaceId, actorOf(request), (request.params as { id: string }).id, change, clock.now(), deps.dns) };
    },
  );

  app.post(
    '/campaigns/:id/publish',
    { config: { permission: 'campaigns:write' }, schema: { tags: ['campaigns'], summary: 'Freeze the draft as the next version and activate', params: IdParams, response: { 200: Type.Object({ campaign: CampaignSchema }), 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => ({ campaign: await publishCampaign(db, authOf(request).workspaceId, actorOf(request), (request.params as { id: string }).id, clock.now()) }),
  );

  for (const [action, to] of [
    ['pause', 'paused'],
    ['resume', 'active'],
    ['archive', 'archived'],
  ] as const) {
    app.post(
      `/campaigns/:id/${action}`,
      { config: { permission: 'campaigns:write' }, schema: { tags: ['campaigns'], params: IdParams, response: { 200: Type.Object({ campaign: CampaignSchema }), 404: ErrorResponse, 409: ErrorResponse } } },
      async (request) => ({ campaign: await setCampaignStatus(db, authOf(request).workspaceId, actorOf(request), (request.params as { id: string }).id, to, clock.now()) }),
    );
  }

  app.post(
    '/campaigns/:id/enroll',
    {
      config: { permission: 'campaigns:write' },
      schema: {
        tags: ['campaigns'],
        summary: 'Enroll contacts by hand; the answer gives each contact its result',
        params: IdParams,
        body: EnrollBody,
        response: {
          200: Type.Object({ results: Type.Array(Type.Object({ contactId: Type.String(), status: Type.String(), enrollmentId: Type.Optional(Type.String()) })) }),
          404: ErrorResponse,
          409: ErrorResponse,
        },
      },
    },
    async (request) => ({
      results: await enrollManually(db, authOf(request).workspaceId, actorOf(request), (request.params as { id: string }).id, (request.body as Static<typeof EnrollBody>).contactIds, clock.now()),
    }),
  );

  const MigrateBody = Type.Object({ fromVersion: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) }, { additionalProperties: false });
  app.post(
    '/campaigns/:id/migrate',
    {
      config: { permission: 'campaigns:write' },
      schema: {
        tags: ['campaigns'],
        summary: 'Move running enrollments from an older version to the current one',
        params: IdParams,
        body: MigrateBody,
        response: { 200: Type.Object({ toVersion: Type.Integer(), moved: Type.Integer(), stayed: Type.Integer() }), 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) =>
      migrateEnrollments(db, authOf(request).workspaceId, actorOf(request), (request.params as { id: string }).id, (request.body as Static<typeof MigrateBody>).fromVersion, clock.now()),
  );

  app.post(
    '/campaigns/:id/inbound-secret',
    { config: { permission: 'campaigns:write' }, schema: { tags: ['campaigns'], summary: 'Create or rotate the inbound webhook secret (shown once)', params: IdParams, response: { 201: Type.Object({ secret: Type.String(), url: Type.String() }), 404: ErrorResponse } } },
    async (request, reply) => {
      const id = (request.params as { id: string }).id;
      const secret = await rotateInboundSecret(db, authOf(request).workspaceId, actorOf(request), id);
      return reply.code(201).send({ secret, url: `${deps.config.publicUrl}/hooks/campaigns/${id}` });
    },
  );

  app.get(
    '/campaigns/:id/enrollments/:enrollmentId',
    { config: { permission: 'campaigns:read' }, schema: { tags: ['campaigns'], summary: 'An enrollment and its journey, step by step', params: EnrollmentParams, response: { 404: ErrorResponse } } },
    async (request) => {
      const params = request.params as Static<typeof EnrollmentParams>;
      return getJourney(db, authOf(request).workspaceId, params.id, params.enrollmentId);
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/campaigns/:id/enrollments/:enrollmentId/${action}`,
      { config: { permission: 'campaigns:write' }, schema: { tags: ['campaigns'], summary: `${action === 'pause' ? 'Pause' : 'Resume'} one enrollment`, params: EnrollmentParams, response: { 204: Type.Null(), 404: ErrorResponse, 409: ErrorResponse } } },
      async (request, reply) => {
        const params = request.params as Static<typeof EnrollmentParams>;
        await setEnrollmentPaused(db, authOf(request).workspaceId, actorOf(request), params.id, params.enrollmentId, action === 'pause', clock.now());
        return reply.code(204).send();
      },
    );
  }

  app.post(
    '/campaigns/:id/enrollments/:enrollmentId/retry',
    { config: { permission: 'campaigns:write' }, schema: { tags: ['campaigns'], summary: 'Retry a failed enrollment from the step it failed at', params: EnrollmentParams, response: { 204: Type.Null(), 404: ErrorResponse, 409: ErrorResponse } } },
    async (request, reply) => {
      const params = request.params as Static<typeof EnrollmentParams>;
      await retryEnrollment(db, authOf(request).workspaceId, actorOf(request), params.id, params.enrollmentId, clock.now());
      return reply.code(204).send();
    },
  );
}


const InboundBody = Type.Object(
  {
    email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
    contactId: Type.Optional(Type.String({ format: 'uuid' })),
    properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false, minProperties: 1 },
);

/** Public (root scope) route of inbound webhook triggers, authenticated by the campaign secret. */
export function campaignHookRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.post(
    '/hooks/campaigns/:id',
    { schema: { tags: ['campaigns'], summary: 'Inbound webhook trigger (Authorization: Bearer <campaign secret>)', params: IdParams, body: InboundBody, response: { 202: Type.Object({ contactId: Type.String(), status: Type.String(), enrollmentId: Type.Optional(Type.String()) }), 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse } } },
    async (request, reply) => {
      const authorization = request.headers.authorization ?? '';
      const secret = authorization.startsWith('Bearer ') ? authorization.slice(7).trim() : '';
      const body = request.body as Static<typeof InboundBody>;
      if (!body.email && !body.contactId) throw new AppError('VALIDATION_FAILED', 'Send email or contactId');
      const result = await enrollFromInboundWebhook(deps.db, (request.params as { id: string }).id, secret, body, deps.clock.now());
      return reply.code(202).send(result);
    },
  );
}
