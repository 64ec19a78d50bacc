import type { DailyCosts, Resource, ResourceStatus } from '../api/types';

interface CloudCounts {
  cloud: string;
  total: number;
  byStatus: Partial<Record<ResourceStatus, number>>;
}

/** Resources counted per cloud and status, clouds by count (destroyed ones last). */
export function countByCloudAndStatus(resources: Pick<Resource, 'cloud' | 'status'>[]): CloudCounts[] {
  const map = new Map<string, CloudCounts>();
  for (const r of resources) {
    let c = map.get(r.cloud);
    if (!c) {
      c = { cloud: r.cloud, total: 0, byStatus: {} };
      map.set(r.cloud, c);
    }
    c.total += 1;
    c.byStatus[r.status] = (c.byStatus[r.status] ?? 0) + 1;
  }
  const live = (c: CloudCounts) => c.total - (c.byStatus.destroyed ?? 0);
  return [...map.values()].sort((a, b) => live(b) - live(a) || b.total - a.total || a.cloud.localeCompare(b.cloud));
}

function addDays(date: string, n: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export interface AccruedSeries {
  clouds: string[];
  /** One row per day: { date, <cloud>: running total since the first day }. */
  rows: Record<string, number | string>[];
  totals: Record<string, number>;
}

/**
 * Turns daily costs per cloud into running totals per cloud over `days`
 * consecutive days ending at `endDate` (UTC, YYYY-MM-DD); missing days count 0.
 */
export function accruedByCloud(daily: DailyCosts['items'], days: number, endDate: string): AccruedSeries {
  const clouds = [...new Set(daily.map((d) => d.cloud))].sort();
  const perDay = new Map<string, Map<string, number>>();
  for (const d of daily) {
    const m = perDay.get(d.date) ?? new Map<string, number>();
    m.set(d.cloud, (m.get(d.cloud) ?? 0) + d.usd);
    perDay.set(d.date, m);
  }
  const running: Record<string, number> = Object.fromEntries(clouds.map((c) => [c, 0]));
  const rows: Record<string, number | string>[] = [];
  const start = addDays(endDate, -(days - 1));
  for (let i = 0; i < days; i++) {
    const date = addDays(start, i);
    const row: Record<string, number | string> = { date };
    for (const c of clouds) {
      running[c] = (running[c] ?? 0) + (perDay.get(date)?.get(c) ?? 0);
      row[c] = Math.round((running[c] ?? 0) * 100) / 100;
    }
    rows.push(row);
  }
  const totals = Object.fromEntries(clouds.map((c) => [c, Math.round((running[c] ?? 0) * 100) / 100]));
  return { clouds, rows, totals };
}
