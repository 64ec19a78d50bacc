import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { http, newRequestId } from './client';
import { flush, installFakeHttp } from '../test/fakeHttp';

describe('request ids', () => {
  let fake: ReturnType<typeof installFakeHttp>;
  beforeEach(() => {
    fake = installFakeHttp();
  });
  afterEach(() => fake.restore());

  it('are ids the server keeps (1-64 of [A-Za-z0-9._:-]) and new each time', () => {
    const a = newRequestId();
    expect(a).toMatch(/^ui-[0-9a-f]{16}$/);
    expect(newRequestId()).not.toBe(a);
  });

  it('go with every call, one per call, unless the caller set one', async () => {
    void http.get('/projects');
    void http.get('/projects');
    void http.get('/projects', { headers: { 'X-Request-Id': 'mine-1' } });
    await flush();
    const ids = fake.requests.map((r) => r.headers['X-Request-Id']);
    expect(ids[0]).toMatch(/^ui-[0-9a-f]{16}$/);
    expect(ids[1]).toMatch(/^ui-[0-9a-f]{16}$/);
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[2]).toBe('mine-1');
    for (const r of fake.requests) r.respond(200, {});
  });
});
