import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { setUnauthorizedHandler } from '../api/client';
import { api } from '../api/endpoints';
import type { AuthResponse, User } from '../api/types';
import { clearToken, getToken, setToken } from './token';
import { AuthContext, SESSION_EXPIRED_MESSAGE, type AuthContextValue } from './authContext';

export function AuthProvider({ children }: { children: ReactNode }) {
  const [token, setTokenState] = useState<string | null>(() => getToken());
  const [user, setUser] = useState<User | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  // Signing out only changes state: the protected routes then redirect to the
  // login page, which shows the notice.
  const endSession = useCallback((message: string) => {
    clearToken();
    setTokenState(null);
    setUser(null);
    setNotice(message);
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => endSession(SESSION_EXPIRED_MESSAGE));
    return () => setUnauthorizedHandler(null);
  }, [endSession]);

  useEffect(() => {
    if (!token || user) return;
    let live = true;
    api.me().then(
      (u) => {
        if (live) setUser(u);
      },
      () => {
        // a 401 is handled by the interceptor; other errors keep the session
      },
    );
    return () => {
      live = false;
    };
  }, [token, user]);

  const acceptSession = useCallback((r: AuthResponse) => {
    setToken(r.access_token);
    setTokenState(r.access_token);
    setUser(r.user);
    setNotice(null);
  }, []);

  const logout = useCallback(() => endSession('You are logged out.'), [endSession]);

  const value = useMemo<AuthContextValue>(
    () => ({ user, checking: Boolean(token) && !user, signedIn: Boolean(token), notice, acceptSession, logout }),
    [user, token, notice, acceptSession, logout],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
