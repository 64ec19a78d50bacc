import { describe, expect, it } from 'vitest';
import { countdownText, durationProblem, durationSchema, expiresSoon, expiryFrom, formatSeconds, formatSpan, parseDuration, ttlDefault, ttlOf } from './duration';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const at = (ms: number) => new Date(NOW + ms).toISOString();
const MIN = 60_000;
const HOUR = 60 * MIN;

describe('parseDuration', () => {
  it('reads the server syntax', () => {
    expect(parseDuration('30m')).toBe(1800);
    expect(parseDuration('8h')).toBe(28_800);
    expect(parseDuration('3d')).toBe(259_200);
    expect(parseDuration('2w')).toBe(1_209_600);
    expect(parseDuration(' 1d ')).toBe(86_400);
  });
  it('refuses anything else', () => {
    for (const bad of ['', '8', 'h', '0h', '08h', '1.5h', '8H', '8 h', '1d2h', '-1d', '30s', '1y', '9999999d']) {
      expect(parseDuration(bad), bad).toBeNull();
    }
  });
  it('validates through zod', () => {
    expect(durationSchema(false).safeParse('').success).toBe(false);
    expect(durationSchema(true).safeParse('').success).toBe(true);
    expect(durationSchema(true).safeParse('2w').success).toBe(true);
    const r = durationSchema(true).safeParse('two weeks');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/like 8h or 3d/);
  });
});

describe('formatSeconds', () => {
  it('picks the largest exact unit', () => {
    expect(formatSeconds(604_800)).toBe('1w');
    expect(formatSeconds(259_200)).toBe('3d');
    expect(formatSeconds(28_800)).toBe('8h');
    expect(formatSeconds(5400)).toBe('90m');
    expect(formatSeconds(61)).toBe('2m');
  });
  it('round-trips', () => {
    for (const s of ['30m', '8h', '3d', '2w', '25h']) expect(formatSeconds(parseDuration(s)!)).toBe(s === '25h' ? '25h' : s);
  });
});

describe('countdown', () => {
  it('formats spans', () => {
    expect(formatSpan(3 * HOUR + 12 * MIN + 59_000)).toBe('3 h 12 min');
    expect(formatSpan(2 * HOUR)).toBe('2 h');
    expect(formatSpan(12 * MIN)).toBe('12 min');
    expect(formatSpan(30_000)).toBe('less than a minute');
    expect(formatSpan(53 * HOUR)).toBe('2 d 5 h');
    expect(formatSpan(48 * HOUR)).toBe('2 d');
  });
  it('counts down to the expiry', () => {
    expect(countdownText(at(3 * HOUR + 12 * MIN), NOW)).toBe('expires in 3 h 12 min');
    expect(countdownText(null, NOW)).toBe('');
    expect(countdownText('not a date', NOW)).toBe('');
  });
  it('says what happened once expired', () => {
    expect(countdownText(at(-MIN), NOW, { operation: 'destroy', status: 'awaiting_approval' })).toBe('expired, awaiting destroy');
    expect(countdownText(at(-MIN), NOW, { operation: 'destroy', status: 'applying' })).toBe('expired, being destroyed');
    expect(countdownText(at(-MIN), NOW, { operation: 'update', status: 'awaiting_approval' })).toBe('expired');
    expect(countdownText(at(-MIN), NOW, null)).toBe('expired');
  });
  it('knows what expires within 24 h', () => {
    expect(expiresSoon(at(23 * HOUR), NOW)).toBe(true);
    expect(expiresSoon(at(25 * HOUR), NOW)).toBe(false);
    expect(expiresSoon(at(-HOUR), NOW)).toBe(false);
    expect(expiresSoon(null, NOW)).toBe(false);
  });
});

describe('TTL choices', () => {
  it('preselects the project default', () => {
    expect(ttlDefault(null)).toEqual({ choice: 'none', custom: '' });
    expect(ttlDefault(86_400)).toEqual({ choice: '1d', custom: '' });
    expect(ttlDefault(604_800)).toEqual({ choice: '1w', custom: '' });
    expect(ttlDefault(7200)).toEqual({ choice: 'custom', custom: '2h' });
  });
  it('gives the ttl to send', () => {
    expect(ttlOf('8h', '')).toBe('8h');
    expect(ttlOf('custom', ' 36h ')).toBe('36h');
    expect(ttlOf('custom', 'soon')).toBeUndefined();
    expect(ttlOf('none', '8h')).toBeUndefined();
  });
  it('computes the resulting expiry', () => {
    expect(expiryFrom('8h', NOW)?.toISOString()).toBe('2026-11-30T20:00:00.000Z');
    expect(expiryFrom(undefined, NOW)).toBeNull();
  });
});

describe('duration bounds', () => {
  it('stops at a year, as the server does', () => {
    expect(durationProblem('366d')).toBeNull();
    expect(durationProblem('52w')).toBeNull();
    expect(durationProblem('367d')).toMatch(/at most a year/i);
    expect(durationProblem('999999w')).toMatch(/at most a year/i);
    expect(ttlOf('custom', '400d')).toBeUndefined();
  });
});
