import type { TagRow } from '../lib/tags';
import { MAX_TAGS } from '../lib/tags';

/** Tags as rows of key and value, with add and remove; `errors` by row index. */
export function TagRowsEditor({
  rows,
  onChange,
  errors = {},
  disabled = false,
  testId = 'tags-editor',
}: {
  rows: TagRow[];
  onChange: (rows: TagRow[]) => void;
  errors?: Record<number, { key?: string; value?: string }>;
  disabled?: boolean;
  testId?: string;
}) {
  const set = (i: number, patch: Partial<TagRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset className="space-y-2" data-testid={testId} disabled={disabled}>
      <legend className="label">Tags</legend>
      {rows.length === 0 && <p className="hint">No tags. The platform adds its own (Name, managed-by) in any case.</p>}
      {rows.map((r, i) => (
        <div key={i} className="grid grid-cols-[1fr_1fr_auto] items-start gap-2">
          <div>
            <input
              aria-label={`Tag ${i + 1} key`}
              aria-invalid={Boolean(errors[i]?.key)}
              className="input font-mono"
              value={r.key}
              onChange={(e) => set(i, { key: e.target.value })}
              placeholder="key"
              autoComplete="off"
              spellCheck={false}
            />
            {errors[i]?.key && (
              <p className="field-error" data-testid="field-error">
                {errors[i]?.key}
              </p>
            )}
          </div>
          <div>
            <input
              aria-label={`Tag ${i + 1} value`}
              aria-invalid={Boolean(errors[i]?.value)}
              className="input font-mono"
              value={r.value}
              onChange={(e) => set(i, { value: e.target.value })}
              placeholder="value"
              autoComplete="off"
              spellCheck={false}
            />
            {errors[i]?.value && (
              <p className="field-error" data-testid="field-error">
                {errors[i]?.value}
              </p>
            )}
          </div>
          <button type="button" className="btn btn-ghost btn-sm" onClick={() => onChange(rows.filter((_, j) => j !== i))} aria-label={`Remove tag ${i + 1}`}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="btn btn-secondary btn-sm" onClick={() => onChange([...rows, { key: '', value: '' }])} disabled={rows.length >= MAX_TAGS}>
        Add a tag
      </button>
    </fieldset>
  );
}
