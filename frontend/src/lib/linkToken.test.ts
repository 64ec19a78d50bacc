import { describe, expect, it } from 'vitest';
import { tokenFromHash } from './linkToken';

describe('tokenFromHash', () => {
  it('reads the token of a mailed link', () => {
    expect(tokenFromHash('#token=cps_abc-DEF_123')).toBe('cps_abc-DEF_123');
    expect(tokenFromHash('token=cpi_x')).toBe('cpi_x');
    expect(tokenFromHash('#a=1&token=cpi_y')).toBe('cpi_y');
  });
  it('answers empty for anything else', () => {
    expect(tokenFromHash('')).toBe('');
    expect(tokenFromHash('#tok=x')).toBe('');
    expect(tokenFromHash('#token=')).toBe('');
    expect(tokenFromHash('#token=<script>')).toBe('');
  });
});
