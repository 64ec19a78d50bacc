import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api } from '../api/endpoints';
import type { Webhook, WebhookCreated } from '../api/types';
import { flush, installFakeHttp } from '../test/fakeHttp';
import {
  NEW_WEBHOOK,
  initialWebhookList,
  toCreateWebhook,
  toUpdateWebhook,
  webhookFormSchema,
  webhookListReducer,
  webhookValues,
} from './webhooks';

const SECRET = 'whsec_0123456789abcdef0123456789abcdef';

const hook = (over: Partial<Webhook> = {}): Webhook => ({
  id: 'wh1',
  project_id: 'p1',
  url: 'https://hooks.example.com/cp',
  events: ['run.failed', 'run.succeeded'],
  enabled: true,
  secret_hint: 'cdef',
  created_at: '2026-11-30T08:00:00Z',
  updated_at: '2026-11-30T08:00:00Z',
  last_delivery: null,
  ...over,
});

describe('webhook secret shown once', () => {
  let fake: ReturnType<typeof installFakeHttp>;
  beforeEach(() => {
    fake = installFakeHttp();
  });
  afterEach(() => fake.restore());

  it('keeps the secret from the creation answer only until it is dismissed, and never in the list', async () => {
    const pending = api.createWebhook('p1', toCreateWebhook({ ...NEW_WEBHOOK, url: ' https://hooks.example.com/cp ' }));
    await flush();
    const req = fake.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/projects/p1/webhooks');
    // No secret typed: none sent, the server generates one.
    expect(req.body).toEqual({ url: 'https://hooks.example.com/cp', events: NEW_WEBHOOK.events, enabled: true });
    const created: WebhookCreated = { ...hook(), secret: SECRET };
    req.respond(201, created);

    let state = webhookListReducer(initialWebhookList, { type: 'created', webhook: await pending });
    expect(state.revealed).toEqual({ webhookId: 'wh1', secret: SECRET });
    expect(JSON.stringify(state.items)).not.toContain(SECRET);
    expect(state.items[0]).not.toHaveProperty('secret');
    expect(state.items[0]?.secret_hint).toBe('cdef');

    state = webhookListReducer(state, { type: 'dismiss_secret' });
    expect(state.revealed).toBeNull();
    expect(JSON.stringify(state)).not.toContain(SECRET);

    // A reload of the list (the server gives the hint only) brings nothing back.
    const reloaded = api.listWebhooks('p1');
    await flush();
    fake.requests[1]!.respond(200, { items: [hook()] });
    state = webhookListReducer(state, { type: 'loaded', items: (await reloaded).items });
    expect(state.revealed).toBeNull();
    expect(JSON.stringify(state)).not.toContain(SECRET);
  });

  it('forgets a revealed secret when its webhook is deleted, and keeps another’s', () => {
    const s1 = webhookListReducer(initialWebhookList, { type: 'created', webhook: { ...hook(), secret: SECRET } });
    expect(webhookListReducer(s1, { type: 'deleted', id: 'wh1' }).revealed).toBeNull();
    expect(webhookListReducer(s1, { type: 'deleted', id: 'other' }).revealed?.secret).toBe(SECRET);
  });

  it('sends a typed secret on create, and on edit only what changed', () => {
    expect(toCreateWebhook({ ...NEW_WEBHOOK, url: 'https://x.example', secret: SECRET }).secret).toBe(SECRET);
    const w = hook();
    expect(toUpdateWebhook(w, webhookValues(w))).toEqual({});
    expect(toUpdateWebhook(w, { ...webhookValues(w), events: ['run.succeeded', 'run.failed'] })).toEqual({});
    expect(toUpdateWebhook(w, { ...webhookValues(w), enabled: false, secret: SECRET, events: ['run.failed'] })).toEqual({
      enabled: false,
      secret: SECRET,
      events: ['run.failed'],
    });
  });
});

describe('webhook form schema', () => {
  const issues = (v: typeof NEW_WEBHOOK) => {
    const r = webhookFormSchema.safeParse(v);
    return r.success ? {} : Object.fromEntries(r.error.issues.map((i) => [i.path.join('.'), i.message]));
  };
  it('wants an http(s) URL, an event, and a secret of 16 to 256 printable characters or none', () => {
    expect(issues({ ...NEW_WEBHOOK, url: 'https://hooks.example.com/x' })).toEqual({});
    expect(issues({ ...NEW_WEBHOOK, url: 'ftp://hooks.example.com/x', events: [], secret: 'short' })).toEqual({
      url: 'Enter an http or https URL',
      events: 'Choose at least one event',
      secret: 'Between 16 and 256 characters, or empty',
    });
    expect(issues({ ...NEW_WEBHOOK, url: 'https://hooks.example.com/x', secret: 'with a space in it!!' })).toEqual({
      secret: 'Printable ASCII without spaces',
    });
  });
});
