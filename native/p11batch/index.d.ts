/** The function list of a PKCS#11 library already loaded in this process (an opaque external). */
export type FunctionList = { readonly __p11batchFunctionList: unique symbol };

export interface P11Batch extends P11BatchArena {
  open(path: string): FunctionList;
  gcmEncrypt(list: FunctionList, session: Buffer, key: Buffer, ivs: Uint8Array, aad: Uint8Array, tagBits: number, input: Uint8Array, inEnds: Uint32Array, output: Uint8Array): Uint32Array;
  sign(list: FunctionList, session: Buffer, key: Buffer, mechanism: number, input: Uint8Array, inEnds: Uint32Array, output: Uint8Array): Uint32Array;
  wrap(list: FunctionList, session: Buffer, mechanism: number, wrappingKey: Buffer, targets: Uint8Array, output: Uint8Array): Uint32Array;
  /** Unwrap under oldKek, wrap under newKek, verify by unwrap + wrap back + compare; session objects from the template. */
  rewrap(list: FunctionList, session: Buffer, unwrapMechanism: number, wrapMechanism: number, oldKek: Buffer, newKek: Buffer, attrTypes: Uint8Array, attrValues: Uint8Array, attrEnds: Uint32Array, input: Uint8Array, inEnds: Uint32Array, output: Uint8Array): Uint32Array;
}

/** A shared-memory region mapped in this process (an opaque external; unmapped when collected). */
export type Arena = { readonly __p11batchArena: unique symbol };

export interface P11BatchArena {
  arenaCreate(size: number): { arena: Arena; fd: number };
  arenaOpen(path: string, size: number): Arena;
  closeFd(fd: number): void;
  /** Copies the items back to back from `offset`; returns the bytes written. */
  arenaWriteItems(arena: Arena, offset: number, items: Uint8Array[]): number;
  arenaRead(arena: Arena, offset: number, length: number): Buffer;
  arenaReadInto(arena: Arena, offset: number, dst: Uint8Array): void;
  arenaZero(arena: Arena, offset: number, length: number): void;
  /**
   * Ties this process's life to its parent's: PR_SET_PDEATHSIG `signal` (Linux) and a watchdog
   * thread that sends SIGKILL `graceMs` after the parent is gone. False if the parent already died.
   */
  lifeline(parentPid: number, signal: number, graceMs: number): boolean;
}
