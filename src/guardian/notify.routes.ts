/**
 * Guardian notification routes: channels (CRUD, test send, digest schedule), the delivery log and
 * the in-app notification centre. Every route declares `guardian:read` for the auth hook, then
 * requires its Guardian capability (roles.ts): channels are read with alerts:read and changed with
 * config:write; the delivery log needs logs:read; notifications are listed with alerts:read and
 * marked read with alerts:operate.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { ErrorResponse, IdParams } from '../http/schemas.js';
import { createChannel, deleteChannel, getChannel, listChannels, updateChannel } from './channels.js';
import { ChannelList, Channel, CreateChannelBody, CreatedChannel, DigestBody, TestSendResult, UpdateChannelBody } from './channels.schemas.js';
import { DeliveryDetail, DeliveryPage, DeliveryQuery, MarkedRead, NotificationList, NotificationQuery, UnreadCount } from './deliveries.schemas.js';
import { getDelivery, listDeliveries } from './deliveries.js';
import { setDigest } from './digests.js';
import { listNotifications, markAllRead, markRead, unreadCount } from './notifications.js';
import { requireGuardian } from './roles.js';

const read = { permission: 'guardian:read' as const };
const tags = ['guardian'];
const E = ErrorResponse;

export function guardianNotifyRoutes(app: FastifyInstance, deps: AppDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const notifier = deps.guardianNotify;

  api.get('/guardian/channels', { config: read, schema: { tags, summary: 'Notification channels (no secrets)', response: { 200: ChannelList, 401: E, 403: E } } }, async (request) => {
    await requireGuardian(deps.db, authOf(request), 'alerts:read');
    return { channels: await listChannels(deps.db, authOf(request).workspaceId) };
  });

  api.get('/guardian/channels/:id', { config: read, schema: { tags, params: IdParams, response: { 200: Channel, 400: E, 401: E, 403: E, 404: E } } }, async (request) => {
    await requireGuardian(deps.db, authOf(request), 'alerts:read');
    return getChannel(deps.db, authOf(request).workspaceId, request.params.id);
  });

  api.post(
    '/guardian/channels',
    { config: read, schema: { tags, summary: 'Create a channel; a webhook channel answers its signing secret, once', body: CreateChannelBody, response: { 201: CreatedChannel, 401: E, 400: E, 403: E } } },
    async (request, reply) => {
      await requireGuardian(deps.db, authOf(request), 'config:write');
      return reply.code(201).send(await createChannel(notifier.deps, authOf(request).workspaceId, actorOf(request), request.body));
    },
  );

  api.patch(
    '/guardian/channels/:id',
    { config: read, schema: { tags, summary: 'Change a channel (name, enabled, recipients, URL)', params: IdParams, body: UpdateChannelBody, response: { 200: Channel, 401: E, 400: E, 403: E, 404: E } } },
    async (request) => {
      await requireGuardian(deps.db, authOf(request), 'config:write');
      return updateChannel(notifier.deps, authOf(request).workspaceId, actorOf(request), request.params.id, request.body);
    },
  );

  api.delete(
    '/guardian/channels/:id',
    { config: read, schema: { tags, summary: 'Delete a channel; its deliveries stay in the log', params: IdParams, response: { 204: Type.Null(), 400: E, 401: E, 403: E, 404: E } } },
    async (request, reply) => {
      await requireGuardian(deps.db, authOf(request), 'config:write');
      await deleteChannel(deps, authOf(request).workspaceId, actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  api.post(
    '/guardian/channels/:id/test',
    { config: read, schema: { tags, summary: 'Send a test notification now; answers the delivery’s outcome', params: IdParams, response: { 200: TestSendResult, 400: E, 401: E, 403: E, 404: E } } },
    async (request) => {
      await requireGuardian(deps.db, authOf(request), 'config:write');
      return notifier.testSend(authOf(request).workspaceId, request.params.id);
    },
  );

  api.put(
    '/guardian/channels/:id/digest',
    { config: read, schema: { tags, summary: "Daily or weekly digest at an hour of the workspace's time zone; null frequency turns it off", params: IdParams, body: DigestBody, response: { 200: Channel, 401: E, 400: E, 403: E, 404: E } } },
    async (request) => {
      await requireGuardian(deps.db, authOf(request), 'config:write');
      return setDigest(deps, authOf(request).workspaceId, actorOf(request), request.params.id, request.body);
    },
  );

  api.get('/guardian/deliveries', { config: read, schema: { tags, summary: 'The delivery log, newest first', querystring: DeliveryQuery, response: { 200: DeliveryPage, 401: E, 400: E, 403: E } } }, async (request) => {
    await requireGuardian(deps.db, authOf(request), 'logs:read');
    return listDeliveries(deps.db, authOf(request).workspaceId, request.query);
  });

  api.get('/guardian/deliveries/:id', { config: read, schema: { tags, summary: 'One delivery with its attempts', params: IdParams, response: { 200: DeliveryDetail, 400: E, 401: E, 403: E, 404: E } } }, async (request) => {
    await requireGuardian(deps.db, authOf(request), 'logs:read');
    return getDelivery(deps.db, authOf(request).workspaceId, request.params.id);
  });

  api.get('/guardian/notifications', { config: read, schema: { tags, summary: 'In-app notifications, newest first, with the unread count', querystring: NotificationQuery, response: { 200: NotificationList, 400: E, 401: E, 403: E } } }, async (request) => {
    const auth = authOf(request);
    await requireGuardian(deps.db, auth, 'alerts:read');
    return listNotifications(deps.db, auth.workspaceId, auth.userId, request.query);
  });

  api.get('/guardian/notifications/unread-count', { config: read, schema: { tags, response: { 200: UnreadCount, 401: E, 403: E } } }, async (request) => {
    const auth = authOf(request);
    await requireGuardian(deps.db, auth, 'alerts:read');
    return { unreadCount: await unreadCount(deps.db, auth.workspaceId, auth.userId) };
  });

  api.post('/guardian/notifications/:id/read', { config: read, schema: { tags, summary: 'Mark a notification read for the caller', params: IdParams, response: { 200: MarkedRead, 401: E, 400: E, 403: E, 404: E } } }, async (request) => {
    const auth = authOf(request);
    await requireGuardian(deps.db, auth, 'alerts:operate');
    return markRead(deps, auth.workspaceId, auth.userId, request.params.id);
  });

  api.post('/guardian/notifications/read-all', { config: read, schema: { tags, summary: 'Mark every notification read for the caller', response: { 200: MarkedRead, 401: E, 400: E, 403: E } } }, async (request) => {
    const auth = authOf(request);
    await requireGuardian(deps.db, auth, 'alerts:operate');
    return markAllRead(deps, auth.workspaceId, auth.userId);
  });
}
