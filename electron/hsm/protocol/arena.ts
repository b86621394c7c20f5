// The shared-memory arena between the HSM client (main process) and the HSM host. Large batch
// columns (≥ ARENA_MIN_BYTES, e.g. 256 × 4 KiB for AES-GCM) are copied into it by the sender and
// out of it by the receiver; the message itself carries only offsets. Through the IPC pipe the
// same bytes are copied by the serializer, the kernel and the reassembly on each side: measured
// here, that cost the host more CPU per 4 KiB item than the token's own AES-GCM did.
//
// The host creates the region (memfd, native/p11batch) and tells the client its fd; the client
// maps /proc/<host pid>/fd/<fd> and confirms, and the host closes its descriptor, so the region is
// then reachable only through the two mappings. Where any step fails (no addon, a /proc the client
// may not open, CUSTOS_HSM_ARENA=off) messages carry the bytes as before. Each request gets its
// own slice (request bytes, then room for the response); the client zeroes the slice when the
// request settles, and slices are reused only when no request is in flight.
//
// This file holds what both sides agree on; each side's half is in its own folder
// (client/arena.ts: ClientArena, host/arena.ts: HostArena).
import { loadAddon, type P11Batch } from './addon';

export const ARENA_SIZE = 32 * 1024 * 1024;

/** The addon's arena functions, or null: no addon, or CUSTOS_HSM_ARENA=off (messages then carry the bytes). */
export function arenaAddon(): P11Batch | null {
  if (process.env.CUSTOS_HSM_ARENA === 'off') return null;
  return loadAddon();
}
