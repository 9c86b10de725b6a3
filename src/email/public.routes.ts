/**
 * Public email routes at the root (no session): the open pixel `/t/o/:token`, click redirects
 * `/t/c/:token`, and unsubscribe `/u/:token` (preference page on GET, RFC 8058 one-click and the
 * page's forms on POST). Every token is verified first; a bad one is a 404, never a redirect.
 *
 * A POST with `action=unsubscribe` leaves all marketing email, `action=save` keeps the checked
 * `topic` values and opts out of the other topics, `action=resubscribe` undoes an unsubscribe
 * from all. Anything else is the RFC 8058 one-click POST (`List-Unsubscribe=One-Click`), which
 * leaves the email's own topic (see oneClickUnsubscribe in engagement.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app.js';
import { jsonShapeProblem } from '../http/json-body.js';
import { AppError } from '../http/errors.js';
import { typed } from '../http/typed.js';
import { escapeHtml } from '../platform/html.js';
import { ProviderParams, TokenParams } from './email.schemas.js';
import { handleWebhook, WebhookRejected } from './webhooks.js';
import { oneClickUnsubscribe, resubscribe, savePreferences, subscriptionStatus, unsubscribe, type SubscriptionStatus } from './engagement.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

function notFoundPage(reply: FastifyReply): FastifyReply {
  return reply.code(404).type('text/html; charset=utf-8').send('<!doctype html><meta charset="utf-8"><title>Link not found</title><p>This link is not valid.</p>');
}

function topicForm(path: string, status: SubscriptionStatus): string {
  if (!status.topics || status.topics.length === 0) return '';
  const rows = status.topics
    .map((topic) => {
      const id = `topic-${escapeHtml(topic.id)}`;
      const mark = status.messageTopic?.id === topic.id ? ' <em>(this email)</em>' : '';
      const description = topic.description ? `<br><small>${escapeHtml(topic.description)}</small>` : '';
      return `<li><input type="checkbox" id="${id}" name="topic" value="${escapeHtml(topic.id)}"${topic.subscribed ? ' checked' : ''}> <label for="${id}">${escapeHtml(topic.name)}${mark}</label>${description}</li>`;
    })
    .join('');
  return `<form method="post" action="${path}"><fieldset><legend>Send me email about</legend><ul>${rows}</ul></fieldset>
<input type="hidden" name="action" value="save"><button type="submit">Save preferences</button></form>`;
}

function preferencePage(token: string, status: SubscriptionStatus, notice: string | null): string {
  const path = `/u/${escapeHtml(token)}`;
  const action = status.unsubscribed
    ? `<p>You will not receive marketing email at <strong>${escapeHtml(status.email)}</strong>.</p>
<form method="post" action="${path}"><input type="hidden" name="action" value="resubscribe"><button type="submit">Subscribe again</button></form>`
    : `<p>You receive marketing email at <strong>${escapeHtml(status.email)}</strong>.</p>${topicForm(path, status)}
<form method="post" action="${path}"><input type="hidden" name="action" value="unsubscribe"><button type="submit">Unsubscribe from all marketing email</button></form>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Email preferences</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2937}button{font:inherit;padding:.5rem 1rem;cursor:pointer}.notice{background:#ecfdf5;padding:.5rem 1rem;border-radius:.25rem}fieldset{border:1px solid #d1d5db;border-radius:.25rem;margin:0 0 1rem}ul{list-style:none;padding:0}li{margin:.5rem 0}form{margin:0 0 1.5rem}</style>
</head><body><h1>Email preferences</h1>${notice ? `<p class="notice" role="status">${escapeHtml(notice)}</p>` : ''}${action}</body></html>`;
}

function visitorOf(request: FastifyRequest): { userAgent: string; ip: string } {
  return { userAgent: String(request.headers['user-agent'] ?? '').slice(0, 500), ip: request.ip };
}

function formOf(body: unknown): URLSearchParams {
  return new URLSearchParams(typeof body === 'string' ? body : '');
}

export function emailPublicRoutes(app: FastifyInstance, deps: AppDeps): void {
  const api = typed(app);
  const { signer } = deps.email;
  // One-click POSTs arrive form-encoded (or multipart); the token alone authorizes them.
  app.addContentTypeParser(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'], { parseAs: 'string', bodyLimit: 65_536 }, (_request, body, done) => done(null, body));
  // Webhook signatures cover the exact bytes, so JSON stays a string in this scope (its shape is
  // still checked first, as every JSON body's is: src/http/json-body.ts).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 1_048_576 }, (_request, body, done) => done(jsonShapeProblem(body as string), body));

  api.post('/webhooks/email/:providerId', { schema: { hide: true, params: ProviderParams } }, async (request, reply) => {
    const { providerId } = request.params;
    const body = typeof request.body === 'string' ? request.body : '';
    const provider = UUID.test(providerId) ? await deps.email.providers.credentialsOf(providerId) : null;
    if (!provider) {
      request.log.warn({ providerId }, 'email webhook for an unknown provider');
      throw new AppError('WEBHOOK_UNVERIFIED', 'The webhook could not be verified');
    }
    try {
      const recorded = await handleWebhook(
        { db: deps.db, clock: deps.clock, eventSink: () => deps.eventSink, http: deps.email.http, certificates: deps.email.snsCertificates },
        provider,
        request.headers as Record<string, string | undefined>,
        body,
      );
      return reply.code(200).send({ received: recorded });
    } catch (error) {
      if (error instanceof WebhookRejected) {
        request.log.warn({ providerId, kind: provider.kind, workspaceId: provider.workspaceId, reason: error.message }, 'email webhook rejected');
        throw new AppError('WEBHOOK_UNVERIFIED', 'The webhook could not be verified');
      }
      throw error;
    }
  });

  api.get('/t/o/*', { schema: { hide: true, params: TokenParams } }, async (request, reply) => {
    const link = signer.verify(request.params['*'].replace(/\.gif$/, ''), 'o');
    if (!link) return reply.code(404).send();
    await deps.email.engagement.open(link, visitorOf(request), deps.clock.now());
    return reply.header('cache-control', 'no-store, max-age=0').type('image/gif').send(PIXEL);
  });

  api.get('/t/c/*', { schema: { hide: true, params: TokenParams } }, async (request, reply) => {
    const link = signer.verify(request.params['*'], 'c');
    if (!link) return notFoundPage(reply);
    await deps.email.engagement.click(link, visitorOf(request), deps.clock.now());
    return reply.header('cache-control', 'no-store').redirect(link.u, 302);
  });

  api.get('/u/*', { schema: { hide: true, params: TokenParams } }, async (request, reply) => {
    const link = signer.verify(request.params['*'], 'u');
    const status = link ? await subscriptionStatus(deps.db, link) : null;
    if (!status) return notFoundPage(reply);
    return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(preferencePage(request.params['*'], status, null));
  });

  api.post('/u/*', { schema: { hide: true, params: TokenParams } }, async (request, reply) => {
    const link = signer.verify(request.params['*'], 'u');
    if (!link) return notFoundPage(reply);
    const now = deps.clock.now();
    const form = formOf(request.body);
    const wanted = form.get('action');
    let status: SubscriptionStatus | null;
    let notice: string;
    if (wanted === 'resubscribe') {
      status = await resubscribe(deps.db, link, now);
      notice = status?.unsubscribed ? 'This address stays blocked for another reason (bounce or complaint).' : 'You are subscribed again.';
    } else if (wanted === 'unsubscribe') {
      status = await unsubscribe(deps.db, deps.eventSink, link, 'preference_page', now);
      notice = 'You are unsubscribed from all marketing email.';
    } else if (wanted === 'save') {
      status = await savePreferences(deps.db, deps.eventSink, link, new Set(form.getAll('topic')), now);
      notice = 'Your preferences are saved.';
    } else {
      const outcome = await oneClickUnsubscribe(deps.db, deps.eventSink, link, now);
      status = outcome?.status ?? null;
      notice = outcome?.scope === 'topic' && status?.messageTopic ? `You are unsubscribed from "${status.messageTopic.name}".` : 'You are unsubscribed from all marketing email.';
    }
    if (!status) return notFoundPage(reply);
    return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(preferencePage(request.params['*'], status, notice));
  });
}
