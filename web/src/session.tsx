/**
 * The signed-in caller (`GET /api/auth/me`) shared by every page, and the permission checks that
 * decide which actions are shown. Any 401 from the API drops the session and the guard sends the
 * user to the login page.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError, setUnauthenticatedHandler, type Me } from './api';

type SessionState = { status: 'loading' } | { status: 'anonymous' } | { status: 'error'; message: string } | { status: 'signed-in'; me: Me };

interface SessionValue {
  state: SessionState;
  /** Reloads the caller after sign-up, log-in or a role change. */
  refresh: () => Promise<void>;
  logOut: () => Promise<void>;
}

const SessionContext = createContext<SessionValue | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });

  const refresh = useCallback(async () => {
    try {
      const me = await api.auth.me();
      setState({ status: 'signed-in', me });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) setState({ status: 'anonymous' });
      else setState({ status: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  }, []);

  const logOut = useCallback(async () => {
    try {
      await api.auth.logOut();
    } finally {
      setState({ status: 'anonymous' });
    }
  }, []);

  useEffect(() => {
    setUnauthenticatedHandler(() => setState({ status: 'anonymous' }));
    void refresh();
    return () => setUnauthenticatedHandler(undefined);
  }, [refresh]);

  const value = useMemo(() => ({ state, refresh, logOut }), [state, refresh, logOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession must be used inside SessionProvider');
  return value;
}

/** The signed-in caller; only pages rendered behind the guard call it. */
export function useMe(): Me {
  const { state } = useSession();
  if (state.status !== 'signed-in') throw new Error('useMe requires a signed-in session');
  return state.me;
}

export function useCan(): (permission: string) => boolean {
  const me = useMe();
  return useCallback((permission: string) => me.permissions.includes(permission), [me]);
}
