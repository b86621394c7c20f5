import { create } from 'zustand';
import type { AppInfo } from '../../shared/contract';
import type { AppError } from '../../shared/result';
import { api } from '../api';

export type Screen = 'tokens' | 'ceremonies' | 'keys' | 'shares' | 'archive' | 'audit';

interface AppState {
  info: AppInfo | null;
  error: AppError | null;
  /** The section shown in the main area. */
  screen: Screen;
  /** Set by "Go to log in" on another screen; the login form takes focus once and clears it. */
  loginRequested: boolean;
  load(): Promise<void>;
  go(screen: Screen, opts?: { login?: boolean }): void;
  loginHandled(): void;
}

export const useApp = create<AppState>((set) => ({
  info: null,
  error: null,
  screen: 'tokens',
  loginRequested: false,
  async load() {
    const r = await api['app.info']({});
    set(r.ok ? { info: r.value, error: null } : { error: r.error });
  },
  go(screen, opts) {
    set({ screen, loginRequested: opts?.login ?? false });
  },
  loginHandled() {
    set({ loginRequested: false });
  },
}));
