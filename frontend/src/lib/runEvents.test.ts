import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../api/types';
import {
  MAX_LOG_LINES,
  initialRunView,
  isFinalRunStatus,
  parseRunEvent,
  percentFor,
  runEventsReducer,
  type RunViewState,
} from './runEvents';

const reduce = (events: RunEvent[], from: RunViewState = initialRunView) => events.reduce(runEventsReducer, from);

const plan: RunEvent = {
  type: 'plan',
  seq: 3,
  data: {
    add: 2,
    change: 0,
    destroy: 0,
    resources: [
      { address: 'terraform_data.vm', action: 'create' },
      { address: 'terraform_data.ip', action: 'create' },
      { address: 'data.terraform_remote_state.x', action: 'read' },
    ],
  },
};

describe('runEventsReducer', () => {
  it('creates one pending entry per planned address, in plan order', () => {
    const s = reduce([plan]);
    expect(s.addresses).toEqual(['terraform_data.vm', 'terraform_data.ip', 'data.terraform_remote_state.x']);
    expect(s.progress['terraform_data.vm']).toMatchObject({ state: 'pending', percent: 0, action: 'create' });
    // reads will get no progress events: shown as done at once
    expect(s.progress['data.terraform_remote_state.x']).toMatchObject({ state: 'complete', percent: 100 });
    expect(s.plan?.add).toBe(2);
    expect(s.lastSeq).toBe(3);
  });

  it('moves an address through started → progress → complete', () => {
    let s = reduce([plan]);
    s = runEventsReducer(s, {
      type: 'progress',
      seq: 4,
      data: { address: 'terraform_data.vm', action: 'create', state: 'started', elapsed_seconds: 0 },
    });
    expect(s.progress['terraform_data.vm']).toMatchObject({ state: 'started', percent: 5 });
    s = runEventsReducer(s, {
      type: 'progress',
      seq: 5,
      data: { address: 'terraform_data.vm', action: 'create', state: 'progress', elapsed_seconds: 30 },
    });
    const mid = s.progress['terraform_data.vm']!;
    expect(mid.state).toBe('progress');
    expect(mid.percent).toBeGreaterThan(5);
    expect(mid.percent).toBeLessThan(100);
    expect(mid.elapsedSeconds).toBe(30);
    s = runEventsReducer(s, {
      type: 'progress',
      seq: 6,
      data: { address: 'terraform_data.vm', action: 'create', state: 'complete', elapsed_seconds: 31 },
    });
    expect(s.progress['terraform_data.vm']).toMatchObject({ state: 'complete', percent: 100 });
    // the other address is untouched
    expect(s.progress['terraform_data.ip']).toMatchObject({ state: 'pending', percent: 0 });
  });

  it('never moves a bar backwards, nor a completed address back to progress', () => {
    let s = reduce([
      plan,
      { type: 'progress', seq: 4, data: { address: 'terraform_data.vm', action: 'create', state: 'progress', elapsed_seconds: 60 } },
    ]);
    const high = s.progress['terraform_data.vm']!.percent;
    s = runEventsReducer(s, {
      type: 'progress',
      seq: 5,
      data: { address: 'terraform_data.vm', action: 'create', state: 'progress', elapsed_seconds: 1 },
    });
    expect(s.progress['terraform_data.vm']!.percent).toBe(high);
    s = runEventsReducer(s, {
      type: 'progress',
      seq: 6,
      data: { address: 'terraform_data.vm', action: 'create', state: 'complete', elapsed_seconds: 61 },
    });
    s = runEventsReducer(s, {
      type: 'progress',
      seq: 7,
      data: { address: 'terraform_data.vm', action: 'create', state: 'progress', elapsed_seconds: 62 },
    });
    expect(s.progress['terraform_data.vm']!.state).toBe('complete');
  });

  it('adds addresses that were not in the plan', () => {
    const s = reduce([
      { type: 'progress', seq: 1, data: { address: 'aws_instance.this', action: 'delete', state: 'started', elapsed_seconds: 0 } },
    ]);
    expect(s.addresses).toEqual(['aws_instance.this']);
    expect(s.progress['aws_instance.this']).toMatchObject({ action: 'delete', state: 'started' });
  });

  it('marks an errored address', () => {
    const s = reduce([
      plan,
      { type: 'progress', seq: 4, data: { address: 'terraform_data.ip', action: 'create', state: 'errored', elapsed_seconds: 2 } },
    ]);
    expect(s.progress['terraform_data.ip']).toMatchObject({ state: 'errored', percent: 100 });
  });

  it('appends log lines in order and ignores replays after a reconnect', () => {
    const logs: RunEvent[] = [1, 2, 3].map((n) => ({
      type: 'log',
      seq: n,
      data: { seq: n, ts: `2030-01-01T00:00:0${n}Z`, stream: 'stdout', line: `line ${n}` },
    }));
    let s = reduce(logs);
    // the server replays from Last-Event-ID; a fresh connection replays everything
    s = reduce([...logs, { type: 'log', seq: 4, data: { seq: 4, ts: 't', stream: 'stderr', line: 'oops' } }], s);
    expect(s.logs.map((l) => l.line)).toEqual(['line 1', 'line 2', 'line 3', 'oops']);
    expect(s.logs[3]!.stream).toBe('stderr');
    expect(s.lastSeq).toBe(4);
  });

  it('takes the log seq from the data when the event id is missing', () => {
    const s = reduce([{ type: 'log', data: { seq: 9, ts: 't', stream: 'system', line: 'hello' } }]);
    expect(s.logs[0]).toMatchObject({ seq: 9, line: 'hello', stream: 'system' });
    expect(s.lastSeq).toBe(9);
    expect(runEventsReducer(s, { type: 'log', data: { seq: 9, ts: 't', stream: 'system', line: 'hello' } })).toBe(s);
  });

  it('keeps at most MAX_LOG_LINES lines and counts the trimmed ones', () => {
    const many: RunEvent[] = Array.from({ length: MAX_LOG_LINES + 10 }, (_, i) => ({
      type: 'log',
      seq: i + 1,
      data: { seq: i + 1, ts: 't', stream: 'stdout', line: `l${i + 1}` },
    }));
    const s = reduce(many);
    expect(s.logs).toHaveLength(MAX_LOG_LINES);
    expect(s.trimmedLogs).toBe(10);
    expect(s.logs[0]!.line).toBe('l11');
  });

  it('status succeeded completes every non-errored address and records statuses', () => {
    let s = reduce([
      plan,
      { type: 'progress', seq: 4, data: { address: 'terraform_data.vm', action: 'create', state: 'started', elapsed_seconds: 0 } },
      { type: 'status', seq: 5, data: { run_status: 'applying', resource_status: 'provisioning' } },
    ]);
    expect(s.runStatus).toBe('applying');
    expect(s.progress['terraform_data.vm']!.state).toBe('started');
    s = runEventsReducer(s, { type: 'status', seq: 6, data: { run_status: 'succeeded', resource_status: 'active' } });
    expect(s.runStatus).toBe('succeeded');
    expect(s.resourceStatus).toBe('active');
    expect(Object.values(s.progress).every((p) => p.state === 'complete' && p.percent === 100)).toBe(true);
  });

  it('status failed leaves unfinished addresses as they were', () => {
    const s = reduce([
      plan,
      { type: 'progress', seq: 4, data: { address: 'terraform_data.vm', action: 'create', state: 'errored', elapsed_seconds: 3 } },
      { type: 'status', seq: 5, data: { run_status: 'failed', resource_status: 'failed' } },
    ]);
    expect(s.progress['terraform_data.vm']!.state).toBe('errored');
    expect(s.progress['terraform_data.ip']!.state).toBe('pending');
    expect(s.resourceStatus).toBe('failed');
  });

  it('stores outputs and notes truncation in the log', () => {
    const s = reduce([
      { type: 'outputs', seq: 10, data: { id: 'sbx-123', public_ip: '203.0.113.10', private_ip: '10.0.0.5' } },
      { type: 'truncated', seq: 11, data: { dropped: 42 } },
    ]);
    expect(s.outputs).toEqual({ id: 'sbx-123', public_ip: '203.0.113.10', private_ip: '10.0.0.5' });
    expect(s.truncated).toBe(42);
    expect(s.logs.at(-1)).toMatchObject({ stream: 'system' });
    expect(s.logs.at(-1)!.line).toContain('42 events');
  });

  it('reset returns the initial state', () => {
    expect(runEventsReducer(reduce([plan]), { type: 'reset' })).toBe(initialRunView);
  });
});

describe('parseRunEvent', () => {
  it('parses SSE data text with the event id as seq', () => {
    expect(parseRunEvent('status', '{"run_status":"planning","resource_status":"provisioning"}', '7')).toEqual({
      type: 'status',
      seq: 7,
      data: { run_status: 'planning', resource_status: 'provisioning' },
    });
  });

  it('accepts already parsed data (JSON replay) and a missing id', () => {
    expect(parseRunEvent('outputs', { public_ip: '203.0.113.1' })).toEqual({
      type: 'outputs',
      seq: undefined,
      data: { public_ip: '203.0.113.1' },
    });
  });

  it('drops unknown types and bad JSON', () => {
    expect(parseRunEvent('heartbeat', '{}', '1')).toBeNull();
    expect(parseRunEvent('log', '{not json', '1')).toBeNull();
    expect(parseRunEvent('log', '"a string"', '1')).toBeNull();
  });
});

describe('helpers', () => {
  it('percentFor approaches but never reaches 100 while running', () => {
    expect(percentFor('pending', 100)).toBe(0);
    expect(percentFor('started', 0)).toBe(5);
    expect(percentFor('progress', 10_000)).toBeLessThanOrEqual(90);
    expect(percentFor('progress', 10)).toBeLessThan(percentFor('progress', 20));
    expect(percentFor('complete', 0)).toBe(100);
  });

  it('final statuses', () => {
    expect(isFinalRunStatus('succeeded')).toBe(true);
    expect(isFinalRunStatus('canceled')).toBe(true);
    expect(isFinalRunStatus('awaiting_approval')).toBe(false);
    expect(isFinalRunStatus(null)).toBe(false);
  });
});

describe('drift check events', () => {
  it('keeps what a drift check found, from SSE text or the JSON replay', () => {
    const text = '{"drift_status":"drifted","changes":[{"address":"a.b","action":"update","attributes":[{"path":"tags.team","before":null,"after":"data"}]}]}';
    const ev = parseRunEvent('drift', text, '9');
    expect(ev?.type).toBe('drift');
    const s = reduce([ev!, { type: 'status', seq: 10, data: { run_status: 'succeeded', resource_status: 'active' } }]);
    expect(s.drift?.drift_status).toBe('drifted');
    expect(s.drift?.changes[0]?.attributes[0]?.path).toBe('tags.team');
    expect(s.runStatus).toBe('succeeded');
  });

  it('has no finding before the event or for other runs', () => {
    expect(reduce([plan]).drift).toBeNull();
  });
});
