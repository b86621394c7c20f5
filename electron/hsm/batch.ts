// Whole batches in one native call (native/p11batch), over the library instance and session that
// pkcs11js opened. Used for batches of at least NATIVE_MIN_ITEMS whose mechanism takes no
// parameters (or only GCM's); everything else, and every token when the addon was not built or
// CUSTOS_P11_BATCH=off, goes through pkcs11js one item at a time with the same results.
import type { FunctionList, P11Batch } from 'custos-p11batch';
import type { LoadedModule } from './session';

export const NATIVE_MIN_ITEMS = 8;

let addon: P11Batch | null | undefined;

/** The addon (native/p11batch), or null when it was not built or CUSTOS_P11_BATCH=off. */
export function loadAddon(): P11Batch | null {
  return load();
}

function load(): P11Batch | null {
  if (addon !== undefined) return addon;
  if (process.env.CUSTOS_P11_BATCH === 'off') return (addon = null);
  try {
    addon = require('custos-p11batch') as P11Batch | null;
  } catch {
    addon = null;
  }
  return addon;
}

const lists = new WeakMap<LoadedModule, FunctionList | null>();

/** The addon and the module's function list, or null where batches run through pkcs11js. */
export function nativeBatch(m: LoadedModule, items: number): { addon: P11Batch; list: FunctionList } | null {
  if (items < NATIVE_MIN_ITEMS) return null;
  const a = load();
  if (!a) return null;
  let list = lists.get(m);
  if (list === undefined) {
    try {
      list = a.open(m.path);
    } catch {
      list = null;
    }
    lists.set(m, list);
  }
  return list ? { addon: a, list } : null;
}

/** Whether batches run natively in this host (for the benchmark and `custos token caps`). */
export function nativeBatchAvailable(): boolean {
  return load() !== null;
}

/**
 * Items as one buffer with end offsets, as the addon takes them. Items that already lie back to
 * back in one buffer (as a packed batch arrives from the client) are passed as they are.
 */
export function packItems(items: Uint8Array[]): { bytes: Buffer; ends: Uint32Array } {
  let total = 0;
  let contiguous = items.length > 0;
  for (let i = 0; i < items.length; i++) {
    const d = items[i]!;
    total += d.byteLength;
    if (i > 0 && (d.buffer !== items[0]!.buffer || d.byteOffset !== items[i - 1]!.byteOffset + items[i - 1]!.byteLength)) contiguous = false;
  }
  if (contiguous) {
    const ends = new Uint32Array(items.length);
    let off = 0;
    items.forEach((d, i) => (ends[i] = off += d.byteLength));
    return { bytes: Buffer.from(items[0]!.buffer, items[0]!.byteOffset, total), ends };
  }
  const bytes = Buffer.allocUnsafe(total);
  const ends = new Uint32Array(items.length);
  let off = 0;
  items.forEach((d, i) => {
    bytes.set(d, off);
    off += d.byteLength;
    ends[i] = off;
  });
  return { bytes, ends };
}

/** The addon's output as one view per item. */
export function splitOutput(output: Buffer, ends: Uint32Array): Buffer[] {
  const out: Buffer[] = new Array(ends.length);
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    out[i] = output.subarray(start, ends[i]);
    start = ends[i]!;
  }
  return out;
}
