// Day-two shapes (issue 13: drift, expiry, schedules), written by hand from
// the agreed contract until backend/openapi.yaml carries them. Names and
// shapes follow the contract exactly, so each can be replaced by its
// generated schema (S['DriftReport'] and so on) without touching callers.
// Resources and projects from an older server lack the new fields: read
// them through resourceDayTwo / projectDayTwo, which fill the defaults.
import { del, get, patch, post, put } from './client';
import type { CatalogKind, CloudId, Project, Resource, ResourceAndRun } from './types';

export type DriftStatus = 'in_sync' | 'drifted' | 'missing' | 'check_failed' | 'never_checked';
export const DRIFT_STATUSES: readonly DriftStatus[] = ['in_sync', 'drifted', 'missing', 'check_failed', 'never_checked'];

export type PowerState = 'running' | 'stopped';

/**
 * A working-hours schedule: 5-field cron strings in an IANA time zone. The
 * contract has stop and start as strings; the server takes null for either
 * (at least one is set), so they are typed as it answers.
 */
export interface Schedule {
  stop: string | null;
  start: string | null;
  timezone: string;
}

/** The fields issue 13 adds to Resource (always present on a new server). */
export interface ResourceDayTwoFields {
  drift_status: DriftStatus;
  drift_checked_at: string | null;
  expires_at: string | null;
  power_state: PowerState | null;
  schedule: Schedule | null;
  /** Not in the contract; the schedules server sends it: the next stop or start. */
  schedule_next_at?: string | null;
}

export type DayTwoResource = Resource & ResourceDayTwoFields;

/** The fields issue 13 adds to Project. */
export interface ProjectDayTwoFields {
  /** 0 = off; the UI offers off / 60 / 360 / 1440. */
  drift_interval_minutes: number;
  default_ttl_seconds: number | null;
  max_ttl_seconds: number | null;
  expiry_auto_approve: boolean;
}

export type DayTwoProject = Project & ProjectDayTwoFields;

export interface DriftAttribute {
  path: string;
  before: unknown;
  after: unknown;
}

export interface DriftChange {
  address: string;
  action: 'update' | 'delete';
  attributes: DriftAttribute[];
}

export interface DriftReport {
  resource_id: string;
  status: DriftStatus;
  checked_at: string | null;
  run_id: string | null;
  changes: DriftChange[];
  acceptable: boolean;
}

export type DriftCounts = Record<DriftStatus, number>;

export interface DriftFleet {
  totals: DriftCounts;
  projects: { project_id: string; project_name: string; counts: DriftCounts }[];
  clouds: { cloud: CloudId; counts: DriftCounts }[];
  drifted: Resource[];
}

export type NotificationKind = 'expiring_24h' | 'expiring_1h' | 'expired';

export interface Notification {
  id: string;
  kind: NotificationKind;
  resource_id: string;
  resource_name: string;
  project_id: string;
  expires_at: string;
  created_at: string;
  read: boolean;
}

export interface NotificationList {
  items: Notification[];
  unread: number;
}

/** What the order body may carry in addition (ttl and expires_at exclude each other). */
export interface OrderDayTwoFields {
  ttl?: string;
  expires_at?: string;
  schedule?: Schedule;
}

/** Catalog additions: kinds say whether their VMs can stop; sizes give the stopped price. */
export interface CatalogKindDayTwoFields {
  stoppable?: boolean;
}
export interface SizeDayTwoFields {
  stopped_monthly_cost_usd?: number;
}

export type ProjectDayTwoPatch = Partial<ProjectDayTwoFields>;

/** The day-two fields of a resource, with the defaults an older server implies. */
export function resourceDayTwo(r: Resource): ResourceDayTwoFields {
  const x = r as Partial<ResourceDayTwoFields>;
  return {
    drift_status: x.drift_status ?? 'never_checked',
    drift_checked_at: x.drift_checked_at ?? null,
    expires_at: x.expires_at ?? null,
    power_state: x.power_state ?? null,
    schedule: x.schedule ?? null,
    schedule_next_at: x.schedule_next_at ?? null,
  };
}

export function projectDayTwo(p: Project): ProjectDayTwoFields {
  const x = p as Partial<ProjectDayTwoFields>;
  return {
    drift_interval_minutes: x.drift_interval_minutes ?? 0,
    default_ttl_seconds: x.default_ttl_seconds ?? null,
    max_ttl_seconds: x.max_ttl_seconds ?? null,
    expiry_auto_approve: x.expiry_auto_approve ?? false,
  };
}

const enc = encodeURIComponent;

/** The issue-13 endpoints, through the shared client. */
export const dayTwoApi = {
  driftCheck: (id: string) => post<ResourceAndRun>(`/resources/${enc(id)}/drift-check`),
  drift: (id: string) => get<DriftReport>(`/resources/${enc(id)}/drift`),
  reconcile: (id: string) => post<ResourceAndRun>(`/resources/${enc(id)}/drift/reconcile`),
  acceptDrift: (id: string) => post<ResourceAndRun>(`/resources/${enc(id)}/drift/accept`),
  fleet: (projectId?: string) => get<DriftFleet>('/drift', { params: { project_id: projectId || undefined } }),

  extend: (id: string, by: string) => post<Resource>(`/resources/${enc(id)}/extend`, { by }),
  notifications: () => get<NotificationList>('/notifications'),
  markRead: (id: string) => post<void>(`/notifications/${enc(id)}/read`),

  setSchedule: (id: string, schedule: Schedule) => put<Resource>(`/resources/${enc(id)}/schedule`, schedule),
  clearSchedule: (id: string) => del<Resource>(`/resources/${enc(id)}/schedule`),

  updateProject: (id: string, body: ProjectDayTwoPatch) => patch<Project>(`/projects/${enc(id)}`, body),
};

/** Whether the catalog says VMs of this kind can stop (an older catalog says nothing: no). */
export function isStoppable(kind: CatalogKind | undefined): boolean {
  return (kind as (CatalogKind & CatalogKindDayTwoFields) | undefined)?.stoppable === true;
}
