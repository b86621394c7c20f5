import { create } from 'zustand';
import type { AppInfo } from '../../shared/contract';
import type { AppError } from '../../shared/result';
import { api } from '../api';

interface AppState {
  info: AppInfo | null;
  error: AppError | null;
  load(): Promise<void>;
}

export const useApp = create<AppState>((set) => ({
  info: null,
  error: null,
  async load() {
    const r = await api['app.info']({});
    set(r.ok ? { info: r.value, error: null } : { error: r.error });
  },
}));
