import { useCallback, useEffect, useReducer, useState } from 'react';
import { Controller, useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { api } from '../../api/endpoints';
import { errorMessage, toApiError } from '../../api/client';
import type { Webhook, WebhookDelivery } from '../../api/types';
import { WEBHOOK_EVENTS } from '../../api/types';
import { canManage } from '../../lib/projects';
import { useCursorList } from '../../lib/useCursorList';
import { formatDateTime, formatRelative } from '../../lib/format';
import { applyApiError } from '../../lib/formErrors';
import {
  EVENT_TEXT,
  NEW_WEBHOOK,
  initialWebhookList,
  toCreateWebhook,
  toUpdateWebhook,
  webhookFormSchema,
  webhookListReducer,
  webhookValues,
  type WebhookFormValues,
} from '../../lib/webhooks';
import { SecretOnce } from '../../components/SecretOnce';
import { Dialog } from '../../components/Dialog';
import { CheckboxSet, ErrorAlert, Field, Loading, Notice } from '../../components/ui';
import { useProject } from './context';

const FIELDS = ['url', 'events', 'secret', 'enabled'] as const;

function DeliveryStatus({ d, code = true }: { d: Pick<WebhookDelivery, 'status' | 'response_code'>; code?: boolean }) {
  const tone =
    d.status === 'succeeded' ? 'bg-green-100 text-green-800' : d.status === 'failed' ? 'bg-red-100 text-red-800' : 'bg-amber-100 text-amber-900';
  return (
    <span className={`inline-block rounded px-1.5 py-0.5 text-xs font-medium ${tone}`} data-testid="delivery-status" data-status={d.status}>
      {d.status}
      {code && d.response_code !== null && d.response_code !== undefined && ` · ${d.response_code}`}
    </span>
  );
}

/** The create and edit form: URL, events, secret (optional), enabled. */
function WebhookForm({
  initial,
  editing,
  onSubmit,
  onCancel,
}: {
  initial: WebhookFormValues;
  editing: boolean;
  onSubmit: (v: WebhookFormValues) => Promise<void>;
  onCancel?: () => void;
}) {
  const [formError, setFormError] = useState('');
  const {
    register,
    control,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<WebhookFormValues>({ resolver: zodResolver(webhookFormSchema), defaultValues: initial });

  const submit = handleSubmit(async (v) => {
    setFormError('');
    try {
      await onSubmit(v);
    } catch (e) {
      const { message } = applyApiError(e, setError, FIELDS);
      if (message) setFormError(message);
    }
  });

  return (
    <form onSubmit={submit} noValidate className="space-y-3" data-testid={editing ? 'webhook-edit-form' : 'webhook-create-form'}>
      <Field label="Payload URL" error={errors.url?.message} hint="Deliveries are POSTed here as JSON, signed with the secret.">
        {(p) => <input {...p} {...register('url')} className="input font-mono" autoComplete="off" spellCheck={false} placeholder="https://hooks.example.com/cloudplane" />}
      </Field>
      <fieldset>
        <legend className="label">Events</legend>
        <Controller
          control={control}
          name="events"
          render={({ field }) => <CheckboxSet options={WEBHOOK_EVENTS} value={field.value} onChange={field.onChange} text={EVENT_TEXT} />}
        />
        {errors.events?.message && <p className="field-error">{errors.events.message}</p>}
      </fieldset>
      <Field
        label={editing ? 'New secret (optional)' : 'Secret (optional)'}
        error={errors.secret?.message}
        hint={editing ? 'Leave empty to keep the current secret.' : 'Leave empty and one is generated. Either way it is shown once.'}
      >
        {(p) => <input {...p} {...register('secret')} type="password" className="input font-mono" autoComplete="new-password" spellCheck={false} />}
      </Field>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" {...register('enabled')} />
        Enabled
      </label>
      <ErrorAlert error={formError} />
      <div className="flex gap-2">
        <button type="submit" className="btn btn-primary" disabled={isSubmitting}>
          {isSubmitting ? 'Saving…' : editing ? 'Save webhook' : 'Add webhook'}
        </button>
        {onCancel && (
          <button type="button" className="btn btn-secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

/** The delivery log of one webhook, newest first, paged by next_cursor, with Redeliver per row. */
function DeliveryLog({ webhookId, nonce, onNewest }: { webhookId: string; nonce: number; onNewest: (d: WebhookDelivery) => void }) {
  const list = useCursorList((cursor) => api.webhookDeliveries(webhookId, cursor), `deliveries:${webhookId}:${nonce}`);
  const newest = list.items[0];
  useEffect(() => {
    if (newest) onNewest(newest);
  }, [newest, onNewest]);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState('');
  const { reload } = list;
  // A pending delivery changes soon: look again while any is pending.
  const pending = list.items.some((d) => d.status === 'pending');
  useEffect(() => {
    if (!pending) return;
    const t = window.setInterval(reload, 3000);
    return () => window.clearInterval(t);
  }, [pending, reload]);

  const redeliver = async (d: WebhookDelivery) => {
    setBusy(d.id);
    setError('');
    try {
      await api.redeliver(webhookId, d.id);
      reload();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="mt-3 space-y-2" data-testid="delivery-log">
      <div className="flex items-center justify-between">
        <h4 className="text-sm font-semibold">Deliveries</h4>
        <button type="button" className="btn btn-ghost btn-sm" onClick={reload}>
          Refresh
        </button>
      </div>
      <ErrorAlert error={list.error ?? error} />
      {list.loading ? (
        <Loading />
      ) : list.items.length === 0 ? (
        <p className="text-sm text-slate-600">No deliveries yet.</p>
      ) : (
        <div className="relative overflow-x-auto rounded-md border border-slate-200">
          <table className="table-base text-sm">
            <thead className="bg-slate-50">
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col" className="text-right">
                  Response
                </th>
                <th scope="col" className="text-right">
                  Attempts
                </th>
                <th scope="col" className="text-right">
                  Took
                </th>
                <th scope="col">Next attempt</th>
                <th scope="col">Error</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {list.items.map((d) => (
                <tr key={d.id} data-testid="delivery-row" data-event={d.event}>
                  <td className="whitespace-nowrap">
                    <code className="text-xs">{d.event}</code>
                    <span className="block text-xs text-slate-500" title={formatDateTime(d.created_at)}>
                      {formatRelative(d.created_at)}
                      {d.redelivery_of && ' · redelivery'}
                    </span>
                  </td>
                  <td>
                    <DeliveryStatus d={d} code={false} />
                  </td>
                  <td className="text-right tabular-nums" data-testid="delivery-code">
                    {d.response_code ?? '—'}
                  </td>
                  <td className="text-right tabular-nums">{d.attempts}</td>
                  <td className="text-right tabular-nums">{d.duration_ms === null ? '—' : `${d.duration_ms} ms`}</td>
                  <td className="whitespace-nowrap">{d.next_attempt_at ? formatDateTime(d.next_attempt_at) : '—'}</td>
                  <td className="max-w-48 break-words text-xs text-red-800">{d.error ?? ''}</td>
                  <td className="text-right">
                    <button type="button" className="btn btn-ghost btn-sm" disabled={busy === d.id} onClick={() => void redeliver(d)}>
                      Redeliver
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.hasMore && (
        <button type="button" className="btn btn-secondary btn-sm" disabled={list.loadingMore} onClick={list.loadMore}>
          {list.loadingMore ? 'Loading…' : 'Older deliveries'}
        </button>
      )}
    </div>
  );
}

function WebhookCard({
  w,
  onUpdated,
  onDelete,
}: {
  w: Webhook;
  onUpdated: (w: Webhook) => void;
  onDelete: (w: Webhook) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [showLog, setShowLog] = useState(false);
  const [logNonce, setLogNonce] = useState(0);
  const [testing, setTesting] = useState(false);
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  // The log's newest row, when it is newer than the list's last delivery.
  const [seen, setSeen] = useState<WebhookDelivery | null>(null);
  const last = seen && (!w.last_delivery || seen.created_at >= w.last_delivery.created_at) ? seen : w.last_delivery;

  const sendTest = async () => {
    setTesting(true);
    setError('');
    setMessage('');
    try {
      await api.testWebhook(w.id);
      setMessage('Test delivery queued.');
      setShowLog(true);
      setLogNonce((n) => n + 1);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setTesting(false);
    }
  };

  return (
    <li className="rounded-md border border-slate-200 p-3" data-testid="webhook" data-webhook-id={w.id}>
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <p className="break-all font-mono text-sm" data-testid="webhook-url">
            {w.url}
          </p>
          <p className="mt-1 flex flex-wrap items-center gap-1 text-xs text-slate-600">
            <span className={`rounded px-1.5 py-0.5 font-medium ${w.enabled ? 'bg-green-100 text-green-800' : 'bg-slate-100 text-slate-700'}`} data-testid="webhook-enabled">
              {w.enabled ? 'enabled' : 'disabled'}
            </span>
            {w.events.map((e) => (
              <code key={e} className="rounded bg-slate-100 px-1">
                {e}
              </code>
            ))}
          </p>
          <p className="mt-1 text-xs text-slate-600">
            Secret ends in <code data-testid="webhook-secret-hint">{w.secret_hint}</code> · Last delivery:{' '}
            {last ? (
              <>
                <DeliveryStatus d={last} /> {formatRelative(last.created_at)}
              </>
            ) : (
              'none yet'
            )}
          </p>
        </div>
        <div className="flex flex-wrap gap-2">
          <button type="button" className="btn btn-secondary btn-sm" onClick={() => void sendTest()} disabled={testing || !w.enabled} title={w.enabled ? undefined : 'Enable the webhook to test it'}>
            {testing ? 'Sending…' : 'Send test'}
          </button>
          <button type="button" className="btn btn-secondary btn-sm" aria-expanded={showLog} onClick={() => setShowLog((s) => !s)}>
            {showLog ? 'Hide deliveries' : 'Deliveries'}
          </button>
          <button type="button" className="btn btn-secondary btn-sm" onClick={() => setEditing((e) => !e)} aria-expanded={editing}>
            Edit
          </button>
          <button type="button" className="btn btn-danger btn-sm" onClick={() => onDelete(w)}>
            Delete
          </button>
        </div>
      </div>
      {message && <p className="mt-2 text-sm text-green-800">{message}</p>}
      <ErrorAlert error={error} />
      {editing && (
        <div className="mt-3 border-t border-slate-100 pt-3">
          <WebhookForm
            initial={webhookValues(w)}
            editing
            onCancel={() => setEditing(false)}
            onSubmit={async (v) => {
              const body = toUpdateWebhook(w, v);
              if (Object.keys(body).length === 0) {
                setEditing(false);
                return;
              }
              onUpdated(await api.updateWebhook(w.id, body));
              setEditing(false);
              setMessage(body.secret ? 'Saved. The new secret signs deliveries from now on.' : 'Saved.');
            }}
          />
        </div>
      )}
      {showLog && <DeliveryLog webhookId={w.id} nonce={logNonce} onNewest={setSeen} />}
    </li>
  );
}

/** A project's webhooks (owners and admins): list, add, edit, delete, test, and each one's delivery log. */
export function WebhooksPage() {
  const { project } = useProject();
  const allowed = canManage(project.role);
  const [state, dispatch] = useReducer(webhookListReducer, initialWebhookList);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState('');
  const [adding, setAdding] = useState(false);
  const [formKey, setFormKey] = useState(0);
  const [confirm, setConfirm] = useState<Webhook | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState('');

  const load = useCallback(
    () =>
      api.listWebhooks(project.id).then(
        (page) => {
          dispatch({ type: 'loaded', items: page.items });
          setLoadError('');
          setLoading(false);
        },
        (e: unknown) => {
          setLoadError(errorMessage(e));
          setLoading(false);
        },
      ),
    [project.id],
  );

  useEffect(() => {
    if (allowed) void load();
  }, [allowed, load]);

  if (!allowed) return <Notice>Only owners and admins of the project manage its webhooks.</Notice>;

  const doDelete = async () => {
    if (!confirm) return;
    setDeleting(true);
    setDeleteError('');
    try {
      await api.deleteWebhook(confirm.id);
      dispatch({ type: 'deleted', id: confirm.id });
      setConfirm(null);
    } catch (e) {
      const err = toApiError(e);
      if (err.status === 404) {
        dispatch({ type: 'deleted', id: confirm.id });
        setConfirm(null);
      } else setDeleteError(err.message);
    } finally {
      setDeleting(false);
    }
  };

  return (
    <div className="space-y-5">
      {state.revealed && (
        <SecretOnce
          title="The webhook’s signing secret"
          value={state.revealed.secret}
          label="secret"
          testId="webhook-secret"
          onDismiss={() => dispatch({ type: 'dismiss_secret' })}
        >
          Receivers use it to check the X-Cloudplane-Signature header.
        </SecretOnce>
      )}

      <section className="card" aria-labelledby="webhooks-title">
        <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
          <h2 id="webhooks-title" className="text-base font-semibold">
            Webhooks
          </h2>
          {!adding && (
            <button type="button" className="btn btn-primary btn-sm" onClick={() => setAdding(true)}>
              Add a webhook
            </button>
          )}
        </div>
        <p className="mb-3 text-sm text-slate-600">
          Signed JSON POSTs when runs need approval, succeed or fail, resources drift or expire, and guardrails block. Failed
          deliveries are retried for up to 24 hours.
        </p>
        {adding && (
          <div className="mb-4 rounded-md border border-slate-200 p-3">
            <WebhookForm
              key={formKey}
              initial={NEW_WEBHOOK}
              editing={false}
              onCancel={() => setAdding(false)}
              onSubmit={async (v) => {
                const created = await api.createWebhook(project.id, toCreateWebhook(v));
                dispatch({ type: 'created', webhook: created });
                setAdding(false);
                setFormKey((k) => k + 1);
              }}
            />
          </div>
        )}
        <ErrorAlert error={loadError} onRetry={() => void load()} />
        {loading ? (
          <Loading />
        ) : state.items.length === 0 ? (
          <p className="text-sm text-slate-600" data-testid="webhooks-empty">
            No webhooks yet.
          </p>
        ) : (
          <ul className="space-y-3" data-testid="webhooks">
            {state.items.map((w) => (
              <WebhookCard key={w.id} w={w} onUpdated={(u) => dispatch({ type: 'updated', webhook: u })} onDelete={setConfirm} />
            ))}
          </ul>
        )}
      </section>

      <Dialog open={confirm !== null} onClose={() => setConfirm(null)} title="Delete this webhook?" testId="delete-webhook-dialog">
        <p className="mb-2 break-all font-mono text-sm">{confirm?.url}</p>
        <p className="mb-4 text-sm text-slate-700">Its delivery log goes with it. Deliveries still pending are not sent.</p>
        <ErrorAlert error={deleteError} />
        <div className="mt-4 flex justify-end gap-2">
          <button type="button" className="btn btn-secondary" onClick={() => setConfirm(null)}>
            Keep it
          </button>
          <button type="button" className="btn btn-danger" disabled={deleting} onClick={() => void doDelete()}>
            {deleting ? 'Deleting…' : 'Delete webhook'}
          </button>
        </div>
      </Dialog>
    </div>
  );
}
