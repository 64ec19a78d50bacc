// Shapes of the cloudplane JSON API (/api/v1), as backend/openapi.yaml says.
// schema.gen.ts is generated from that contract (npm run gen:api); this file
// only names its schemas, so the UI cannot drift from the server. IDs are
// opaque strings and timestamps are ISO-8601 UTC strings.
import type { components, operations } from './schema.gen';

type S = components['schemas'];

export type User = S['User'];
export type AuthResponse = S['TokenReply'];
export type SsoProviders = S['SsoProviders'];
export type SsoProvider = SsoProviders['providers'][number];
export type ApiErrorBody = S['Error'];
export type Project = S['Project'];
export type Member = S['Member'];
export type Invitation = S['Invitation'];
export type SignupSent = S['SignupSent'];
export type Account = S['Account'];
export type Resource = S['Resource'];
export type Run = S['Run'];
export type ResourceAndRun = S['ResourceAndRun'];
export type PlanSummary = S['PlanSummary'];
export type Catalog = S['Catalog'];
export type CatalogCloud = S['CatalogCloud'];
export type CatalogKind = S['CatalogKind'];
export type CredentialField = S['CredentialField'];
export type NameRule = S['NameRule'];
export type Size = S['Size'];
export type CostSummary = S['CostSummary'];
export type DailyCosts = S['DailyCosts'];
export type AuditEvent = S['AuditEvent'];
export type RunEventRecord = S['RunEventRecord'];
export type StreamTicket = S['StreamTicket'];
export type Session = S['Session'];
export type LogEventData = S['LogEventData'];
export type ProgressEventData = S['ProgressEventData'];
export type StatusEventData = S['StatusEventData'];
export type Schedule = S['WorkingHours'];
export type Notification = S['Notification'];
export type NotificationList = S['NotificationList'];
export type DriftCounts = S['DriftCounts'];
export type DriftReport = S['DriftReport'];
export type DriftFleet = S['DriftFleet'];
export type GuardrailLevel = S['GuardrailLevel'];
export type GuardrailRules = S['GuardrailRules'];
export type Guardrails = S['Guardrails'];
export type GuardrailCheckResult = S['GuardrailCheckResult'];
export type GuardrailOverride = NonNullable<S['GuardrailOverride']>;
export type GuardrailRuleId = GuardrailCheck['rule'];
export type WebhookEvent = S['WebhookEvent'];
export type Webhook = S['Webhook'];
export type WebhookCreated = S['WebhookCreated'];
export type WebhookDelivery = S['WebhookDelivery'];
export type WebhookDeliveryPage = S['WebhookDeliveryPage'];
export type TokenScope = S['TokenScope'];
export type ApiToken = S['ApiToken'];
export type ApiTokenCreated = S['ApiTokenCreated'];
export type ApiTokenPage = S['ApiTokenPage'];
export type CreateTokenRequest = operations['createToken']['requestBody']['content']['application/json'];
export type CreateProjectTokenRequest = operations['createProjectToken']['requestBody']['content']['application/json'];
export type CreateAccountRequest = operations['createAccount']['requestBody']['content']['application/json'];
export type AccountKind = Account['kind'];
/** The run-token issuer, for setting up a cloud's trust (GET /workload-identity). */
export type WorkloadIdentityInfo =
  operations['getWorkloadIdentity']['responses'][200]['content']['application/json'];

/** A list answer: the contract's Page with its items typed. */
export type Page<T> = Omit<S['Page'], 'items'> & { items: T[] };

export type CloudId = Account['cloud'];
export type KindId = Resource['kind'];
export type Role = Member['role'];
export type ResourceStatus = Resource['status'];
export type RunStatus = Run['status'];
export type Outputs = Resource['outputs'];
export type RunOperation = Run['operation'];
export type DriftStatus = Resource['drift_status'];
export type PowerState = NonNullable<Resource['power_state']>;
export type DriftChange = DriftReport['changes'][number];
export type DriftAttribute = DriftChange['attributes'][number];
export type NotificationKind = Notification['kind'];
/** A drift check's finding: the "drift" event of a drift_check run. */
export interface DriftEventData {
  drift_status: DriftStatus;
  changes: DriftChange[];
}

type CreateResourceBody = operations['createResource']['requestBody']['content']['application/json'];
/** An order as POST /resources takes it (config's keys depend on the kind: see the spec). */
export type CreateResourceRequest = Omit<CreateResourceBody, 'config'> & { config?: Record<string, unknown> | null };
/** A change as PATCH /resources/{id} takes it (size, name, tags, guardrail_override). */
export type ChangeResourceRequest = operations['resizeResource']['requestBody']['content']['application/json'];
/** What POST /guardrails/check takes: an order's fields, all optional but the project, account and kind. */
export type GuardrailCheckRequest = Omit<
  operations['checkGuardrails']['requestBody']['content']['application/json'],
  'config'
> & { config?: Record<string, unknown> | null };
export type CreateWebhookRequest = operations['createWebhook']['requestBody']['content']['application/json'];
export type UpdateWebhookRequest = operations['updateWebhook']['requestBody']['content']['application/json'];
/** What an order may carry besides the resource itself (ttl and expires_at exclude each other). */
export type OrderDayTwoFields = Pick<CreateResourceBody, 'ttl' | 'expires_at' | 'schedule'>;
/** A project's drift and expiry settings (PATCH /projects/{id} takes any of them). */
export type ProjectDayTwoFields = Pick<
  Project,
  'drift_interval_minutes' | 'default_ttl_seconds' | 'max_ttl_seconds' | 'expiry_auto_approve'
>;
export type ProjectDayTwoPatch = Partial<ProjectDayTwoFields>;

export const WEBHOOK_EVENTS: readonly WebhookEvent[] = [
  'run.needs_approval',
  'run.succeeded',
  'run.failed',
  'resource.drifted',
  'resource.expiring',
  'resource.expired',
  'guardrail.blocked',
];
export const ROLES: readonly Role[] = ['owner', 'admin', 'member', 'viewer'];
export const CLOUDS: readonly CloudId[] = ['aws', 'azure', 'gcp', 'sandbox'];
export const DRIFT_STATUSES: readonly DriftStatus[] = ['in_sync', 'drifted', 'missing', 'check_failed', 'never_checked'];
export const RESOURCE_STATUSES: readonly ResourceStatus[] = [
  'pending',
  'provisioning',
  'active',
  'updating',
  'destroying',
  'destroyed',
  'failed',
];

// Run events as they arrive over SSE (or from ?format=json): the record's
// type decides the shape of its data.
export type RunEvent =
  | { type: 'log'; seq?: number; data: LogEventData & { seq?: number; ts?: string } }
  | { type: 'plan'; seq?: number; data: PlanSummary }
  | { type: 'progress'; seq?: number; data: ProgressEventData }
  | { type: 'status'; seq?: number; data: StatusEventData }
  | { type: 'outputs'; seq?: number; data: Outputs }
  | { type: 'truncated'; seq?: number; data: { dropped: number } }
  | { type: 'drift'; seq?: number; data: DriftEventData };

export const CANCELABLE_RUN_STATUSES: readonly RunStatus[] = [
  'queued',
  'planning',
  'applying',
  'awaiting_approval',
];

/** A plan's view for approvers: per resource what changes, the cost change, the guardrail checks. */
export type PlanResource = PlanSummary['resources'][number];
export type PlanAttribute = NonNullable<PlanResource['attributes']>[number];
export type PlanCost = NonNullable<PlanSummary['cost']>;
export type GuardrailCheck = S['GuardrailCheck'];
export type GuardrailCheckList = S['GuardrailCheckList'];

export const TOKEN_SCOPES: readonly TokenScope[] = ['read', 'order', 'approve', 'admin'];
