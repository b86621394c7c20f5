// The main process's half of the shared arena (protocol/arena.ts has the design): it maps the
// region the host created and hands out one slice per request.
import type { Arena, P11BatchArena } from '../protocol/addon';
import { arenaAddon } from '../protocol/arena';
import type { ArenaReader, ArenaWriter } from '../protocol/packing';

/** The only addon functions the main process calls: mapping and copying, never a PKCS#11 call. */
type ArenaFunctions = Pick<P11BatchArena, 'arenaOpen' | 'arenaWriteItems' | 'arenaRead' | 'arenaZero'>;

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
    private readonly a: ArenaFunctions,
    private readonly arena: Arena,
    readonly size: number,
  ) {}

  /** Maps the host's region, or null (then messages carry the bytes). */
  static open(hostPid: number, fd: number, size: number): ClientArena | null {
    const a: ArenaFunctions | null = arenaAddon();
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
