// A fake HTTP boundary for unit tests: the API client's axios instance gets an
// adapter that records each request and answers only when the test says so.
// Aborting a request's signal rejects it, as the browser would.
import { AxiosError, CanceledError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { http } from '../api/client';

export interface FakeRequest {
  method: string;
  url: string;
  body: unknown;
  headers: Record<string, unknown>;
  aborted: () => boolean;
  /** Answer with a status and JSON body (>= 400 rejects like a server error). */
  respond: (status: number, body?: unknown) => void;
}

export function installFakeHttp(): { requests: FakeRequest[]; restore: () => void } {
  const requests: FakeRequest[] = [];
  const previous = http.defaults.adapter;
  const adapter: AxiosAdapter = (config: InternalAxiosRequestConfig) =>
    new Promise<AxiosResponse>((resolve, reject) => {
      const signal = config.signal as AbortSignal | undefined;
      const onAbort = () => reject(new CanceledError(undefined, undefined, config));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener?.('abort', onAbort);
      requests.push({
        method: (config.method ?? 'get').toUpperCase(),
        url: config.url ?? '',
        body: typeof config.data === 'string' && config.data ? JSON.parse(config.data) : config.data,
        headers: config.headers.toJSON(),
        aborted: () => Boolean(signal?.aborted),
        respond: (status, body) => {
          const res: AxiosResponse = { status, statusText: '', data: body, headers: {}, config };
          if (status >= 400) reject(new AxiosError(`status ${status}`, AxiosError.ERR_BAD_RESPONSE, config, undefined, res));
          else resolve(res);
        },
      });
    });
  http.defaults.adapter = adapter;
  return {
    requests,
    restore: () => {
      http.defaults.adapter = previous;
    },
  };
}

/** Lets pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await new Promise((r) => setTimeout(r, 0));
}
