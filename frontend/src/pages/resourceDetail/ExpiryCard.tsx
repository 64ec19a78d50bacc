import type { Resource } from '../../api/types';
import { countdownText, expiresSoon } from '../../lib/duration';
import { formatDateTime } from '../../lib/format';
import { useNow } from '../../lib/useNow';
import { ExpiryCountdown } from '../../components/DayTwoBadges';
import { Notice } from '../../components/ui';

/** The expiry of a resource with its countdown and the Extend button. */
export function ExpiryCard({ resource, canExtend, onExtend }: { resource: Resource; canExtend: boolean; onExtend: () => void }) {
  const { expires_at } = resource;
  if (!expires_at || resource.status === 'destroyed') return null;
  return (
    <section className="card" aria-labelledby="expiry-title" data-testid="expiry-card">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="expiry-title" className="text-base font-semibold">
          Expiry
        </h2>
        {canExtend && (
          <button type="button" className="btn btn-secondary btn-sm" onClick={onExtend}>
            Extend
          </button>
        )}
      </div>
      <p className="mt-1 text-sm text-slate-700" data-testid="expires-at">
        {formatDateTime(expires_at)}
      </p>
      <ExpiryCountdown expiresAt={expires_at} currentRun={resource.current_run} testId="expiry-countdown" className="text-sm" />
      <p className="mt-2 text-xs text-slate-500">When it expires, a destroy run is queued (approved automatically only if the project says so).</p>
    </section>
  );
}

/** The banner over a resource that expires within 24 h, or has expired and awaits its destroy. */
export function ExpiryBanner({ resource }: { resource: Resource }) {
  const now = useNow();
  const { expires_at } = resource;
  if (!expires_at || resource.status === 'destroyed') return null;
  const soon = expiresSoon(expires_at, now);
  const text = countdownText(expires_at, now, resource.current_run);
  if (!soon && !text.startsWith('expired')) return null;
  return (
    <Notice tone="warn" testId="expiry-banner">
      This resource {text} ({formatDateTime(expires_at)}).{soon && ' Extend it if you still need it.'}
    </Notice>
  );
}
