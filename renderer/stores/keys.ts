import { create } from 'zustand';
import type { MethodInput } from '../../shared/contract';
import type { GeneratedKey, KeyDetail, KeyEntry, TokenCapabilities, TokenRef } from '../../shared/keys';
import type { AppError, Result } from '../../shared/result';
import { api, call } from '../api';

// Keys on one token: the list, the key being inspected and what the token can do. Nothing secret
// is held here (no PINs, no key material: public keys, CSRs, check values and fingerprints are
// public by design).

export type GenerateSpec = Omit<MethodInput<'keys.generate'>, 'module' | 'token'>;

/**
 * How the renderer names a key to main: its URI without `type=`, so that both halves of a pair
 * match (with `type=private` main would see only the private half). The URI keeps `id=`, which
 * tells apart keys that share a label.
 */
export const keySelector = (k: Pick<KeyEntry, 'uri'>): string => k.uri.replace(/;type=[^;]*/, '');

const sameRef = (a: TokenRef | null, b: TokenRef | null) => a?.module === b?.module && a?.token === b?.token;

interface KeysState {
  ref: TokenRef | null;
  keys: KeyEntry[] | null;
  listError: AppError | null;
  listing: boolean;
  caps: TokenCapabilities | null;
  capsError: AppError | null;
  capsLoading: boolean;
  /** URI of the key being inspected. */
  selected: string | null;
  detail: KeyDetail | null;
  detailError: AppError | null;
  detailLoading: boolean;
  /** Shown once after a key was destroyed, until another key is chosen. */
  lastDestroyed: { label: string; objects: number } | null;

  /** Work with this token; everything about the previous one is dropped. */
  open(ref: TokenRef): void;
  reload(): Promise<void>;
  loadCaps(): Promise<void>;
  select(uri: string | null): Promise<void>;
  generate(spec: GenerateSpec): Promise<Result<GeneratedKey>>;
  exportPublic(format: 'pem' | 'jwk'): Promise<Result<{ text: string }>>;
  csr(subject: string): Promise<Result<{ pem: string }>>;
  destroy(confirmLabel: string): Promise<Result<{ destroyed: number }>>;
}

const empty = {
  keys: null,
  listError: null,
  listing: false,
  caps: null,
  capsError: null,
  capsLoading: false,
  selected: null,
  detail: null,
  detailError: null,
  detailLoading: false,
  lastDestroyed: null,
};

const noKey: AppError = { code: 'OBJECT_NOT_FOUND', message: 'No key is chosen.', action: 'Choose a key in the list first.' };

export const useKeys = create<KeysState>((set, get) => {
  /** Runs `f` for the current token; its answer is dropped if the user moved to another token meanwhile. */
  const forToken = async <T>(f: (ref: TokenRef) => Promise<Result<T>>): Promise<Result<T> | null> => {
    const ref = get().ref;
    if (!ref) return null;
    const r = await call(f(ref));
    return sameRef(ref, get().ref) ? r : null;
  };
  const current = () => {
    const { keys, selected } = get();
    return keys?.find((k) => k.uri === selected) ?? null;
  };

  return {
    ref: null,
    ...empty,

    open(ref) {
      if (sameRef(ref, get().ref)) return;
      set({ ref, ...empty });
    },

    async reload() {
      set({ listing: true });
      const r = await forToken((ref) => api['keys.list'](ref));
      if (!r) return;
      if (!r.ok) return set({ listError: r.error, listing: false });
      const { selected } = get();
      const still = selected !== null && r.value.some((k) => k.uri === selected);
      set({ keys: r.value, listError: null, listing: false, ...(still ? {} : { selected: null, detail: null, detailError: null }) });
    },

    async loadCaps() {
      if (get().capsLoading) return;
      set({ capsLoading: true });
      const r = await forToken((ref) => api['keys.capabilities'](ref));
      if (!r) return;
      set(r.ok ? { caps: r.value, capsError: null, capsLoading: false } : { capsError: r.error, capsLoading: false });
    },

    async select(uri) {
      set({ selected: uri, detail: null, detailError: null, detailLoading: uri !== null, lastDestroyed: null });
      const k = current();
      if (!k) return set({ detailLoading: false });
      const r = await forToken((ref) => api['keys.show']({ ...ref, key: keySelector(k) }));
      if (!r || get().selected !== uri) return;
      set(r.ok ? { detail: r.value, detailLoading: false } : { detailError: r.error, detailLoading: false });
    },

    async generate(spec) {
      const r = await forToken((ref) => api['keys.generate']({ ...ref, ...spec }));
      if (!r) return { ok: false, error: { code: 'TOKEN_ABSENT', message: 'You moved to another token before the key was made.', action: 'Go back to that token and look for the key in its list.' } };
      if (r.ok) {
        await get().reload();
        set({ selected: r.value.uri, detail: r.value, detailError: null, detailLoading: false, lastDestroyed: null });
      }
      return r;
    },

    async exportPublic(format) {
      const k = current();
      if (!k) return { ok: false, error: noKey };
      return (await forToken((ref) => api['keys.exportPublic']({ ...ref, key: keySelector(k), format }))) ?? { ok: false, error: noKey };
    },

    async csr(subject) {
      const k = current();
      if (!k) return { ok: false, error: noKey };
      return (await forToken((ref) => api['keys.csr']({ ...ref, key: keySelector(k), subject }))) ?? { ok: false, error: noKey };
    },

    async destroy(confirmLabel) {
      const k = current();
      if (!k) return { ok: false, error: noKey };
      const r = await forToken((ref) => api['keys.destroy']({ ...ref, key: keySelector(k), confirmLabel }));
      if (!r) return { ok: false, error: noKey };
      if (r.ok) {
        const keys = get().keys?.filter((x) => x.uri !== k.uri) ?? null;
        set({ keys, selected: null, detail: null, detailError: null, lastDestroyed: { label: k.label, objects: r.value.destroyed } });
        await get().reload();
      }
      return r;
    },
  };
});
