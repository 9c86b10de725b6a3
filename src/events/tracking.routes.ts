/**
 * The Segment-compatible HTTP Tracking API at the root: `/v1/identify`, `/v1/track`, `/v1/page`,
 * `/v1/screen`, `/v1/group`, `/v1/alias`, `/v1/batch` (and `/v1/import`, Segment's alias of batch).
 * Authenticated by a workspace write key as the HTTP Basic user (empty password) or a `writeKey`
 * body field; outside `/api`, so no session, CSRF or permission applies.
 */
import type { FastifyRequest } from 'fastify';
import type { AppDeps } from '../app.js';
import { AppError } from '../http/errors.js';
import { parseCheckedJson } from '../http/json-body.js';
import { findUnstorableText, UNSTORABLE_TEXT_MESSAGE } from '../http/text.js';
import { errors, typed, type ApiInstance } from '../http/typed.js';
import type { Actor } from '../identity/audit.js';
import { Accepted, AnyObject, BatchBody } from './events.schemas.js';
import { MAX_BATCH_BYTES, type MessageType } from './segment-message.js';
import { ingestMessages } from './tracking.js';
import { resolveWriteKey } from './write-keys.js';

/** The write key of a Segment request: the HTTP Basic user, or the body's `writeKey`. */
export function writeKeyOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header?.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? decoded : decoded.slice(0, colon);
  }
  const body: unknown = request.body;
  return typeof body === 'object' && body !== null && 'writeKey' in body && typeof body.writeKey === 'string' ? body.writeKey : null;
}

export function trackingRoutes(app: ApiInstance, deps: AppDeps): void {
  const tracking = { db: deps.db, clock: deps.clock, eventSink: deps.eventSink };

  void app.register(async (plain) => {
    const scope = typed(plain);
    // analytics.js sends beacons as text/plain; the body is still JSON.
    // Its shape is checked as every JSON body's is (src/http/json-body.ts).
    const parseJson = scope.getDefaultJsonParser('error', 'error');
    scope.addContentTypeParser('text/plain', { parseAs: 'string' }, (request, body, done) => parseCheckedJson(request, body as string, done, parseJson));

    async function authenticate(request: FastifyRequest): Promise<{ workspaceId: string; actor: Actor }> {
      const key = writeKeyOf(request);
      const resolved = key ? await resolveWriteKey(deps.db, deps.clock, key, deps.writeKeys) : null;
      if (!resolved) throw new AppError('INVALID_WRITE_KEY', 'Send a valid write key as the HTTP Basic user name');
      return { workspaceId: resolved.workspaceId, actor: { type: 'api_key', id: resolved.id, ip: request.ip, requestId: request.id } };
    }

    const single = (type: MessageType) =>
      scope.post(`/v1/${type}`, { bodyLimit: MAX_BATCH_BYTES, config: { checksTextPerMessage: true }, schema: { tags: ['tracking'], summary: `Segment ${type}`, body: AnyObject, response: { 200: Accepted, ...errors(400, 401, 413) } } }, async (request) => {
        const { workspaceId, actor } = await authenticate(request);
        const result = await ingestMessages(tracking, workspaceId, actor, [request.body], { implied: type });
        const refused = result.errors[0];
        if (refused) throw new AppError(refused.code, refused.message);
        return { success: true as const };
      });
    for (const type of ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const) single(type);

    for (const path of ['/v1/batch', '/v1/import']) {
      scope.post(path, { bodyLimit: MAX_BATCH_BYTES, config: { checksTextPerMessage: true }, schema: { tags: ['tracking'], summary: 'Segment batch: up to 500 KB, 32 KB per message', body: BatchBody, response: { 200: Accepted, ...errors(400, 401, 413) } } }, async (request) => {
        const { workspaceId, actor } = await authenticate(request);
        const body = request.body;
        if (!Array.isArray(body.batch) || body.batch.length === 0) throw new AppError('VALIDATION_FAILED', 'batch must be a non-empty array of messages', { field: 'batch' });
        // The batch's context applies to every message (stored with each); messages are checked one by one.
        const unstorable = findUnstorableText({ context: body.context });
        if (unstorable) throw new AppError('VALIDATION_FAILED', `Invalid body: ${unstorable} ${UNSTORABLE_TEXT_MESSAGE}`, { field: unstorable });
        const result = await ingestMessages(tracking, workspaceId, actor, body.batch, { implied: null, batchSentAt: body.sentAt, batchContext: body.context });
        if (result.accepted === 0) throw new AppError('MESSAGE_INVALID', 'Every message in the batch was refused', { errors: result.errors });
        return result.errors.length > 0 ? { success: true as const, errors: result.errors } : { success: true as const };
      });
    }
  });
}
