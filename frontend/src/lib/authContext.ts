import { createContext, useContext } from 'react';
import type { AuthResponse, User } from '../api/types';

export const SESSION_EXPIRED_MESSAGE = 'Your session expired. Please log in again.';

export interface AuthContextValue {
  user: User | null;
  /** True while the session is being restored or checked at start-up. */
  checking: boolean;
  /** True until the refresh cookie has been tried at start-up. */
  restoring: boolean;
  signedIn: boolean;
  /** Why the user is on the login page, e.g. the session expired. */
  notice: string | null;
  acceptSession: (r: AuthResponse) => void;
  logout: () => void;
}

export const AuthContext = createContext<AuthContextValue | null>(null);

export function useAuth(): AuthContextValue {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}
