import type { AppError } from '../../shared/result';

// Messages between the HSM client (main process) and the HSM host process, which is the only
// place pkcs11js is loaded. A vendor library that crashes or hangs takes down only the host.

export interface RawLibraryInfo {
  manufacturer: string;
  description: string;
  version: string;
  cryptokiVersion: string;
}

export interface RawTokenInfo {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  flags: number;
  minPinLength: number;
  maxPinLength: number;
  loggedIn: 'user' | 'so' | null;
}

export interface RawSlot {
  slotId: string;
  description: string;
  manufacturer: string;
  flags: number;
  token: RawTokenInfo | null;
}

export interface HostMethods {
  ping: { params: Record<string, never>; result: { pid: number } };
  load: { params: { path: string }; result: RawLibraryInfo };
  unload: { params: { path: string }; result: { unloaded: boolean } };
  slots: { params: { path: string }; result: RawSlot[] };
  initToken: { params: { path: string; slotId: string; soPin: string; label: string }; result: RawSlot };
  initUserPin: { params: { path: string; token: string; soPin: string; userPin: string }; result: RawSlot };
  login: { params: { path: string; token: string; role: 'user' | 'so'; pin: string }; result: RawSlot };
  logout: { params: { path: string; token: string }; result: RawSlot };
  finalizeAll: { params: Record<string, never>; result: { finalized: number } };
  /** Test hooks, only answered when CUSTOS_HSM_TEST_HOOKS=1 is in the host's environment. */
  'test.hang': { params: { ms: number }; result: { done: boolean } };
  'test.crash': { params: Record<string, never>; result: never };
}

export type HostMethod = keyof HostMethods;

export interface HostRequest<M extends HostMethod = HostMethod> {
  id: number;
  method: M;
  params: HostMethods[M]['params'];
}

export type HostResponse =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: AppError };

/** Methods whose parameters carry a PIN: never logged, never echoed. */
export const SECRET_BEARING: ReadonlySet<HostMethod> = new Set(['initToken', 'initUserPin', 'login']);
