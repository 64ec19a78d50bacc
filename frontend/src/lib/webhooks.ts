// Project webhooks as the settings page edits them: the form's schema, the
// request bodies, and the page state that shows a new secret exactly once.
import { z } from 'zod';
import type { CreateWebhookRequest, UpdateWebhookRequest, Webhook, WebhookCreated, WebhookEvent } from '../api/types';
import { WEBHOOK_EVENTS } from '../api/types';

export const EVENT_TEXT: Record<WebhookEvent, string> = {
  'run.needs_approval': 'A run waits for approval',
  'run.succeeded': 'A run succeeded',
  'run.failed': 'A run failed',
  'resource.drifted': 'A resource drifted',
  'resource.expiring': 'A resource expires soon',
  'resource.expired': 'A resource expired',
  'guardrail.blocked': 'A guardrail blocked an order or plan',
};

export interface WebhookFormValues {
  url: string;
  events: WebhookEvent[];
  /** create: optional (the server generates one); edit: a new secret, or empty to keep it */
  secret: string;
  enabled: boolean;
}

export const webhookFormSchema = z.object({
  url: z
    .string()
    .trim()
    .min(8, { message: 'Enter the URL to deliver to, e.g. https://hooks.example.com/cloudplane' })
    .max(2048, { message: 'At most 2048 characters' })
    .refine(
      (s) => {
        try {
          const u = new URL(s);
          return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '';
        } catch {
          return false;
        }
      },
      { message: 'Enter an http or https URL' },
    ),
  events: z.array(z.enum(WEBHOOK_EVENTS as [WebhookEvent, ...WebhookEvent[]])).min(1, { message: 'Choose at least one event' }),
  secret: z
    .string()
    .refine((s) => s === '' || (s.length >= 16 && s.length <= 256), { message: 'Between 16 and 256 characters, or empty' })
    .refine((s) => /^[\x21-\x7e]*$/.test(s), { message: 'Printable ASCII without spaces' }),
  enabled: z.boolean(),
});

export const NEW_WEBHOOK: WebhookFormValues = { url: '', events: [...WEBHOOK_EVENTS], secret: '', enabled: true };

export function webhookValues(w: Webhook): WebhookFormValues {
  return { url: w.url, events: [...w.events], secret: '', enabled: w.enabled };
}

/** Events in the spec's order, once each. */
function orderedEvents(events: readonly WebhookEvent[]): WebhookEvent[] {
  return WEBHOOK_EVENTS.filter((e) => events.includes(e));
}

export function toCreateWebhook(v: WebhookFormValues): CreateWebhookRequest {
  const body: CreateWebhookRequest = { url: v.url.trim(), events: orderedEvents(v.events), enabled: v.enabled };
  if (v.secret !== '') body.secret = v.secret;
  return body;
}

/** Only what changed; an empty secret keeps the current one. */
export function toUpdateWebhook(w: Webhook, v: WebhookFormValues): UpdateWebhookRequest {
  const body: UpdateWebhookRequest = {};
  if (v.url.trim() !== w.url) body.url = v.url.trim();
  const events = orderedEvents(v.events);
  if (events.join(',') !== orderedEvents(w.events).join(',')) body.events = events;
  if (v.enabled !== w.enabled) body.enabled = v.enabled;
  if (v.secret !== '') body.secret = v.secret;
  return body;
}

// ---------------------------------------------------------------------------
// The page's list, and the one moment a secret is visible.
// ---------------------------------------------------------------------------

export interface WebhookListState {
  items: Webhook[];
  /** The secret of the webhook just created, until dismissed; nothing else ever holds one. */
  revealed: { webhookId: string; secret: string } | null;
}

export type WebhookListAction =
  | { type: 'loaded'; items: Webhook[] }
  | { type: 'created'; webhook: WebhookCreated }
  | { type: 'updated'; webhook: Webhook }
  | { type: 'deleted'; id: string }
  | { type: 'dismiss_secret' };

/** A webhook without its secret: what the list keeps of a creation's answer. */
export function withoutSecret(w: WebhookCreated | Webhook): Webhook {
  const { secret: _secret, ...rest } = w as WebhookCreated;
  return rest;
}

export function webhookListReducer(state: WebhookListState, action: WebhookListAction): WebhookListState {
  switch (action.type) {
    case 'loaded':
      return { ...state, items: action.items.map(withoutSecret) };
    case 'created':
      return {
        items: [...state.items.filter((w) => w.id !== action.webhook.id), withoutSecret(action.webhook)],
        revealed: { webhookId: action.webhook.id, secret: action.webhook.secret },
      };
    case 'updated':
      return { ...state, items: state.items.map((w) => (w.id === action.webhook.id ? withoutSecret(action.webhook) : w)) };
    case 'deleted':
      return {
        items: state.items.filter((w) => w.id !== action.id),
        revealed: state.revealed?.webhookId === action.id ? null : state.revealed,
      };
    case 'dismiss_secret':
      return { ...state, revealed: null };
  }
}

export const initialWebhookList: WebhookListState = { items: [], revealed: null };
