import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api } from '../api/endpoints';
import type { ApiToken, ApiTokenCreated } from '../api/types';
import { flush, installFakeHttp } from '../test/fakeHttp';
import { NEW_TOKEN, initialTokenList, toCreateToken, tokenFormSchema, tokenListReducer } from './apiTokens';

const SECRET = 'cpt_01hq3z8k7w0c9x2v5m4n6p8r1t_' + 'ab'.repeat(32);

const tok = (over: Partial<ApiToken> = {}): ApiToken => ({
  id: '01hq3z8k7w0c9x2v5m4n6p8r1t',
  kind: 'personal',
  name: 'ci',
  scopes: ['read', 'order'],
  project_id: null,
  role: null,
  created_by: 'u1',
  created_at: '2026-11-30T08:00:00Z',
  expires_at: '2027-02-28T08:00:00Z',
  last_used_at: null,
  ...over,
});

describe('API token shown once', () => {
  let fake: ReturnType<typeof installFakeHttp>;
  beforeEach(() => {
    fake = installFakeHttp();
  });
  afterEach(() => fake.restore());

  it('keeps the token from the creation answer only until dismissed, and never in the list', async () => {
    const pending = api.createToken(toCreateToken({ ...NEW_TOKEN, name: ' deploy ', scopes: ['order', 'read'] }, false));
    await flush();
    const req = fake.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/tokens');
    expect(req.body).toEqual({ name: 'deploy', scopes: ['read', 'order'], expires_in_days: 90 });
    const created: ApiTokenCreated = { ...tok({ name: 'deploy' }), token: SECRET };
    req.respond(201, created);
    let state = tokenListReducer(initialTokenList, { type: 'loaded', items: [tok({ id: 'old' })] });
    state = tokenListReducer(state, { type: 'created', token: await pending });
    expect(state.revealed).toEqual({ tokenId: created.id, token: SECRET });
    expect(state.items.map((t) => t.id)).toEqual([created.id, 'old']);
    expect(JSON.stringify(state.items)).not.toContain(SECRET);
    state = tokenListReducer(state, { type: 'dismiss' });
    expect(state.revealed).toBeNull();
    expect(JSON.stringify(state)).not.toContain(SECRET);
    // A reload of the list cannot bring it back either.
    state = tokenListReducer(state, { type: 'loaded', items: [{ ...created } as ApiToken] });
    expect(JSON.stringify(state)).not.toContain(SECRET);
  });

  it('forgets the token when that token is revoked before dismissing', () => {
    let state = tokenListReducer(initialTokenList, { type: 'created', token: { ...tok(), token: SECRET } });
    state = tokenListReducer(state, { type: 'revoked', id: tok().id });
    expect(state).toEqual({ items: [], revealed: null });
  });

  it('project tokens carry a role; the form bounds expiry to a year', async () => {
    const pending = api.createProjectToken('p1', toCreateToken({ ...NEW_TOKEN, name: 'svc', role: 'viewer' }, true));
    await flush();
    expect(fake.requests[0]!.url).toBe('/projects/p1/tokens');
    expect(fake.requests[0]!.body).toEqual({ name: 'svc', scopes: ['read'], expires_in_days: 90, role: 'viewer' });
    fake.requests[0]!.respond(201, { ...tok({ kind: 'project', role: 'viewer' }), token: SECRET });
    await pending;
    expect(tokenFormSchema.safeParse({ ...NEW_TOKEN, name: 'x', expiresInDays: 366 }).success).toBe(false);
    expect(tokenFormSchema.safeParse({ ...NEW_TOKEN, name: 'x', scopes: [] }).success).toBe(false);
    expect(tokenFormSchema.safeParse({ ...NEW_TOKEN, name: 'x', expiresInDays: 365 }).success).toBe(true);
  });
});
