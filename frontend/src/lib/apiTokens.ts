// API tokens as the settings pages edit them: the form's schema, the request
// body, and the page state that shows a new token exactly once.
import { z } from 'zod';
import type { ApiToken, ApiTokenCreated, CreateProjectTokenRequest, TokenScope } from '../api/types';
import { TOKEN_SCOPES } from '../api/types';

export const SCOPE_TEXT: Record<TokenScope, string> = {
  read: 'See projects, resources, runs and costs',
  order: 'Order, resize, extend and destroy resources; schedules; drift remedies',
  approve: 'Approve and cancel runs',
  admin: 'Project settings, members, accounts, guardrails, webhooks and tokens',
};

export type TokenRole = NonNullable<CreateProjectTokenRequest['role']>;
export const TOKEN_ROLES: readonly TokenRole[] = ['viewer', 'member', 'admin'];

export interface TokenFormValues {
  name: string;
  scopes: TokenScope[];
  expiresInDays: number;
  role: TokenRole;
}

export const NEW_TOKEN: TokenFormValues = { name: '', scopes: ['read'], expiresInDays: 90, role: 'member' };

export const tokenFormSchema = z.object({
  name: z.string().trim().min(1, { message: 'Give the token a name, e.g. the CI job that uses it' }).max(100, { message: 'At most 100 characters' }),
  scopes: z.array(z.enum(TOKEN_SCOPES as [TokenScope, ...TokenScope[]])).min(1, { message: 'Choose at least one scope' }),
  expiresInDays: z
    .number({ message: 'Enter a number of days' })
    .int({ message: 'Whole days' })
    .min(1, { message: 'At least 1 day' })
    .max(365, { message: 'At most 365 days' }),
  role: z.enum(TOKEN_ROLES as [TokenRole, ...TokenRole[]]),
});

/** The creation body; a project token also has a role. */
export function toCreateToken(v: TokenFormValues, project: boolean): CreateProjectTokenRequest {
  const body: CreateProjectTokenRequest = {
    name: v.name.trim(),
    scopes: TOKEN_SCOPES.filter((s) => v.scopes.includes(s)),
    expires_in_days: v.expiresInDays,
  };
  if (project) body.role = v.role;
  return body;
}

// ---------------------------------------------------------------------------
// The page's list, and the one moment a token is visible.
// ---------------------------------------------------------------------------

export interface TokenListState {
  items: ApiToken[];
  /** The token just created, until dismissed; nothing else ever holds one. */
  revealed: { tokenId: string; token: string } | null;
}

export type TokenListAction =
  | { type: 'loaded'; items: ApiToken[] }
  | { type: 'created'; token: ApiTokenCreated }
  | { type: 'revoked'; id: string }
  | { type: 'dismiss' };

/** A token without its secret: what the list keeps of a creation's answer. */
export function withoutSecret(t: ApiTokenCreated | ApiToken): ApiToken {
  const { token: _token, ...rest } = t as ApiTokenCreated;
  return rest;
}

export function tokenListReducer(state: TokenListState, action: TokenListAction): TokenListState {
  switch (action.type) {
    case 'loaded':
      return { ...state, items: action.items.map(withoutSecret) };
    case 'created':
      return {
        items: [withoutSecret(action.token), ...state.items.filter((t) => t.id !== action.token.id)],
        revealed: { tokenId: action.token.id, token: action.token.token },
      };
    case 'revoked':
      return {
        items: state.items.filter((t) => t.id !== action.id),
        revealed: state.revealed?.tokenId === action.id ? null : state.revealed,
      };
    case 'dismiss':
      return { ...state, revealed: null };
  }
}

export const initialTokenList: TokenListState = { items: [], revealed: null };
