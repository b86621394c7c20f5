// Session copies of keys for batches, inside the HSM host process (docs/ARCHITECTURE.md, Batches).
import { CKA } from '../protocol/constants';
import type { TokenContext } from './session';
import { destroyQuietly, type Handle, type Template } from './templates';

/** A batch applies a key through a session copy of it when it uses the key at least this often. */
const WORKING_COPY_MIN_USES = 8;

/**
 * A session object, under a label and id no search for the original can match. It stays private
 * like the original: SoftHSM refuses CKA_PRIVATE true → false in C_CopyObject (as it should), and
 * decrypts a private object's value for every C_*Init, which the C baseline's public session keys
 * do not pay (measured: AES-GCM 4 KiB 17–27 µs per item with a private session key, 13–20 µs with
 * a public one).
 */
const WORKING_COPY_TEMPLATE: Template = [
  { type: CKA.TOKEN, value: false },
  { type: CKA.LABEL, value: 'custos batch working copy' },
  { type: CKA.ID, value: Buffer.alloc(0) },
];

/**
 * Session copies of keys that one batch uses many times. SoftHSM's file store re-reads a token
 * object's file on every use: measured here, AES-GCM 4 KiB costs 42 µs per item with the token
 * object and 28 µs with a session copy, and each copy (C_CopyObject + C_DestroyObject) 63 µs. The
 * copy changes only CKA_TOKEN (false), the label and the id (so that no search for the original
 * finds two objects); every other attribute (private, sensitive, non-extractable, usages) is the
 * original's, so it can do nothing the key itself could not. It exists only in the host's
 * session, is destroyed when the batch ends (release, in `finally`), and goes with the session if
 * the host dies. A key the token will not copy (CKA_COPYABLE false, or no C_CopyObject) is used
 * directly. Errors are explained from the original key.
 */
export class WorkingCopies {
  private readonly copies = new Map<string, Handle>();

  constructor(private readonly ctx: TokenContext) {}

  /** The handle to use for `uses` operations on `h`. */
  of(h: Handle, uses: number): Handle {
    if (uses < WORKING_COPY_MIN_USES) return h;
    const k = h.toString('hex');
    let copy = this.copies.get(k);
    if (!copy) {
      try {
        copy = this.ctx.m.p11.C_CopyObject(this.ctx.session, h, WORKING_COPY_TEMPLATE);
      } catch {
        copy = h;
      }
      this.copies.set(k, copy);
    }
    return copy;
  }

  release(): void {
    for (const [k, copy] of this.copies) if (copy.toString('hex') !== k) destroyQuietly(this.ctx, copy);
    this.copies.clear();
  }
}
