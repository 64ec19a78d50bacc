// Tags of an order or a resource (config.tags): rows of key and value as the
// editor shows them, and the object the API takes.
import { z } from 'zod';
import type { ChangeResourceRequest, Resource } from '../api/types';

export interface TagRow {
  key: string;
  value: string;
}

export const MAX_TAGS = 50;

/** Rows as typed: keys non-empty, once each, at most 128 characters; values at most 256. */
export const tagRowsSchema = z.array(z.object({ key: z.string(), value: z.string() })).superRefine((rows, ctx) => {
  if (rows.length > MAX_TAGS) ctx.addIssue({ code: 'custom', message: `At most ${MAX_TAGS} tags` });
  const seen = new Set<string>();
  rows.forEach((r, i) => {
    const key = r.key.trim();
    if (key === '') ctx.addIssue({ code: 'custom', path: [i, 'key'], message: 'Enter a key, or remove the row' });
    else if (key.length > 128) ctx.addIssue({ code: 'custom', path: [i, 'key'], message: 'At most 128 characters' });
    else if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i, 'key'], message: 'This key is listed twice' });
    seen.add(key);
    if (r.value.length > 256) ctx.addIssue({ code: 'custom', path: [i, 'value'], message: 'At most 256 characters' });
  });
});

export function rowsToTags(rows: readonly TagRow[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of rows) {
    const key = r.key.trim();
    if (key) out[key] = r.value.trim();
  }
  return out;
}

export function tagsToRows(tags: Record<string, string> | undefined | null): TagRow[] {
  return Object.entries(tags ?? {}).map(([key, value]) => ({ key, value }));
}

/** The first problem of the rows, for a form that shows one message. */
export function tagRowsProblem(rows: readonly TagRow[]): { index: number | null; message: string } | null {
  const r = tagRowsSchema.safeParse(rows);
  if (r.success) return null;
  const issue = r.error.issues[0]!;
  return { index: typeof issue.path[0] === 'number' ? issue.path[0] : null, message: issue.message };
}

function sameTags(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/** The PATCH body of an edit: only the name and tags that differ from the resource's (tags as the whole set). */
export function changeBody(r: Pick<Resource, 'name' | 'config'>, name: string, rows: readonly TagRow[]): ChangeResourceRequest {
  const body: ChangeResourceRequest = {};
  if (name.trim() !== r.name) body.name = name.trim();
  const tags = rowsToTags(rows);
  if (!sameTags(tags, r.config?.tags ?? {})) body.tags = tags;
  return body;
}
