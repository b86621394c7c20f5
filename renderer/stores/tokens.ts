import { create } from 'zustand';
import type { SlotEntry, TokenListing } from '../../shared/contract';
import type { AppError } from '../../shared/result';
import { api } from '../api';

// Token state only; PINs never enter a store (they live in the form that collects them and are
// cleared as soon as the request is sent).

interface TokensState {
  listing: TokenListing | null;
  error: AppError | null;
  loading: boolean;
  selected: string | null; // token URI + module
  refresh(): Promise<void>;
  select(key: string | null): void;
  apply(slot: SlotEntry): void;
}

export const slotKey = (s: Pick<SlotEntry, 'module' | 'slotId'> & { token: { uri: string } | null }) =>
  `${s.module}|${s.token?.uri ?? s.slotId}`;

/** Slots that hold a token. */
export const presentSlots = (listing: TokenListing | null): SlotEntry[] => listing?.slots.filter((s) => s.token) ?? [];

/** The token the user is working with: the one chosen, else the first present. */
export function currentSlot(listing: TokenListing | null, selected: string | null): (SlotEntry & { token: NonNullable<SlotEntry['token']> }) | null {
  const slots = presentSlots(listing);
  const s = slots.find((x) => slotKey(x) === selected) ?? slots[0] ?? null;
  return s?.token ? { ...s, token: s.token } : null;
}

export const useTokens = create<TokensState>((set, get) => ({
  listing: null,
  error: null,
  loading: false,
  selected: null,
  async refresh() {
    if (get().loading) return;
    set({ loading: true });
    const r = await api['tokens.list']({});
    set(r.ok ? { listing: r.value, error: null, loading: false } : { error: r.error, loading: false });
  },
  select(key) {
    set({ selected: key });
  },
  apply(slot) {
    const listing = get().listing;
    if (!listing) return;
    const key = slotKey(slot);
    set({ listing: { ...listing, slots: listing.slots.map((s) => (slotKey(s) === key ? slot : s)) } });
  },
}));
