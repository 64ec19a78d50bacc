import { useState } from 'react';
import { api, loadCatalog } from '../../api/endpoints';
import { toApiError } from '../../api/client';
import type { GuardrailCheck, Resource, Run } from '../../api/types';
import { useAsync } from '../../lib/useAsync';
import { nameSchema } from '../../lib/schemas';
import { changeBody, rowsToTags, tagRowsProblem, tagsToRows, type TagRow } from '../../lib/tags';
import { groupChecks } from '../../lib/guardrails';
import { useGuardrailCheck } from '../../lib/guardrailCheck';
import { Dialog } from '../../components/Dialog';
import { GuardrailCheckPanel } from '../../components/GuardrailCheckPanel';
import { TagRowsEditor } from '../../components/TagRowsEditor';
import { ErrorAlert, Field, Notice } from '../../components/ui';

/**
 * Renames a resource or changes its tags (PATCH /resources/{id}); a soft
 * guardrail that blocks the change may be overridden by an owner or admin.
 */
export function EditDialog({
  resource,
  open,
  mayOverride,
  onClose,
  onDone,
}: {
  resource: Resource;
  open: boolean;
  mayOverride: boolean;
  onClose: () => void;
  onDone: (run: Run, r: Resource) => void;
}) {
  const catalog = useAsync(loadCatalog, 'catalog', open);
  const kind = catalog.data?.clouds.find((c) => c.id === resource.cloud)?.kinds.find((k) => k.id === resource.kind);
  const [name, setName] = useState(resource.name);
  const [rows, setRows] = useState<TagRow[]>(() => tagsToRows(resource.config?.tags));
  const [reason, setReason] = useState('');
  const [blocked, setBlocked] = useState<GuardrailCheck[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [nameError, setNameError] = useState('');

  const tagProblem = tagRowsProblem(rows);
  // The rules on the resource as it would be, checked live while the dialog is open.
  const live = useGuardrailCheck(
    open
      ? {
          project_id: resource.project_id,
          account_id: resource.account_id,
          kind: resource.kind,
          resource_id: resource.id,
          name: name.trim() || null,
          region: resource.region,
          size: resource.size,
          config: { ...(resource.kind === 'storage' && resource.config?.public ? { public: true } : {}), tags: rowsToTags(rows) },
        }
      : null,
  );
  const shown = blocked ?? live.result?.checks ?? [];
  // A check still under way decides nothing: Save goes, and the server's 422 says what blocks.
  const settled = blocked !== null || live.status !== 'checking';
  const guard = groupChecks(settled ? shown : []);
  const body = changeBody(resource, name, rows);
  const unchanged = Object.keys(body).length === 0;
  const needsReason = guard.softOnly && mayOverride;

  const reset = () => {
    setName(resource.name);
    setRows(tagsToRows(resource.config?.tags));
    setReason('');
    setBlocked(null);
    setError('');
    setNameError('');
  };
  const close = () => {
    reset();
    onClose();
  };

  const submit = async () => {
    setError('');
    setNameError('');
    if (kind) {
      const n = nameSchema(kind.name_rule).safeParse(name);
      if (!n.success) {
        setNameError(n.error.issues[0]?.message ?? 'Invalid name');
        return;
      }
    }
    if (tagProblem || unchanged) return;
    if (needsReason && reason.trim().length < 3) {
      setError('Give a reason of at least 3 characters to override.');
      return;
    }
    setBusy(true);
    try {
      const r = await api.changeResource(resource.id, needsReason ? { ...body, guardrail_override: { reason: reason.trim() } } : body);
      reset();
      onDone(r.run, r.resource);
    } catch (e) {
      const err = toApiError(e);
      if (err.code === 'guardrail_blocked') setBlocked(err.violations ?? []);
      if (err.field === 'name') setNameError(err.message);
      else setError(err.message);
    } finally {
      setBusy(false);
    }
  };

  const tagErrors: Record<number, { key?: string; value?: string }> = {};
  if (tagProblem && tagProblem.index !== null) tagErrors[tagProblem.index] = { key: tagProblem.message };

  return (
    <Dialog open={open} onClose={close} title={`Edit ${resource.name}`} testId="edit-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
        className="space-y-4"
      >
        <Field label="Name" error={nameError} hint={kind?.name_rule.description || undefined}>
          {(p) => (
            <input
              {...p}
              className="input font-mono"
              value={name}
              onChange={(e) => {
                setName(e.target.value);
                setBlocked(null);
              }}
              autoComplete="off"
              spellCheck={false}
            />
          )}
        </Field>
        {name.trim() !== resource.name && (
          <p className="hint">A cloud that cannot rename in place replaces the resource; the plan shows it before anything changes.</p>
        )}
        <TagRowsEditor
          rows={rows}
          onChange={(r) => {
            setRows(r);
            setBlocked(null);
          }}
          errors={tagErrors}
          testId="edit-tags"
        />
        {tagProblem && tagProblem.index === null && <p className="field-error">{tagProblem.message}</p>}
        {(blocked || shown.length > 0) && (
          <GuardrailCheckPanel
            checks={shown}
            checking={!blocked && live.status === 'checking'}
            title={blocked ? 'Guardrails refused the change' : 'Guardrails'}
            testId="edit-guardrails"
          />
        )}
        {needsReason && (
          <Field label="Override with a reason" hint="A soft guardrail blocks this change; the reason is audited.">
            {(p) => <textarea {...p} className="input" rows={2} value={reason} onChange={(e) => setReason(e.target.value)} />}
          </Field>
        )}
        {guard.softOnly && !mayOverride && <Notice tone="warn">A soft guardrail blocks this change. An owner or admin of the project can override it.</Notice>}
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn btn-secondary" onClick={close}>
            Cancel
          </button>
          <button
            type="submit"
            className="btn btn-primary"
            disabled={busy || unchanged || Boolean(tagProblem) || guard.hardBlocked || (guard.softOnly && !mayOverride)}
          >
            {busy ? 'Saving…' : needsReason ? 'Override and save' : 'Save'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
