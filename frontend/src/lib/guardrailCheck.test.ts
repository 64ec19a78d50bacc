import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api } from '../api/endpoints';
import type { GuardrailCheck, GuardrailCheckRequest, GuardrailCheckResult } from '../api/types';
import { installFakeHttp, type FakeRequest } from '../test/fakeHttp';
import { CHECK_DEBOUNCE_MS, createLiveCheck, type LiveCheckState } from './guardrailCheck';

const order = (size: string): GuardrailCheckRequest => ({ project_id: 'p1', account_id: 'a1', kind: 'vm', region: 'sbx-east-1', size });

const check = (outcome: GuardrailCheck['outcome'], message: string): GuardrailCheck => ({
  rule: 'allowed_sizes',
  level: 'hard',
  stage: 'order',
  outcome,
  message,
  address: null,
  reason: null,
  overridden_by: null,
  created_at: null,
});
const result = (c: GuardrailCheck): GuardrailCheckResult => ({ allowed: c.outcome !== 'blocked', override_possible: false, checks: [c] });

describe('live guardrail check', () => {
  let fake: ReturnType<typeof installFakeHttp>;
  let states: LiveCheckState[];
  let live: ReturnType<typeof createLiveCheck>;

  // Fake timers for the debounce only; promises still settle through flush().
  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    await vi.advanceTimersByTimeAsync(0);
  };
  const checks = (): FakeRequest[] => fake.requests.filter((r) => r.url === '/guardrails/check');

  beforeEach(() => {
    vi.useFakeTimers();
    fake = installFakeHttp();
    states = [];
    live = createLiveCheck((b, signal) => api.checkGuardrails(b, signal), (s) => states.push(s));
  });
  afterEach(() => {
    live.dispose();
    fake.restore();
    vi.useRealTimers();
  });

  it('waits for a pause in typing, then sends one request with the latest order', async () => {
    live.update(order('s'));
    await vi.advanceTimersByTimeAsync(CHECK_DEBOUNCE_MS - 50);
    live.update(order('sb'));
    await vi.advanceTimersByTimeAsync(CHECK_DEBOUNCE_MS - 50);
    live.update(order('sbx.large'));
    expect(checks()).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(CHECK_DEBOUNCE_MS);
    expect(checks()).toHaveLength(1);
    expect(checks()[0]!.method).toBe('POST');
    expect(checks()[0]!.body).toEqual(order('sbx.large'));
    expect(states.at(-1)?.status).toBe('checking');

    checks()[0]!.respond(200, result(check('blocked', 'sbx.large is not allowed')));
    await settle();
    expect(states.at(-1)).toMatchObject({ status: 'done', result: { allowed: false } });
  });

  it('cancels the request in flight when the order changes, and never shows its answer', async () => {
    live.update(order('sbx.large'));
    await vi.advanceTimersByTimeAsync(CHECK_DEBOUNCE_MS);
    const first = checks()[0]!;
    live.update(order('sbx.small'));
    expect(first.aborted()).toBe(true);
    await vi.advanceTimersByTimeAsync(CHECK_DEBOUNCE_MS);
    const second = checks()[1]!;
    expect(second.body).toEqual(order('sbx.small'));

    second.respond(200, result(check('passed', 'allowed')));
    await settle();
    // The first answer arrives late (a server that ignored the abort): dropped.
    first.respond(200, result(check('blocked', 'stale')));
    await settle();
    const last = states.at(-1)!;
    expect(last.status).toBe('done');
    expect(last.result?.checks[0]?.message).toBe('allowed');
    expect(states.some((s) => s.result?.checks[0]?.message === 'stale')).toBe(false);
    expect(states.some((s) => s.status === 'error')).toBe(false);
  });

  it('keeps the previous result visible while the next check is due', async () => {
    live.update(order('a'));
    await vi.advanceTimersByTimeAsync(CHECK_DEBOUNCE_MS);
    checks()[0]!.respond(200, result(check('passed', 'first')));
    await settle();
    live.update(order('b'));
    expect(states.at(-1)).toMatchObject({ status: 'checking', result: { checks: [{ message: 'first' }] } });
  });

  it('does not ask again for the same order, and goes idle without one', async () => {
    live.update(order('a'));
    await vi.advanceTimersByTimeAsync(CHECK_DEBOUNCE_MS);
    live.update(order('a'));
    await vi.advanceTimersByTimeAsync(CHECK_DEBOUNCE_MS);
    expect(checks()).toHaveLength(1);
    live.update(null);
    expect(checks()[0]!.aborted()).toBe(true);
    expect(states.at(-1)).toEqual({ status: 'idle' });
    await vi.advanceTimersByTimeAsync(CHECK_DEBOUNCE_MS * 2);
    expect(checks()).toHaveLength(1);
  });

  it('reports a server error of the latest order', async () => {
    live.update(order('a'));
    await vi.advanceTimersByTimeAsync(CHECK_DEBOUNCE_MS);
    checks()[0]!.respond(422, { error: { code: 'not_found', message: 'No such account', field: 'account_id' } });
    await settle();
    expect(states.at(-1)).toMatchObject({ status: 'error', error: { code: 'not_found', message: 'No such account' } });
  });
});
