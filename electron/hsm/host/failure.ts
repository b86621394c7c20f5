// Failures inside the HSM host: every PKCS#11 error becomes a typed AppError (shared/result.ts)
// naming the function that failed, so that it crosses to the main process with its code and words.
import { pkcs11Error } from '../../../shared/pkcs11-errors';
import type { AppError } from '../../../shared/result';

export class HostFailure extends Error {
  constructor(readonly appError: AppError) {
    super(appError.message);
  }
}

export const fail = (e: AppError): never => {
  throw new HostFailure(e);
};

export function p11Failure(e: unknown, fn: string): AppError {
  if (e instanceof HostFailure) return e.appError;
  const err = e as { code?: number; method?: string; message?: string };
  // pkcs11js leaves .method empty ('') for some functions (C_Sign, C_UnwrapKey, ...): fall back to ours.
  if (typeof err.code === 'number' && err.code > 0) return pkcs11Error(err.code, err.method || fn);
  // Some pkcs11js paths (C_FindObjects, C_CreateObject) throw without .code: read the CKR name.
  const name = /CKR_[A-Z0-9_]+/.exec(err.message ?? '')?.[0];
  if (name) return pkcs11Error(name, err.method || fn);
  return {
    code: 'FUNCTION_FAILED',
    message: 'The PKCS#11 module failed without saying why.',
    action: 'Try again. If it repeats, restart the app and check the device.',
    details: { function: fn, error: String(err.message ?? e).slice(0, 300) },
  };
}

/** Runs a PKCS#11 call and turns its failure into a typed error naming the function. */
export function p11<T>(fn: string, call: () => T): T {
  try {
    return call();
  } catch (e) {
    return fail(p11Failure(e, fn));
  }
}
