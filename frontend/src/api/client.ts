import axios, { AxiosError, type AxiosRequestConfig, type InternalAxiosRequestConfig } from 'axios';
import type { ApiErrorBody, AuthResponse, GuardrailCheck } from './types';
import { clearToken, getToken, setToken } from '../lib/token';

export const API_BASE = '/api/v1';

const http = axios.create({
  baseURL: API_BASE,
  timeout: 30_000,
  headers: { Accept: 'application/json' },
});

/** The axios instance; unit tests replace its adapter to answer at the HTTP boundary. */
export { http };

let onUnauthorized: (() => void) | null = null;

/** Called once by the auth provider: what to do when a signed-in call gets 401. */
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

/** A new id for one call, sent as X-Request-Id: the server's, the worker's and tofu's lines about it carry it. */
export function newRequestId(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return 'ui-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

http.interceptors.request.use((config) => {
  if (!config.headers.has('X-Request-Id')) config.headers.set('X-Request-Id', newRequestId());
  const token = getToken();
  if (token) {
    config.headers.set('Authorization', `Bearer ${token}`);
  }
  return config;
});

let refreshing: Promise<AuthResponse | null> | null = null;

/**
 * Trades the refresh cookie for a new access token (and the next cookie). One
 * exchange at a time: the server treats a refresh token used twice as stolen
 * and ends the session, so concurrent callers share the one in flight.
 */
export function refreshSession(): Promise<AuthResponse | null> {
  if (!refreshing) {
    refreshing = axios
      .post<AuthResponse>(`${API_BASE}/auth/refresh`, undefined, { timeout: 30_000, headers: { Accept: 'application/json' } })
      .then(
        (r) => {
          setToken(r.data.access_token);
          return r.data;
        },
        () => {
          clearToken();
          return null;
        },
      )
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

type RetriableConfig = InternalAxiosRequestConfig & { _retried?: boolean };

// Calls that must not trigger a refresh: they are how a session starts or renews.
const NO_REFRESH = ['/auth/login', '/auth/signup', '/auth/refresh'];

http.interceptors.response.use(
  (r) => r,
  async (err: unknown) => {
    if (axios.isAxiosError(err) && err.response?.status === 401 && err.config) {
      const config = err.config as RetriableConfig;
      const sent = String(config.headers?.get?.('Authorization') ?? '');
      const url = config.url ?? '';
      if (sent && !NO_REFRESH.some((p) => url.startsWith(p))) {
        // The access token is short-lived: renew it once, then retry the call
        // once. A call sent before another one's renewal just retries.
        if (!config._retried) {
          config._retried = true;
          const now = getToken();
          if (now && sent !== `Bearer ${now}`) return http.request(config);
          if (await refreshSession()) return http.request(config);
        }
        onUnauthorized?.();
      }
    }
    return Promise.reject(err);
  },
);

/** A failed API call, normalised from the server's error shape. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  readonly retryAfter?: number;
  /** guardrail_blocked: the rules checked, broken ones among them. */
  readonly violations?: GuardrailCheck[];
  /** guardrail_blocked: only soft rules are broken and the caller may override them. */
  readonly overridePossible?: boolean;

  constructor(
    status: number,
    code: string,
    message: string,
    field?: string,
    retryAfter?: number,
    guardrail?: { violations?: GuardrailCheck[]; overridePossible?: boolean },
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
    this.violations = guardrail?.violations;
    this.overridePossible = guardrail?.overridePossible;
  }
}

function isErrorBody(x: unknown): x is ApiErrorBody {
  if (typeof x !== 'object' || x === null) return false;
  const e = (x as { error?: unknown }).error;
  return typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string';
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (axios.isAxiosError(err)) {
    const ax = err as AxiosError;
    const res = ax.response;
    if (!res) {
      if (ax.code === 'ERR_CANCELED') return new ApiError(0, 'canceled', 'The request was canceled.');
      if (ax.code === 'ECONNABORTED') return new ApiError(0, 'timeout', 'The server took too long to answer.');
      return new ApiError(0, 'network', 'Could not reach the server. Check your connection and try again.');
    }
    const ra = Number(res.headers?.['retry-after']);
    const retryAfter = Number.isFinite(ra) && ra > 0 ? ra : undefined;
    if (isErrorBody(res.data)) {
      const e = res.data.error;
      let message = e.message;
      if (res.status === 429 && retryAfter) message = `${message} Try again in ${retryAfter} s.`;
      return new ApiError(res.status, e.code, message, e.field, retryAfter, {
        violations: Array.isArray(e.violations) ? e.violations : undefined,
        overridePossible: typeof e.override_possible === 'boolean' ? e.override_possible : undefined,
      });
    }
    const fallback =
      res.status === 429
        ? `Too many requests.${retryAfter ? ` Try again in ${retryAfter} s.` : ''}`
        : `The server answered ${res.status} ${res.statusText || ''}`.trim();
    return new ApiError(res.status, 'http_' + res.status, fallback, undefined, retryAfter);
  }
  if (err instanceof Error) return new ApiError(0, 'client', err.message);
  return new ApiError(0, 'client', 'Something went wrong.');
}

export function errorMessage(err: unknown): string {
  return toApiError(err).message;
}

/** Runs one request; its body on success, an ApiError on failure. */
async function call<T>(config: AxiosRequestConfig): Promise<T> {
  try {
    return (await http.request<T>(config)).data;
  } catch (e) {
    throw toApiError(e);
  }
}

export const get = <T>(url: string, config?: AxiosRequestConfig) => call<T>({ ...config, method: 'get', url });
export const post = <T>(url: string, data?: unknown, config?: AxiosRequestConfig) =>
  call<T>({ ...config, method: 'post', url, data });
export const patch = <T>(url: string, data?: unknown) => call<T>({ method: 'patch', url, data });
export const put = <T>(url: string, data?: unknown) => call<T>({ method: 'put', url, data });
export const del = <T>(url: string) => call<T>({ method: 'delete', url });
