/** The function list of a PKCS#11 library already loaded in this process (an opaque external). */
export type FunctionList = { readonly __p11batchFunctionList: unique symbol };

export interface P11Batch {
  open(path: string): FunctionList;
  gcmEncrypt(list: FunctionList, session: Buffer, key: Buffer, ivs: Uint8Array, aad: Uint8Array, tagBits: number, input: Uint8Array, inEnds: Uint32Array, output: Uint8Array): Uint32Array;
  sign(list: FunctionList, session: Buffer, key: Buffer, mechanism: number, input: Uint8Array, inEnds: Uint32Array, output: Uint8Array): Uint32Array;
  wrap(list: FunctionList, session: Buffer, mechanism: number, wrappingKey: Buffer, targets: Uint8Array, output: Uint8Array): Uint32Array;
}
