import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, type AuditLogEntry } from '../../../src/identity/audit.schemas.js';
import { auditParts, auditSentence, changesOf, ENTITIES, ENTITY_LABELS, entityOf } from './sentences';

const entry = (action: string, overrides: Partial<AuditLogEntry> = {}): AuditLogEntry => ({
  id: 1,
  actorType: 'user',
  actorId: 'u1',
  actorName: 'Ada',
  action,
  resourceType: 'thing',
  resourceId: 'r1',
  before: { name: 'Welcome', subject: 'Hi', role: 'member' },
  after: { name: 'Welcome', subject: 'Hello', role: 'admin' },
  ip: '127.0.0.1',
  requestId: null,
  createdAt: '2026-12-03T10:00:00.000Z',
  campaign: null,
  ...overrides,
});

describe('activity sentences', () => {
  it('words every action the server records: a sentence naming the actor, its own for each action', () => {
    const sentences = new Map<string, string>();
    for (const action of AUDIT_ACTIONS) {
      const sentence = auditSentence(entry(action));
      expect(sentence, action).toMatch(/^Ada /);
      expect(sentence, action).not.toMatch(/undefined|null|\[object|did /);
      expect(sentence.length, action).toBeGreaterThan('Ada '.length + 5);
      sentences.set(action, sentence);
    }
    expect(new Set(sentences.values()).size).toBe(AUDIT_ACTIONS.length);
  });

  it('says which fields an update changed, and of which entity', () => {
    expect(auditSentence(entry('template.update'))).toBe("Ada changed the subject and the role of template 'Welcome'");
    expect(auditSentence(entry('template.update', { before: { name: 'Welcome' }, after: { name: 'Welcome' } }))).toBe("Ada updated template 'Welcome'");
    expect(auditSentence(entry('workspace.update', { before: { timeZone: 'UTC' }, after: { timeZone: 'Europe/Berlin' } }))).toBe("Ada set the workspace's time zone to Europe/Berlin");
    expect(auditSentence(entry('segment.members.add', { before: null, after: { contactIds: ['a', 'b'] } }))).toBe('Ada added 2 contacts to a static list');
  });

  it('names who acted when the name is gone: the system, a deleted key, a former member', () => {
    expect(auditSentence(entry('contact.create', { actorType: 'system', actorId: null, actorName: null }))).toMatch(/^Unite Hub added contact/);
    expect(auditSentence(entry('contact.create', { actorType: 'api_key', actorName: null }))).toMatch(/^A deleted API key /);
    expect(auditSentence(entry('contact.create', { actorName: null }))).toMatch(/^A former member /);
    expect(auditSentence(entry('contact.reticulate'))).toBe("Ada did contact reticulate 'Welcome'");
  });

  it('lists changed fields with before and after, skipping bookkeeping fields', () => {
    const changes = changesOf({ before: { subject: 'Hi', updatedAt: '1', tags: ['a'] }, after: { subject: 'Hello', updatedAt: '2', tags: ['a'], firstName: 'Ada' } });
    expect(changes).toEqual([
      { field: 'subject', label: 'subject', before: 'Hi', after: 'Hello' },
      { field: 'firstName', label: 'first name', before: undefined, after: 'Ada' },
    ]);
    expect(changesOf({ before: null, after: null })).toEqual([]);
  });

  it('names the campaign (and the A/B split step) an entry concerns, linking to the campaign', () => {
    const spring = { id: '0b6f5a3e-8a52-4a43-9a3d-1e0f6f8f6c11', name: 'Spring launch', nodeId: null, nodeName: null };
    const subject = { ...spring, nodeId: 'subject', nodeName: 'Subject line' };
    const none = { before: null, after: null };
    expect(auditSentence(entry('campaign.publish', { ...none, before: { version: null }, after: { version: 1 }, campaign: spring }))).toBe("Ada published campaign 'Spring launch'");
    expect(auditSentence(entry('campaign.enrollment.pause', { ...none, resourceType: 'enrollment', campaign: spring }))).toBe("Ada paused one contact's journey in campaign 'Spring launch'");
    expect(auditSentence(entry('campaign.broadcast.cancel', { ...none, campaign: spring }))).toBe("Ada cancelled a scheduled broadcast of campaign 'Spring launch'");
    expect(auditSentence(entry('campaign.split_winner', { actorType: 'system', actorId: null, actorName: null, before: null, after: { nodeId: 'subject', variant: 'b', decidedBy: 'auto' }, campaign: subject }))).toBe(
      "Unite Hub picked Variant B as the winner of A/B split 'Subject line' in campaign 'Spring launch' (the automatic test)",
    );
    expect(auditSentence(entry('campaign.split_winner_cleared', { before: { nodeId: 'subject', variant: 'a' }, after: { nodeId: 'subject', variant: null }, campaign: { ...subject, nodeName: null } }))).toBe(
      "Ada cleared Variant A as the winner of A/B split 'subject' in campaign 'Spring launch'",
    );
    expect(auditSentence(entry('campaign.split_inconclusive', { ...none, campaign: subject }))).toBe("Ada ended the A/B test 'Subject line' in campaign 'Spring launch' without a winner");

    const parts = auditParts(entry('campaign.split_winner', { before: null, after: { nodeId: 'subject', variant: 'b', decidedBy: 'manual' }, campaign: subject }));
    expect(parts).toEqual([
      { text: "Ada picked Variant B as the winner of A/B split 'Subject line' in campaign " },
      { text: "'Spring launch'", href: `/campaigns/${spring.id}` },
    ]);
    expect(auditParts(entry('contact.create'))).toEqual([{ text: "Ada added contact 'Welcome'" }]);
  });

  it('labels every entity the filter offers', () => {
    for (const action of AUDIT_ACTIONS) expect(ENTITY_LABELS[entityOf(action)], action).toBeDefined();
    expect(ENTITIES.map((e) => e.value)).toContain('campaign.enrollment');
  });
});
