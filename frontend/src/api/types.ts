// Shapes of the cloudplane JSON API (/api/v1). IDs are opaque strings and
// timestamps are ISO-8601 UTC strings.

export type CloudId = 'aws' | 'azure' | 'gcp' | 'sandbox';
export type KindId = 'vm' | 'storage';
export type Role = 'owner' | 'admin' | 'member' | 'viewer';

export const ROLES: readonly Role[] = ['owner', 'admin', 'member', 'viewer'];
export const CLOUDS: readonly CloudId[] = ['aws', 'azure', 'gcp', 'sandbox'];

export type ResourceStatus =
  | 'pending'
  | 'provisioning'
  | 'active'
  | 'updating'
  | 'destroying'
  | 'destroyed'
  | 'failed';

export const RESOURCE_STATUSES: readonly ResourceStatus[] = [
  'pending',
  'provisioning',
  'active',
  'updating',
  'destroying',
  'destroyed',
  'failed',
];

export type RunStatus =
  | 'queued'
  | 'planning'
  | 'planned'
  | 'awaiting_approval'
  | 'applying'
  | 'succeeded'
  | 'failed'
  | 'canceled';

export type RunOperation = 'create' | 'update' | 'destroy';

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

export interface User {
  id: string;
  email: string;
  name: string;
}

export interface AuthResponse {
  user: User;
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export interface Project {
  id: string;
  name: string;
  require_approval: boolean;
  monthly_budget_usd: number | null;
  role: Role;
  budget_used_usd: number;
  created_at: string;
}

export interface Member {
  user_id: string;
  email: string;
  name: string;
  role: Role;
}

export interface Account {
  id: string;
  project_id: string;
  name: string;
  cloud: CloudId;
  hint: string | null;
  created_at: string;
}

export interface NameRule {
  pattern: string;
  min: number;
  max: number;
  description: string;
}

export interface Region {
  id: string;
  name: string;
}

export interface Size {
  id: string;
  vcpu: number;
  memory_gib: number;
  hourly_usd: number;
}

export interface CatalogKind {
  id: KindId;
  label: string;
  module: string;
  name_rule: NameRule;
  regions: Region[];
  sizes?: Size[];
  gb_month_usd?: number;
}

export interface CatalogCloud {
  id: CloudId;
  name: string;
  simulated: boolean;
  kinds: CatalogKind[];
}

export interface Catalog {
  clouds: CatalogCloud[];
}

export interface VmConfig {
  ssh_public_key: string;
  allowed_cidrs: string[];
}

export interface StorageConfig {
  expected_gb: number;
}

export interface VmOutputs {
  id?: string;
  public_ip?: string;
  private_ip?: string;
}

export interface StorageOutputs {
  id?: string;
  name?: string;
  url?: string;
}

export type Outputs = Record<string, unknown>;

export interface RunRef {
  id: string;
  operation: RunOperation;
  status: RunStatus;
}

export interface Resource {
  id: string;
  project_id: string;
  account_id: string;
  account_name: string;
  cloud: CloudId;
  kind: KindId;
  name: string;
  region: string;
  size: string | null;
  config: Partial<VmConfig & StorageConfig> | null;
  status: ResourceStatus;
  outputs: Outputs | null;
  monthly_cost_usd: number | null;
  simulated: boolean;
  created_by: string;
  created_at: string;
  updated_at: string;
  current_run: RunRef | null;
}

export interface PlanResource {
  address: string;
  action: string;
}

export interface PlanSummary {
  add: number;
  change: number;
  destroy: number;
  resources: PlanResource[];
}

export interface Run {
  id: string;
  resource_id: string;
  operation: RunOperation;
  status: RunStatus;
  attempt: number;
  plan_summary: PlanSummary | null;
  error: string | null;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface ResourceAndRun {
  resource: Resource;
  run: Run;
}

export interface CostSummary {
  group_by: 'cloud' | 'project' | 'kind' | 'region';
  total_monthly_usd: number;
  items: { key: string; monthly_usd: number; count: number }[];
}

export interface DailyCosts {
  days: number;
  items: { date: string; cloud: string; usd: number }[];
}

export interface AuditEvent {
  id: string;
  ts: string;
  actor: { id: string; email: string } | null;
  action: string;
  target: string;
  detail: unknown;
}

// Run events as they arrive over SSE (or from ?format=json).
export interface LogEventData {
  seq: number;
  ts: string;
  stream: 'stdout' | 'stderr' | 'system';
  line: string;
}

export interface ProgressEventData {
  address: string;
  action: string;
  state: 'started' | 'progress' | 'complete' | 'errored';
  elapsed_seconds: number;
}

export interface StatusEventData {
  run_status: RunStatus;
  resource_status: ResourceStatus;
}

export type RunEvent =
  | { type: 'log'; seq?: number; data: LogEventData }
  | { type: 'plan'; seq?: number; data: PlanSummary }
  | { type: 'progress'; seq?: number; data: ProgressEventData }
  | { type: 'status'; seq?: number; data: StatusEventData }
  | { type: 'outputs'; seq?: number; data: Outputs }
  | { type: 'truncated'; seq?: number; data: { dropped: number } };

export const FINAL_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'canceled'];
export const CANCELABLE_RUN_STATUSES: readonly RunStatus[] = [
  'queued',
  'planning',
  'applying',
  'awaiting_approval',
];
