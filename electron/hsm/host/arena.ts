// The host's half of the shared arena (protocol/arena.ts has the design): it creates the region,
// reads request columns from it and writes response columns into the slice the client reserved.
import type { Arena, P11Batch } from '../protocol/addon';
import { arenaAddon } from '../protocol/arena';
import type { ArenaReader, ArenaWriter } from '../protocol/packing';

/** The host's side: the region it created, read for requests and written for responses. */
export class HostArena {
  private constructor(
    private readonly a: P11Batch,
    private readonly arena: Arena,
    private fd: number | null,
    readonly size: number,
  ) {}

  static create(size: number): { arena: HostArena; fd: number } | null {
    const a = arenaAddon();
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
