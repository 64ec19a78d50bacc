import { describe, expect, it } from 'vitest';
import { formatJson, leafChanges } from './drift';

describe('formatJson', () => {
  it('quotes strings and indents objects', () => {
    expect(formatJson('sandbox.small')).toBe('"sandbox.small"');
    expect(formatJson(3)).toBe('3');
    expect(formatJson(null)).toBe('null');
    expect(formatJson(undefined)).toBe('(absent)');
    expect(formatJson(['a', 'b'])).toBe('[\n  "a",\n  "b"\n]');
    expect(formatJson({ env: 'dev' })).toBe('{\n  "env": "dev"\n}');
  });
});

describe('leafChanges', () => {
  it('keeps a scalar change whole', () => {
    expect(leafChanges({ path: 'size', before: 'sandbox.small', after: 'sandbox.large' })).toEqual([
      { path: 'size', before: 'sandbox.small', after: 'sandbox.large' },
    ]);
  });
  it('splits nested objects into the keys that changed', () => {
    const got = leafChanges({
      path: 'tags',
      before: { env: 'dev', owner: 'ann', nested: { a: 1, b: 2 } },
      after: { env: 'prod', owner: 'ann', nested: { a: 1, b: 3 }, added: true },
    });
    expect(got).toEqual([
      { path: 'tags.added', before: undefined, after: true },
      { path: 'tags.env', before: 'dev', after: 'prod' },
      { path: 'tags.nested.b', before: 2, after: 3 },
    ]);
  });
  it('treats lists and type changes as one value', () => {
    expect(leafChanges({ path: 'allowed_cidrs', before: ['10.0.0.0/8'], after: ['192.0.2.0/24'] })).toHaveLength(1);
    expect(leafChanges({ path: 'tags', before: null, after: { a: '1' } })).toEqual([{ path: 'tags', before: null, after: { a: '1' } }]);
  });
  it('keeps an attribute whose values compare equal', () => {
    expect(leafChanges({ path: 'secret', before: '(redacted)', after: '(redacted)' })).toHaveLength(1);
  });
});
