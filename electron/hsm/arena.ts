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
import type { Arena, P11Batch } from 'custos-p11batch';
import { loadAddon } from './batch';
import type { ArenaReader, ArenaWriter } from './packing';

export const ARENA_SIZE = 32 * 1024 * 1024;

function addon(): P11Batch | null {
  if (process.env.CUSTOS_HSM_ARENA === 'off') return null;
  return loadAddon();
}

/** The host's side: the region it created, read for requests and written for responses. */
export class HostArena {
  private constructor(
    private readonly a: P11Batch,
    private readonly arena: Arena,
    private fd: number | null,
    readonly size: number,
  ) {}

  static create(size: number): { arena: HostArena; fd: number } | null {
    const a = addon();
    if (!a) return null;
    const { arena, fd } = a.arenaCreate(size);
    return { arena: new HostArena(a, arena, fd, size), fd };
  }

  /** The client has mapped the region: drop the descriptor, leaving only the two mappings. */
  markMapped(): void {
    if (this.fd !== null) this.a.closeFd(this.fd);
    this.fd = null;
  }

  /** Whether the client has mapped it (responses may then be written into it). */
  get mapped(): boolean {
    return this.fd === null;
  }

  /**
   * Request columns are read into a buffer kept between requests (a fresh one would take a page
   * fault per 4 KiB); it holds plaintext, so endRequest zeroes what the request used. The host
   * handles one request at a time and no handler keeps its input past the request.
   */
  private scratch = Buffer.alloc(0);
  private scratchTop = 0;
  /** Bytes of request columns read from the arena so far (reported by ping, for the tests). */
  bytesRead = 0;

  readonly read: ArenaReader = (offset, length) => {
    if (this.scratchTop + length > this.scratch.length) {
      if (this.scratchTop > 0) {
        this.bytesRead += length;
        return this.a.arenaRead(this.arena, offset, length); // earlier columns stay where they are
      }
      this.scratch = Buffer.alloc(Math.max(length, 1024 * 1024));
    }
    this.bytesRead += length;
    const view = this.scratch.subarray(this.scratchTop, this.scratchTop + length);
    this.a.arenaReadInto(this.arena, offset, view);
    this.scratchTop += length;
    return view;
  };

  /** The request is answered: zero what its columns occupied. */
  endRequest(): void {
    this.scratch.fill(0, 0, this.scratchTop);
    this.scratchTop = 0;
  }

  /** Writes response columns inside the slice the client reserved for this request. */
  writer([start, capacity]: [number, number]): ArenaWriter {
    let used = 0;
    return {
      place: (items, total) => {
        if (start < 0 || capacity < 0 || start + capacity > this.size || used + total > capacity) return null;
        const at = start + used;
        this.a.arenaWriteItems(this.arena, at, items);
        used += total;
        return at;
      },
    };
  }
}

/** One request's slice of the arena. */
export interface ArenaSlice {
  start: number;
  end: number;
  requestBytes: number;
  items: number;
}

/** The client's side: slices per request, a bump allocator reset whenever nothing is in flight. */
export class ClientArena {
  private top = 0;
  private inFlight = 0;

  private constructor(
    private readonly a: P11Batch,
    private readonly arena: Arena,
    readonly size: number,
  ) {}

  /** Maps the host's region, or null (then messages carry the bytes). */
  static open(hostPid: number, fd: number, size: number): ClientArena | null {
    const a = addon();
    if (!a) return null;
    try {
      return new ClientArena(a, a.arenaOpen(`/proc/${hostPid}/fd/${fd}`, size), size);
    } catch {
      return null;
    }
  }

  begin(): ArenaSlice {
    this.inFlight++;
    return { start: this.top, end: this.top, requestBytes: 0, items: 0 };
  }

  /** Places request columns in the slice. */
  writer(slice: ArenaSlice): ArenaWriter {
    return {
      place: (items, total) => {
        if (slice.end !== this.top || this.top + total > this.size) return null;
        const at = this.top;
        this.a.arenaWriteItems(this.arena, at, items);
        this.top += total;
        slice.end = this.top;
        slice.requestBytes += total;
        slice.items += items.length;
        return at;
      },
    };
  }

  /** Room for the response after the request's bytes (a hint: a larger response travels in the message). */
  responseRoom(slice: ArenaSlice): [number, number] | undefined {
    if (slice.requestBytes === 0 || slice.end !== this.top) return undefined;
    const capacity = Math.min(this.size - this.top, slice.requestBytes + 64 * slice.items + 4096);
    if (capacity <= 0) return undefined;
    const at = this.top;
    this.top += capacity;
    slice.end = this.top;
    return [at, capacity];
  }

  readonly read: ArenaReader = (offset, length) => this.a.arenaRead(this.arena, offset, length);

  /** The request settled (answered, failed or timed out): zero its slice. */
  release(slice: ArenaSlice): void {
    if (slice.end > slice.start) this.a.arenaZero(this.arena, slice.start, slice.end - slice.start);
    slice.end = slice.start;
    this.inFlight--;
    if (this.inFlight === 0) this.top = 0;
  }
}
