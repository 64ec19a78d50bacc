import { describe, expect, it } from 'vitest';
import { accruedByCloud, countByCloudAndStatus } from './dashboard';

describe('countByCloudAndStatus', () => {
  it('counts per cloud and status', () => {
    const out = countByCloudAndStatus([
      { cloud: 'sandbox', status: 'active' },
      { cloud: 'aws', status: 'active' },
      { cloud: 'sandbox', status: 'active' },
      { cloud: 'sandbox', status: 'failed' },
      { cloud: 'aws', status: 'destroyed' },
    ]);
    expect(out).toEqual([
      { cloud: 'sandbox', total: 3, byStatus: { active: 2, failed: 1 } },
      { cloud: 'aws', total: 2, byStatus: { active: 1, destroyed: 1 } },
    ]);
  });
});

describe('accruedByCloud', () => {
  it('accumulates per cloud over consecutive days, filling gaps with zero', () => {
    const s = accruedByCloud(
      [
        { date: '2030-01-01', cloud: 'aws', usd: 1 },
        { date: '2030-01-03', cloud: 'aws', usd: 2.5 },
        { date: '2030-01-02', cloud: 'sandbox', usd: 0.1 },
        { date: '2029-12-01', cloud: 'aws', usd: 100 }, // outside the window
      ],
      3,
      '2030-01-03',
    );
    expect(s.clouds).toEqual(['aws', 'sandbox']);
    expect(s.rows).toEqual([
      { date: '2030-01-01', aws: 1, sandbox: 0 },
      { date: '2030-01-02', aws: 1, sandbox: 0.1 },
      { date: '2030-01-03', aws: 3.5, sandbox: 0.1 },
    ]);
    expect(s.totals).toEqual({ aws: 3.5, sandbox: 0.1 });
  });

  it('crosses month ends', () => {
    const s = accruedByCloud([], 3, '2030-03-01');
    expect(s.rows.map((r) => r.date)).toEqual(['2030-02-27', '2030-02-28', '2030-03-01']);
  });
});
