import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { AddressProgress } from '../lib/runEvents';
import { ProgressRow, PrunedLogNote, RequestId } from './RunPanel';

const started: AddressProgress = { address: 'sandbox_instance.this', action: 'update', state: 'started', elapsedSeconds: 3, percent: 12 };

describe('ProgressRow', () => {
  it('says the run waits for approval, with no bar, when nothing runs', () => {
    const html = renderToStaticMarkup(createElement(ProgressRow, { p: started, waiting: 'waiting for approval' }));
    expect(html).toContain('waiting for approval');
    expect(html).not.toContain('in progress');
    expect(html).not.toContain('role="progressbar"');
    expect(html).toContain('data-state="waiting"');
  });
  it('shows the bar while the run works', () => {
    const html = renderToStaticMarkup(createElement(ProgressRow, { p: started, waiting: null }));
    expect(html).toContain('role="progressbar"');
    expect(html).toContain('started');
  });
  it('keeps a finished address finished while the run waits', () => {
    const html = renderToStaticMarkup(
      createElement(ProgressRow, { p: { ...started, state: 'complete', percent: 100 }, waiting: 'queued' }),
    );
    expect(html).toContain('role="progressbar"');
    expect(html).toContain('done');
  });
});

describe('RequestId', () => {
  it('shows the id the run\'s log lines carry, with a copy button', () => {
    const html = renderToStaticMarkup(createElement(RequestId, { id: 'ui-0123456789abcdef' }));
    expect(html).toContain('ui-0123456789abcdef');
    expect(html).toContain('aria-label="Copy request id"');
  });
});

describe('PrunedLogNote', () => {
  it('says the log was pruned, and when', () => {
    const html = renderToStaticMarkup(createElement(PrunedLogNote, { at: '2026-03-01T10:00:00Z' }));
    expect(html).toContain('data-testid="run-log-pruned"');
    expect(html).toContain('retention');
    expect(html).toMatch(/2026/);
  });
});
