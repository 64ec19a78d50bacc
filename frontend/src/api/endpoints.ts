import { get, post, patch, put, del } from './client';
import type {
  Account,
  ApiToken,
  ApiTokenCreated,
  CreateProjectTokenRequest,
  CreateTokenRequest,
  AuditEvent,
  AuthResponse,
  Catalog,
  ChangeResourceRequest,
  CloudId,
  CreateAccountRequest,
  CreateResourceRequest,
  CreateWebhookRequest,
  CostSummary,
  DailyCosts,
  DriftFleet,
  DriftReport,
  DriftStatus,
  GuardrailCheckList,
  GuardrailCheckRequest,
  GuardrailCheckResult,
  GuardrailRules,
  Guardrails,
  Invitation,
  KindId,
  Member,
  NotificationList,
  Page,
  Project,
  SsoProviders,
  ProjectDayTwoPatch,
  Resource,
  ResourceAndRun,
  ResourceStatus,
  Role,
  Run,
  RunEventRecord,
  Schedule,
  SignupSent,
  StreamTicket,
  UpdateWebhookRequest,
  User,
  Webhook,
  WebhookCreated,
  WebhookDelivery,
  WebhookDeliveryPage,
  WorkloadIdentityInfo,
} from './types';

const enc = encodeURIComponent;

export const api = {
  /** Step 1: the server mails a link (202, the same answer for any email). */
  signup: (body: { email: string }) => post<SignupSent>('/auth/signup', body),
  /** Step 2: a sign-up or invitation token from a mailed link. */
  signupComplete: (body: { token: string; password: string; name: string }) =>
    post<AuthResponse>('/auth/signup/complete', body),
  login: (body: { email: string; password: string }) => post<AuthResponse>('/auth/login', body),
  ssoProviders: () => get<SsoProviders>('/auth/oidc/providers'),
  me: () => get<User>('/auth/me'),
  logout: () => post<void>('/auth/logout'),
  streamTicket: (runId: string) => post<StreamTicket>(`/runs/${enc(runId)}/stream-ticket`),

  listProjects: (cursor?: string) =>
    get<Page<Project>>('/projects', { params: { limit: 100, cursor: cursor || undefined } }),
  getProject: (id: string) => get<Project>(`/projects/${enc(id)}`),
  createProject: (body: { name: string; require_approval?: boolean; monthly_budget_usd?: number | null }) =>
    post<Project>('/projects', body),
  updateProject: (
    id: string,
    body: Partial<{ name: string; require_approval: boolean; monthly_budget_usd: number | null }> & ProjectDayTwoPatch,
  ) => patch<Project>(`/projects/${enc(id)}`, body),
  deleteProject: (id: string) => del<unknown>(`/projects/${enc(id)}`),

  listMembers: (projectId: string) => get<Page<Member>>(`/projects/${enc(projectId)}/members`),
  invite: (projectId: string, body: { email: string; role: Role }) =>
    post<Invitation>(`/projects/${enc(projectId)}/invitations`, body),
  listInvitations: (projectId: string) => get<Page<Invitation>>(`/projects/${enc(projectId)}/invitations`),
  revokeInvitation: (projectId: string, invitationId: string) =>
    del<unknown>(`/projects/${enc(projectId)}/invitations/${enc(invitationId)}`),
  myInvitations: () => get<Page<Invitation>>('/invitations'),
  acceptInvitationToken: (token: string) => post<Project>('/invitations/accept', { token }),
  acceptInvitation: (id: string) => post<Project>(`/invitations/${enc(id)}/accept`),
  declineInvitation: (id: string) => post<unknown>(`/invitations/${enc(id)}/decline`),
  updateMember: (projectId: string, userId: string, role: Role) =>
    patch<Member>(`/projects/${enc(projectId)}/members/${enc(userId)}`, { role }),
  removeMember: (projectId: string, userId: string) =>
    del<unknown>(`/projects/${enc(projectId)}/members/${enc(userId)}`),

  listAccounts: (projectId: string) => get<Page<Account>>(`/projects/${enc(projectId)}/accounts`),
  createAccount: (projectId: string, body: CreateAccountRequest) =>
    post<Account>(`/projects/${enc(projectId)}/accounts`, body),
  workloadIdentity: () => get<WorkloadIdentityInfo>('/workload-identity'),
  deleteAccount: (id: string) => del<unknown>(`/accounts/${enc(id)}`),

  catalog: () => get<Catalog>('/catalog'),

  listResources: (params: {
    project_id?: string;
    cloud?: CloudId | '';
    kind?: KindId | '';
    status?: ResourceStatus | '';
    drift_status?: DriftStatus | '';
    expires_before?: string;
    limit?: number;
    cursor?: string;
  }) => {
    const clean: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== '') clean[k] = v;
    }
    return get<Page<Resource>>('/resources', { params: clean });
  },
  getResource: (id: string) => get<Resource>(`/resources/${enc(id)}`),
  createResource: (body: CreateResourceRequest) => post<ResourceAndRun>('/resources', body),
  resizeResource: (id: string, size: string) => patch<ResourceAndRun>(`/resources/${enc(id)}`, { size }),
  /** Size, name or tags, with a guardrail override when a soft rule blocks. */
  changeResource: (id: string, body: ChangeResourceRequest) => patch<ResourceAndRun>(`/resources/${enc(id)}`, body),
  setProtection: (id: string, on: boolean) => put<Resource>(`/resources/${enc(id)}/protection`, { protected: on }),

  getGuardrails: (projectId: string) => get<Guardrails>(`/projects/${enc(projectId)}/guardrails`),
  putGuardrails: (projectId: string, rules: GuardrailRules) => put<Guardrails>(`/projects/${enc(projectId)}/guardrails`, rules),
  /** What the rules say about an order; `signal` cancels a stale call. */
  checkGuardrails: (body: GuardrailCheckRequest, signal?: AbortSignal) =>
    post<GuardrailCheckResult>('/guardrails/check', body, { signal }),

  listTokens: () => get<Page<ApiToken>>('/tokens'),
  createToken: (body: CreateTokenRequest) => post<ApiTokenCreated>('/tokens', body),
  revokeToken: (id: string) => del<void>(`/tokens/${enc(id)}`),
  listProjectTokens: (projectId: string) => get<Page<ApiToken>>(`/projects/${enc(projectId)}/tokens`),
  createProjectToken: (projectId: string, body: CreateProjectTokenRequest) =>
    post<ApiTokenCreated>(`/projects/${enc(projectId)}/tokens`, body),
  revokeProjectToken: (projectId: string, id: string) => del<void>(`/projects/${enc(projectId)}/tokens/${enc(id)}`),

  listWebhooks: (projectId: string) => get<{ items: Webhook[] }>(`/projects/${enc(projectId)}/webhooks`),
  createWebhook: (projectId: string, body: CreateWebhookRequest) =>
    post<WebhookCreated>(`/projects/${enc(projectId)}/webhooks`, body),
  updateWebhook: (id: string, body: UpdateWebhookRequest) => patch<Webhook>(`/webhooks/${enc(id)}`, body),
  deleteWebhook: (id: string) => del<void>(`/webhooks/${enc(id)}`),
  testWebhook: (id: string) => post<WebhookDelivery>(`/webhooks/${enc(id)}/test`),
  webhookDeliveries: (id: string, cursor?: string, limit = 20) =>
    get<WebhookDeliveryPage>(`/webhooks/${enc(id)}/deliveries`, { params: { limit, cursor: cursor || undefined } }),
  redeliver: (id: string, deliveryId: string) =>
    post<WebhookDelivery>(`/webhooks/${enc(id)}/deliveries/${enc(deliveryId)}/redeliver`),
  destroyResource: (id: string) => del<ResourceAndRun>(`/resources/${enc(id)}`),

  driftCheck: (id: string) => post<ResourceAndRun>(`/resources/${enc(id)}/drift-check`),
  drift: (id: string) => get<DriftReport>(`/resources/${enc(id)}/drift`),
  reconcileDrift: (id: string) => post<ResourceAndRun>(`/resources/${enc(id)}/drift/reconcile`),
  acceptDrift: (id: string) => post<ResourceAndRun>(`/resources/${enc(id)}/drift/accept`),
  driftFleet: (projectId?: string) => get<DriftFleet>('/drift', { params: { project_id: projectId || undefined } }),

  extendResource: (id: string, by: string) => post<Resource>(`/resources/${enc(id)}/extend`, { by }),
  notifications: (limit?: number, cursor?: string) =>
    get<NotificationList>('/notifications', { params: { limit, cursor } }),
  markNotificationRead: (id: string) => post<void>(`/notifications/${enc(id)}/read`),

  setSchedule: (id: string, schedule: Schedule) => put<Resource>(`/resources/${enc(id)}/schedule`, schedule),
  clearSchedule: (id: string) => del<Resource>(`/resources/${enc(id)}/schedule`),

  listRuns: (resourceId: string, cursor?: string) =>
    get<Page<Run>>(`/resources/${enc(resourceId)}/runs`, { params: { cursor: cursor || undefined } }),
  recentRuns: (limit: number) => get<Page<Run>>('/runs', { params: { limit } }),
  getRun: (id: string) => get<Run>(`/runs/${enc(id)}`),
  /** reason: required when the run has override_required (it overrides broken soft guardrails). */
  approveRun: (id: string, reason?: string) => post<Run>(`/runs/${enc(id)}/approve`, reason ? { reason } : undefined),
  listRunChecks: (id: string) => get<GuardrailCheckList>(`/runs/${enc(id)}/checks`),
  cancelRun: (id: string) => post<Run>(`/runs/${enc(id)}/cancel`),
  runEventsJson: (id: string, after?: number) =>
    get<Page<RunEventRecord>>(`/runs/${enc(id)}/events`, {
      params: { format: 'json', after: after ?? undefined },
    }),

  costSummary: (groupBy: 'cloud' | 'project' | 'kind' | 'region') =>
    get<CostSummary>('/costs/summary', { params: { group_by: groupBy } }),
  dailyCosts: (days: number) => get<DailyCosts>('/costs/daily', { params: { days } }),

  audit: (projectId: string, cursor?: string, limit = 50) =>
    get<Page<AuditEvent>>(`/projects/${enc(projectId)}/audit`, {
      params: { limit, cursor: cursor || undefined },
    }),
};

/** Fetches every page of the project list (projects per user are few). */
export async function listAllProjects(): Promise<Project[]> {
  const out: Project[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 20; i++) {
    const page = await api.listProjects(cursor);
    out.push(...page.items);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}

let catalogPromise: Promise<Catalog> | null = null;

/** The catalog changes only with a server release: fetch it once per page load. */
export function loadCatalog(): Promise<Catalog> {
  if (!catalogPromise) {
    catalogPromise = api.catalog().catch((e: unknown) => {
      catalogPromise = null;
      throw e;
    });
  }
  return catalogPromise;
}
