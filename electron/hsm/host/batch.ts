// Whole batches in one native call (native/p11batch), over the library instance and session that
// pkcs11js opened. Used for batches of at least NATIVE_MIN_ITEMS whose mechanism takes no
// parameters (or only GCM's); everything else, and every token when the addon was not built or
// CUSTOS_P11_BATCH=off, goes through pkcs11js one item at a time with the same results.
import { loadAddon, type FunctionList, type P11Batch } from '../protocol/addon';
import { joinItems } from '../protocol/packing';
import type { LoadedModule } from './library';

export const NATIVE_MIN_ITEMS = 8;

const lists = new WeakMap<LoadedModule, FunctionList | null>();

/** The addon and the module's function list, or null where batches run through pkcs11js. */
export function nativeBatch(m: LoadedModule, items: number): { addon: P11Batch; list: FunctionList } | null {
  if (items < NATIVE_MIN_ITEMS) return null;
  const a = loadAddon();
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
  return loadAddon() !== null;
}

/** Items as one buffer with end offsets, as the addon takes them (protocol/packing.ts joinItems). */
export function packItems(items: Uint8Array[]): { bytes: Buffer; ends: Uint32Array } {
  const { bytes, ends } = joinItems(items);
  return { bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), ends };
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
