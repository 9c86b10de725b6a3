/**
 * Guardian core routes under /api/guardian: the signal catalog, rules (CRUD), alerts (list, one
 * with its timeline, acknowledge, resolve), sending health for the charts, the caller's Guardian
 * role, every member's Guardian role and an owner's override of it. Every route declares guardian:read
 * for the auth hook and then asks requireGuardian for the capability it needs (roles.ts); the
 * member override is members:write (owners only).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { ErrorResponse, IdParams } from '../http/schemas.js';
import { acknowledgeAlert, getAlert, listAlerts, resolveAlert } from './alerts.js';
import { Alert, AlertDetail, AlertList, AlertQuery, GuardianMe, HealthQuery, HealthSeries, MemberRole, MemberRoleBody, MemberRoleList, Rule, RuleBody, RuleList, RulePatch, SignalList, UserIdParams } from './guardian.schemas.js';
import { sendingHealth } from './health.js';
import { guardianMe, listMemberGuardianRoles, setMemberGuardianRole } from './members.js';
import { requireGuardian, type GuardianCapability } from './roles.js';
import { createRule, deleteRule, getRule, listRules, updateRule } from './rules.js';
import { SIGNAL_KEYS, SIGNALS } from './signal-catalog.schemas.js';

const tags = ['guardian'];
const READ = { permission: 'guardian:read' as const };
const E = { 401: ErrorResponse, 403: ErrorResponse };
const E404 = { ...E, 404: ErrorResponse };

export function guardianRoutes(scope: FastifyInstance, deps: AppDeps): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const domain = { db: deps.db, clock: deps.clock };
  const allow = async (request: FastifyRequest, capability: GuardianCapability): Promise<string> => {
    const auth = authOf(request);
    await requireGuardian(db, auth, capability);
    return auth.workspaceId;
  };

  app.get('/guardian/signals', { config: READ, schema: { tags, summary: 'The signals a rule can watch, with their units', response: { 200: SignalList, ...E } } }, async (request) => {
    await allow(request, 'alerts:read');
    return { signals: SIGNAL_KEYS.map((key) => ({ ...SIGNALS[key], scopeKeys: [...SIGNALS[key].scopeKeys] })) };
  });

  app.get('/guardian/rules', { config: READ, schema: { tags, summary: 'Alert rules of the workspace', response: { 200: RuleList, ...E } } }, async (request) => ({ rules: await listRules(db, await allow(request, 'alerts:read')) }));
  app.get('/guardian/rules/:id', { config: READ, schema: { tags, summary: 'One alert rule', params: IdParams, response: { 200: Rule, 400: ErrorResponse, ...E404 } } }, async (request) =>
    getRule(db, await allow(request, 'alerts:read'), request.params.id),
  );
  app.post('/guardian/rules', { config: READ, schema: { tags, summary: 'Create an alert rule (Guardian admins)', body: RuleBody, response: { 201: Rule, 400: ErrorResponse, ...E } } }, async (request, reply) => {
    const rule = await createRule(domain, await allow(request, 'config:write'), actorOf(request), request.body);
    return reply.code(201).send(rule);
  });
  app.patch('/guardian/rules/:id', { config: READ, schema: { tags, summary: 'Change an alert rule; enabled: false disables it and resolves its open alert', params: IdParams, body: RulePatch, response: { 200: Rule, 400: ErrorResponse, ...E404 } } }, async (request) =>
    updateRule(domain, await allow(request, 'config:write'), actorOf(request), request.params.id, request.body),
  );
  app.delete('/guardian/rules/:id', { config: READ, schema: { tags, summary: 'Delete an alert rule (its open alert is resolved; past alerts stay)', params: IdParams, response: { 204: Type.Null(), 400: ErrorResponse, ...E404 } } }, async (request, reply) => {
    await deleteRule(domain, await allow(request, 'config:write'), actorOf(request), request.params.id);
    return reply.code(204).send(null);
  });

  app.get('/guardian/alerts', { config: READ, schema: { tags, summary: 'Alerts (incidents), newest first, with filters', querystring: AlertQuery, response: { 200: AlertList, 400: ErrorResponse, ...E } } }, async (request) =>
    listAlerts(db, await allow(request, 'alerts:read'), request.query),
  );
  app.get('/guardian/alerts/:id', { config: READ, schema: { tags, summary: 'One alert with its timeline', params: IdParams, response: { 200: AlertDetail, 400: ErrorResponse, ...E404 } } }, async (request) =>
    getAlert(db, await allow(request, 'alerts:read'), request.params.id),
  );
  app.post('/guardian/alerts/:id/acknowledge', { config: READ, schema: { tags, summary: 'Acknowledge a firing alert (analysts and admins)', params: IdParams, response: { 200: Alert, 400: ErrorResponse, 409: ErrorResponse, ...E404 } } }, async (request) =>
    acknowledgeAlert(domain, await allow(request, 'alerts:operate'), actorOf(request), request.params.id),
  );
  app.post('/guardian/alerts/:id/resolve', { config: READ, schema: { tags, summary: 'Resolve an open alert by hand (analysts and admins)', params: IdParams, response: { 200: Alert, 400: ErrorResponse, 409: ErrorResponse, ...E404 } } }, async (request) =>
    resolveAlert(domain, await allow(request, 'alerts:operate'), actorOf(request), request.params.id),
  );

  app.get('/guardian/health', { config: READ, schema: { tags, summary: 'Sending health over time per provider: sends, bounce and complaint rates', querystring: HealthQuery, response: { 200: HealthSeries, 400: ErrorResponse, ...E } } }, async (request) =>
    sendingHealth(db, await allow(request, 'alerts:read'), request.query.range ?? '24h', deps.clock.now()),
  );

  app.get('/guardian/me', { config: READ, schema: { tags, summary: "The caller's Guardian role and capabilities", response: { 200: GuardianMe, 403: ErrorResponse, 401: ErrorResponse } } }, async (request) => guardianMe(db, authOf(request)));
  app.get('/guardian/members', { config: { permission: 'members:read' }, schema: { tags, summary: "Every member's effective Guardian role: an owner's override, else the default from the workspace role", response: { 200: MemberRoleList, ...E } } }, async (request) => ({
    members: await listMemberGuardianRoles(db, authOf(request).workspaceId),
  }));
  app.put('/guardian/members/:userId/role', { config: { permission: 'members:write' }, schema: { tags, summary: "Override a member's Guardian role (owners); null returns to the default", params: UserIdParams, body: MemberRoleBody, response: { 200: MemberRole, 400: ErrorResponse, ...E404 } } }, async (request) =>
    setMemberGuardianRole(domain, authOf(request).workspaceId, actorOf(request), request.params.userId, request.body.role),
  );
}
