import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { refreshSession, setUnauthorizedHandler } from '../api/client';
import { api } from '../api/endpoints';
import type { AuthResponse, User } from '../api/types';
import { clearToken, getToken, onTokenChange, setToken } from './token';
import { AuthContext, SESSION_EXPIRED_MESSAGE, type AuthContextValue } from './authContext';

export function AuthProvider({ children }: { children: ReactNode }) {
  const [token, setTokenState] = useState<string | null>(() => getToken());
  const [user, setUser] = useState<User | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // At start the token is not known yet: the refresh cookie may restore the session.
  const [restoring, setRestoring] = useState(() => getToken() === null);

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

  // A refresh anywhere (the API client renews expired tokens) updates the state.
  useEffect(() => onTokenChange(setTokenState), []);

  useEffect(() => {
    if (!restoring) return;
    let live = true;
    void refreshSession().then((r) => {
      if (!live) return;
      if (r) {
        setTokenState(r.access_token);
        setUser(r.user);
      }
      setRestoring(false);
    });
    return () => {
      live = false;
    };
  }, [restoring]);

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
    setRestoring(false);
  }, []);

  const logout = useCallback(() => {
    // The server ends the session (and clears the cookie); the UI signs out either way.
    void api.logout().then(
      () => endSession('You are logged out.'),
      () => endSession('You are logged out.'),
    );
  }, [endSession]);

  const value = useMemo<AuthContextValue>(
    () => ({
      user,
      checking: restoring || (Boolean(token) && !user),
      restoring,
      signedIn: Boolean(token),
      notice,
      acceptSession,
      logout,
    }),
    [user, token, notice, restoring, acceptSession, logout],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
