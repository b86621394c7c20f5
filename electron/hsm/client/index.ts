// The main side of the HSM boundary: the client the main process, the preview shell, the CLI and
// the tests use to talk to the host process (host/). It never loads pkcs11js or a PKCS#11 library.
// The file is the folder's index so that `hsm/client` names HsmClient for every importer; the
// spawners (spawn-node.ts, spawn-utility.ts) are imported by path, because the utility spawner
// needs Electron and the CLI must not load it.
import { CustosError } from '../../../shared/result';
import { ARENA_SIZE } from '../protocol/arena';
import type { HostMethod, HostMethods, HostRequest, HostResponse } from '../protocol';
import { sendPacked, unpackMessage } from '../protocol/packing';
import { ClientArena, type ArenaSlice } from './arena';

/** The thin seam between the client and whichever process API runs the host. */
export interface HostPort {
  send(message: HostRequest): void;
  onMessage(cb: (message: HostResponse) => void): void;
  onExit(cb: (code: number | null, signal: string | null) => void): void;
  kill(): void;
}

export type SpawnHost = () => HostPort;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  method: HostMethod;
  /** This request's slice of the shared arena, and the arena (of the host it was sent to). */
  slice?: { arena: ClientArena; slice: ArenaSlice };
}

export interface HsmClientOptions {
  /** Default per-call timeout. Login may wait on a PIN pad, so it gets its own. */
  timeoutMs?: number;
  /** Large batches through a shared-memory arena when the addon allows (default true; CUSTOS_HSM_ARENA=off also disables it). */
  sharedArena?: boolean;
  onRestart?: (reason: string) => void;
}

const DEFAULT_TIMEOUTS: Partial<Record<HostMethod, number>> = {
  login: 120_000,
  // The arena set-up may wait behind any request (a login at a PIN pad included): it must never be
  // the call that times out and restarts the host.
  arenaCreate: 180_000,
  arenaMapped: 180_000,
  initToken: 60_000,
  initUserPin: 60_000,
};

/**
 * Request/response client for the HSM host. Each request carries an id and a timeout. If the host
 * dies, every pending request fails with HSM_HOST_CRASHED; if a request times out, the host is
 * presumed hung inside a vendor library and is killed. The next call starts a fresh host.
 */
export class HsmClient {
  private port: HostPort | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly timeoutMs: number;
  private generation = 0;
  private closing = false;
  /** The shared arena with the current host, once it is mapped (protocol/arena.ts). */
  private arena: ClientArena | null = null;

  constructor(
    private readonly spawn: SpawnHost,
    private readonly options: HsmClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Increases each time a new host process is started; sessions and logins do not survive it. */
  get hostGeneration(): number {
    return this.generation;
  }

  private ensurePort(): HostPort {
    if (this.port) return this.port;
    const port = this.spawn();
    this.generation++;
    this.arena = null;
    port.onMessage((msg) => this.settle(msg));
    port.onExit((code, signal) => {
      if (this.port !== port) return;
      this.port = null;
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      this.failAll(
        new CustosError({
          code: 'HSM_HOST_CRASHED',
          message: 'The process that talks to the HSM stopped unexpectedly (the PKCS#11 module may have crashed).',
          action:
            'Nothing was saved half-way. Check the device, log in again and repeat the step; it is restarted automatically.',
          details: { exit: how },
        }),
      );
      if (!this.closing) this.options.onRestart?.(how);
    });
    this.port = port;
    void this.setUpArena(port);
    return port;
  }

  /** Asks the new host for the shared arena and maps it; any failure leaves messages carrying the bytes. */
  private async setUpArena(port: HostPort): Promise<void> {
    if (this.options.sharedArena === false) return;
    try {
      // The first request to a new host, so nothing the user asked for is queued before it.
      const made = await this.call('arenaCreate', { size: ARENA_SIZE });
      if (!made || this.port !== port) return;
      const arena = ClientArena.open(made.pid, made.fd, ARENA_SIZE);
      // Sent either way (the host then closes its descriptor, so only the mappings reach the region)
      // and not awaited: it may queue behind a login waiting for a PIN pad. The host handles
      // messages in order, so every request sent after it finds the arena ready.
      this.call('arenaMapped', {}).catch(() => undefined);
      if (arena && this.port === port) this.arena = arena;
    } catch {
      /* the host went away or has no arena: messages carry the bytes */
    }
  }

  private releaseSlice(p: Pending): void {
    if (p.slice) p.slice.arena.release(p.slice.slice);
    p.slice = undefined;
  }

  private settle(msg: HostResponse): void {
    const p = this.pending.get(msg.id);
    if (!p) return; // answer to a request that already timed out
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    try {
      if (!msg.ok) p.reject(new CustosError(msg.error));
      else p.resolve(unpackMessage(msg.value, p.slice?.arena.read));
    } catch (e) {
      p.reject(
        new CustosError({
          code: 'INTERNAL',
          message: 'The answer from the HSM process could not be read.',
          action: 'This is a bug in Custos; report it. Repeat the step.',
          details: { operation: p.method, error: String((e as Error)?.message ?? e).slice(0, 200) },
        }),
      );
    } finally {
      this.releaseSlice(p);
    }
  }

  private failAll(error: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      this.releaseSlice(p);
      p.reject(error);
    }
  }

  call<M extends HostMethod>(
    method: M,
    params: HostMethods[M]['params'],
    opts: { timeoutMs?: number } = {},
  ): Promise<HostMethods[M]['result']> {
    if (this.closing) {
      return Promise.reject(
        new CustosError({
          code: 'HSM_HOST_CRASHED',
          message: 'The app is shutting down; the HSM connection is closed.',
          action: 'Start the app again.',
        }),
      );
    }
    const port = this.ensurePort();
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUTS[method] ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const timedOut = this.pending.get(id);
        this.pending.delete(id);
        if (timedOut) this.releaseSlice(timedOut);
        reject(
          new CustosError({
            code: 'HSM_TIMEOUT',
            message: `The HSM did not answer within ${Math.round(timeoutMs / 1000)} seconds.`,
            action:
              'The connection to the device was restarted. Check that the device is attached and responsive, log in again and repeat the step.',
            details: { operation: method, timeoutMs },
          }),
        );
        // A host blocked inside a vendor library will never answer: replace it.
        if (this.port === port) {
          this.port = null;
          port.kill();
          this.failAll(
            new CustosError({
              code: 'HSM_TIMEOUT',
              message: 'An earlier HSM operation hung, so the connection to the HSM was restarted.',
              action: 'Log in again and repeat the step.',
            }),
          );
          this.options.onRestart?.('timeout');
        }
      }, timeoutMs);
      const pending: Pending = { resolve: resolve as (v: unknown) => void, reject, timer, method };
      this.pending.set(id, pending);
      const arena = this.arena;
      const slice = arena ? arena.begin() : undefined;
      if (arena && slice) pending.slice = { arena, slice };
      try {
        sendPacked(
          (m) => port.send(m as HostRequest),
          (packed) => {
            const arenaOut = arena && slice ? arena.responseRoom(slice) : undefined;
            return arenaOut ? { id, method, params: packed, arenaOut } : { id, method, params: packed };
          },
          params,
          arena && slice ? arena.writer(slice) : undefined,
        );
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(id);
        this.releaseSlice(pending);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** Logs out and finalizes every module, then stops the host. */
  async close(): Promise<void> {
    if (this.port) {
      try {
        await this.call('finalizeAll', {}, { timeoutMs: 5_000 });
      } catch {
        /* a hung or dead host is killed below either way */
      }
    }
    this.closing = true;
    const port = this.port;
    this.port = null;
    port?.kill();
    this.failAll(
      new CustosError({ code: 'HSM_HOST_CRASHED', message: 'The HSM connection was closed.', action: 'Start the app again.' }),
    );
  }
}
