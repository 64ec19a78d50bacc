import { describe, expect, it } from 'vitest';
import { operationLabel } from './format';

describe('operationLabel', () => {
  it('says each run operation as words', () => {
    expect(operationLabel('drift_check')).toBe('Drift check');
    expect(operationLabel('create')).toBe('Create');
    expect(operationLabel('destroy')).toBe('Destroy');
  });
});
