import { describe, expect, it } from 'vitest';
import { changeBody, rowsToTags, tagRowsProblem, tagsToRows } from './tags';

describe('tag rows', () => {
  it('turn into the tags object, trimmed, and back', () => {
    expect(rowsToTags([{ key: ' owner ', value: ' ada ' }, { key: '', value: 'x' }])).toEqual({ owner: 'ada' });
    expect(tagsToRows({ a: '1', b: '2' })).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    expect(tagsToRows(undefined)).toEqual([]);
  });

  it('name the first bad row', () => {
    expect(tagRowsProblem([{ key: 'a', value: '' }])).toBeNull();
    expect(tagRowsProblem([{ key: 'a', value: '' }, { key: 'a', value: 'b' }])).toEqual({ index: 1, message: 'This key is listed twice' });
  });
});

describe('the change of a resource', () => {
  const r = { name: 'web-1', config: { tags: { owner: 'ada', team: 'web' } } };
  it('sends only what differs, and tags as the whole set', () => {
    expect(changeBody(r, 'web-1', tagsToRows(r.config.tags).reverse())).toEqual({});
    expect(changeBody(r, ' web-2 ', tagsToRows(r.config.tags))).toEqual({ name: 'web-2' });
    expect(changeBody(r, 'web-1', [{ key: 'owner', value: 'bob' }])).toEqual({ tags: { owner: 'bob' } });
    expect(changeBody({ name: 'x', config: {} }, 'x', [])).toEqual({});
    expect(changeBody(r, 'web-1', [])).toEqual({ tags: {} });
  });
});
