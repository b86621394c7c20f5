// The archive's cryptography goes through this interface. In the app every call goes to the HSM
// host: the Archive KEK wraps (C_WrapKey, RFC 5649), the Archive MAC key MACs (HMAC-SHA256), the
// audit key signs checkpoints (ECDSA P-256). No key material of the archive ever reaches this
// process. Calls are batched (arrays of targets / messages per host request) so the process
// boundary costs one round trip per few hundred operations, not one per operation.
import type { TokenRef } from '../../../shared/keys';
import type { HsmClient } from '../../hsm/client';
import type { ObjectRef } from '../../hsm/protocol';

export interface ArchiveCrypto {
  /** RFC 5649 AES-KWP of each target key under the Archive KEK, inside the HSM. */
  wrap(targets: ObjectRef[]): Promise<Uint8Array[]>;
  /** HMAC-SHA256 of each message under the Archive MAC key (32 bytes each). */
  mac(messages: Uint8Array[]): Promise<Uint8Array[]>;
  /** ECDSA P-256 / SHA-256 signature of each message by the audit key, raw r‖s (64 bytes each). */
  sign(messages: Uint8Array[]): Promise<Uint8Array[]>;
}

/** A logged-in token (module path and token label or RFC 7512 URI), and the client that reaches it. */
export interface HsmBinding extends TokenRef {
  hsm: HsmClient;
}

export interface ArchiveKeyRefs {
  kek: ObjectRef;
  mac: ObjectRef;
  audit: ObjectRef;
}

/** Batch sizes per host request: big enough to amortise IPC, small enough to stay far from timeouts. */
const WRAP_BATCH = 512;
const SIGN_BATCH = 2048;

async function batched<T, R>(items: T[], size: number, fn: (chunk: T[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await fn(items.slice(i, i + size))));
  return out;
}

export class HsmArchiveCrypto implements ArchiveCrypto {
  constructor(
    private readonly b: HsmBinding,
    private readonly refs: ArchiveKeyRefs,
  ) {}

  wrap(targets: ObjectRef[]): Promise<Uint8Array[]> {
    return batched(targets, WRAP_BATCH, (chunk) =>
      this.b.hsm.call('wrap', { path: this.b.module, token: this.b.token, wrapping: { ...this.refs.kek, kind: 'secret' }, targets: chunk, mechanism: 'aes-kwp' }),
    );
  }

  mac(messages: Uint8Array[]): Promise<Uint8Array[]> {
    return batched(messages, SIGN_BATCH, (chunk) =>
      this.b.hsm.call('sign', { path: this.b.module, token: this.b.token, ref: { ...this.refs.mac, kind: 'secret' }, mechanism: 'hmac-sha256', data: chunk }),
    );
  }

  sign(messages: Uint8Array[]): Promise<Uint8Array[]> {
    return batched(messages, SIGN_BATCH, (chunk) =>
      this.b.hsm.call('sign', { path: this.b.module, token: this.b.token, ref: { ...this.refs.audit, kind: 'private' }, mechanism: 'ecdsa-sha256', data: chunk }),
    );
  }
}
