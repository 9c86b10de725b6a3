/** Contact routes: CRUD, list and search, tags, timeline, merge and erasure (shapes in contacts.schemas.ts). */
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { IdParams, NoContent } from '../http/schemas.js';
import { apiErrors, type ApiInstance } from '../http/typed.js';
import { listContacts } from './contact-list.js';
import { addTags, createContact, deleteContact, getContact, removeTag, updateContact, type ContactsDeps } from './contacts.js';
import { contactTimeline } from './timeline.js';
import { eraseContact } from './erasure.js';
import { mergeContacts } from './merge.js';
import { ContactSchema } from '../core/contact.schemas.js';
import { ContactPage, CreateContactBody, EraseAnswer, MergeBody, ListContactsQuery, TagParams, TagsBody, TimelinePage, TimelineQuery, UpdateContactBody } from './contacts.schemas.js';

export function contactsRoutes(app: ApiInstance, deps: AppDeps): void {
  const domain: ContactsDeps = { db: deps.db, clock: deps.clock, eventSink: deps.eventSink };

  app.post('/contacts', { config: { permission: 'contacts:write' }, schema: { tags: ['contacts'], summary: 'Create a contact', body: CreateContactBody, response: { 201: ContactSchema, ...apiErrors(400, 409) } } }, async (request, reply) => {
    const contact = await createContact(domain, authOf(request).workspaceId, actorOf(request), request.body);
    return reply.code(201).send(contact);
  });

  app.get('/contacts', { config: { permission: 'contacts:read' }, schema: { tags: ['contacts'], summary: 'List contacts, newest first, with search and filters (custom fields: cf.<key>=<value>)', querystring: ListContactsQuery, response: { 200: ContactPage, ...apiErrors(400) } } }, async (request) => {
    const query = request.query;
    const customFields: Record<string, string> = {};
    for (const [key, value] of Object.entries(query)) {
      if (key.startsWith('cf.') && typeof value === 'string') customFields[key.slice(3)] = value;
    }
    return listContacts(deps.db, authOf(request).workspaceId, {
      limit: query.limit,
      cursor: query.cursor,
      search: query.search,
      status: query.status,
      tag: query.tag,
      minScore: query.minScore,
      maxScore: query.maxScore,
      activeSince: query.activeSince,
      inactiveSince: query.inactiveSince,
      customFields,
    });
  });

  app.get('/contacts/:id', { config: { permission: 'contacts:read' }, schema: { tags: ['contacts'], params: IdParams, response: { 200: ContactSchema, ...apiErrors(400, 404) } } }, async (request) => {
    const { id } = request.params;
    return getContact(deps.db, authOf(request).workspaceId, id);
  });

  app.patch('/contacts/:id', { config: { permission: 'contacts:write' }, schema: { tags: ['contacts'], summary: 'Update fields; tags replace the set; customFields merge (null removes a key)', params: IdParams, body: UpdateContactBody, response: { 200: ContactSchema, ...apiErrors(400, 404, 409) } } }, async (request) => {
    const { id } = request.params;
    return updateContact(domain, authOf(request).workspaceId, actorOf(request), id, request.body);
  });

  app.delete('/contacts/:id', { config: { permission: 'contacts:write' }, schema: { tags: ['contacts'], params: IdParams, response: { 204: NoContent, ...apiErrors(400, 404) } } }, async (request, reply) => {
    const { id } = request.params;
    await deleteContact(domain, authOf(request).workspaceId, actorOf(request), id);
    return reply.code(204).send(null);
  });

  app.post(
    '/contacts/:id/merge',
    {
      config: { permission: 'contacts:write' },
      schema: {
        tags: ['contacts'],
        summary: 'Merge a duplicate into this contact: its fields fill gaps, its history moves here, and it is deleted',
        params: IdParams,
        body: MergeBody,
        response: { 200: ContactSchema, ...apiErrors(400, 404, 409) },
      },
    },
    async (request) => {
      const { id } = request.params;
      return mergeContacts(domain, authOf(request).workspaceId, actorOf(request), id, request.body.duplicateId);
    },
  );

  app.post(
    '/contacts/:id/erase',
    {
      config: { permission: 'contacts:write' },
      schema: {
        tags: ['contacts'],
        summary: 'Erase the personal data of a contact (GDPR), keeping its events and messages anonymously so counts stay true',
        params: IdParams,
        response: { 200: EraseAnswer, ...apiErrors(400, 404) },
      },
    },
    async (request) => {
      const { id } = request.params;
      return eraseContact(domain, authOf(request).workspaceId, actorOf(request), id);
    },
  );

  app.post('/contacts/:id/tags', { config: { permission: 'contacts:write' }, schema: { tags: ['contacts'], summary: 'Add tags (present ones are ignored)', params: IdParams, body: TagsBody, response: { 200: ContactSchema, ...apiErrors(400, 404, 409) } } }, async (request) => {
    const { id } = request.params;
    return addTags(domain, authOf(request).workspaceId, actorOf(request), id, request.body.tags);
  });

  app.delete('/contacts/:id/tags/:tag', { config: { permission: 'contacts:write' }, schema: { tags: ['contacts'], summary: 'Remove a tag', params: TagParams, response: { 200: ContactSchema, ...apiErrors(400, 404, 409) } } }, async (request) => {
    const { id, tag } = request.params;
    return removeTag(domain, authOf(request).workspaceId, actorOf(request), id, tag);
  });

  app.get('/contacts/:id/timeline', { config: { permission: 'contacts:read' }, schema: { tags: ['contacts'], summary: 'Events, emails and campaign steps of a contact, newest first', params: IdParams, querystring: TimelineQuery, response: { 200: TimelinePage, ...apiErrors(400, 404) } } }, async (request) => {
    const { id } = request.params;
    const query = request.query;
    return contactTimeline(deps.db, authOf(request).workspaceId, id, query.limit, query.cursor);
  });
}
