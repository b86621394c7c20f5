// Shared plumbing for the key-operation suites (test/integration/hsm-ops*.test.ts, hsm-interop):
// a token-bound call helper, typed failures and the public-key export into node:crypto.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { expect } from 'vitest';
import type { HsmClient } from '../../electron/hsm/client';
import type { HostMethod, HostMethods } from '../../electron/hsm/protocol';
import { ecSpkiFromPkcs11, rsaSpkiFromPkcs11 } from '../../electron/services/formats/publicKey';
import { CustosError, type AppError } from '../../shared/result';

/** Host methods that act on one token (their parameters carry path and token). */
export type TokenMethod = {
  [M in HostMethod]: HostMethods[M]['params'] extends { path: string; token: string } ? M : never;
}[HostMethod];

export type TokenOp = <M extends TokenMethod>(
  method: M,
  params: Omit<HostMethods[M]['params'], 'path' | 'token'>,
  opts?: { timeoutMs?: number },
) => Promise<HostMethods[M]['result']>;

/** Binds a client to one module and token. */
export function tokenOp(client: HsmClient, path: string, token: string): TokenOp {
  return (method, params, opts) => client.call(method, { ...params, path, token } as HostMethods[typeof method]['params'], opts);
}

/** Resolves to the AppError a call rejected with; fails the test if it resolved or threw something else. */
export async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CustosError);
    return (e as CustosError).appError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** The public half of a token key as SPKI DER and a node:crypto KeyObject (an independent verifier). */
export async function exportPublic(op: TokenOp, idHex: string): Promise<{ spki: Buffer; key: KeyObject }> {
  const a = await op('publicKey', { ref: { idHex } });
  const spki = a.keyType === 'rsa' ? rsaSpkiFromPkcs11(a.modulus!, a.publicExponent!) : ecSpkiFromPkcs11(a.ecParams!, a.ecPoint!);
  return { spki, key: createPublicKey({ key: spki, format: 'der', type: 'spki' }) };
}
