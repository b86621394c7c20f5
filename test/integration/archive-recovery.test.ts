// Recovery without Custos: given the archive FILE, docs/FORMAT.md and the Archive KEK (as a
// recovery team would have it after rebuilding it from its backup shares), recover an archived AES
// key with Node's crypto only. The file is read with better-sqlite3 as a plain SQL reader — none
// of the app's archive code. To obtain the KEK's value here, the test wraps it out of SoftHSM under
// a trusted key the SO made (the KEK is extractable under wrap, by a CKA_TRUSTED key only, precisely
// so it can be backed up).
import Database from 'better-sqlite3';
import { constants, createCipheriv, createDecipheriv, createHmac, generateKeyPairSync, privateDecrypt, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HsmClient } from '../../electron/hsm/client';
import { nodeHostSpawner } from '../../electron/hsm/client/spawn-node';
import type { ObjectRef } from '../../electron/hsm/protocol';
import { HOST_SCRIPT, ROOT, SOFTHSM_MODULE } from '../helpers/softhsm';
import { archiveFixture, failure, SO_PIN, TOKEN, type ArchiveFixture } from './archive-helpers';

let f: ArchiveFixture;
let file: string;
let kek: Buffer;
let macKey: Buffer;
let original: Buffer;
let versionId: string;

/** Wraps HSM keys out under an RSA public key imported as a session object; decrypts in Node. */
async function exportKeys(refs: ObjectRef[]): Promise<Buffer[]> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  await f.hsm.call('importPublic', {
    path: SOFTHSM_MODULE,
    token: TOKEN,
    label: 'recovery-transport',
    idHex: '7e57',
    attrs: { keyType: 'rsa', modulus: Buffer.from(jwk.n, 'base64url'), publicExponent: Buffer.from(jwk.e, 'base64url') },
    usages: ['wrap'],
    onToken: false,
  });
  const wrapped = await f.hsm.call('wrap', { path: SOFTHSM_MODULE, token: TOKEN, wrapping: { label: 'recovery-transport', kind: 'public' }, targets: refs, mechanism: 'rsa-oaep-sha1' });
  return wrapped.map((w) => privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, w));
}

/**
 * The archive's KEK and MAC key carry CKA_WRAP_WITH_TRUSTED: the user PIN alone cannot wrap them
 * out (that is tested below). The test acts as the SO, as a backup ceremony does: an SO session in
 * a second host process makes a trusted AES key whose value the test knows, the user session wraps
 * the keys under it (RFC 5649), and Node unwraps them.
 */
async function exportArchiveKeys(refs: ObjectRef[]): Promise<Buffer[]> {
  const value = randomBytes(32);
  const so = new HsmClient(nodeHostSpawner(HOST_SCRIPT, f.fx.env));
  try {
    await so.call('login', { path: SOFTHSM_MODULE, token: TOKEN, role: 'so', pin: SO_PIN });
    await so.call('createTrustedKey', { path: SOFTHSM_MODULE, token: TOKEN, value: Buffer.from(value), label: 'test-trusted-transport', idHex: '7e58' });
  } finally {
    await so.close();
  }
  const trusted = { label: 'test-trusted-transport', kind: 'secret' as const };
  try {
    const wrapped = await f.hsm.call('wrap', { path: SOFTHSM_MODULE, token: TOKEN, wrapping: trusted, targets: refs, mechanism: 'aes-kwp' });
    return wrapped.map((w) => {
      const d = createDecipheriv('id-aes256-wrap-pad', value, Buffer.from('A65959A6', 'hex'));
      return Buffer.concat([d.update(w), d.final()]);
    });
  } finally {
    await f.hsm.call('destroy', { path: SOFTHSM_MODULE, token: TOKEN, ref: trusted });
  }
}

beforeAll(async () => {
  f = await archiveFixture('custos-archive-recovery-');
  const a = await f.init('Recovery source');
  const k = await f.generate('aes-256', 'customer-data-key');
  await a.add([{ hsm: await f.generate('hmac-256', 'noise'), key: { label: 'other', purpose: 'authentication' }, activate: true }], 'alice');
  const [r] = await a.add([{ hsm: k, key: { label: 'customer-data-2024', purpose: 'data-encryption', tags: ['crm'] }, activate: true }], 'alice');
  versionId = r!.versionId;
  const refs = a.keyRefs;
  // The user PIN alone cannot take the archive's keys out (CKA_WRAP_WITH_TRUSTED, enforced by the token).
  [original] = (await exportKeys([{ ...k, kind: 'secret' }])) as [Buffer];
  for (const ref of [refs.kek, refs.mac]) {
    const refused = await failure(f.hsm.call('wrap', { path: SOFTHSM_MODULE, token: TOKEN, wrapping: { label: 'recovery-transport', kind: 'public' }, targets: [{ ...ref, kind: 'secret' }], mechanism: 'rsa-oaep-sha1' }));
    expect(refused.details?.ckr).toBe('CKR_KEY_NOT_WRAPPABLE');
  }
  [kek, macKey] = (await exportArchiveKeys([{ ...refs.kek, kind: 'secret' }, { ...refs.mac, kind: 'secret' }])) as [Buffer, Buffer];
  file = a.path;
  a.close();
});

afterAll(async () => {
  kek?.fill(0);
  macKey?.fill(0);
  original?.fill(0);
  await f?.close();
});

// --- Everything below follows docs/FORMAT.md, with Node's crypto only. -----------------------

/** AES-CMAC (NIST SP 800-38B) of one zero block, first 5 bytes: the check value of FORMAT.md. */
function cmacKcv(key: Buffer): string {
  const ecb = (b: Buffer) => {
    const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(b), c.final()]);
  };
  const dbl = (b: Buffer) => {
    const o = Buffer.alloc(16);
    for (let i = 0; i < 16; i++) o[i] = ((b[i]! << 1) | (i < 15 ? b[i + 1]! >> 7 : 0)) & 0xff;
    if (b[0]! & 0x80) o[15]! ^= 0x87;
    return o;
  };
  const k1 = dbl(ecb(Buffer.alloc(16)));
  const last = Buffer.alloc(16).map((x, i) => x ^ k1[i]!);
  return ecb(Buffer.from(last)).subarray(0, 5).toString('hex');
}

/** canonical(domain, values) of "Archive envelope": 0x01 ‖ field(text, domain) ‖ fields. */
function canonical(domain: string, values: Array<['text' | 'bytes' | 'int', unknown]>): Buffer {
  const field = (tag: number, b: Buffer) => {
    const h = Buffer.alloc(5);
    h[0] = tag;
    h.writeUInt32BE(b.length, 1);
    return Buffer.concat([h, b]);
  };
  const out = [Buffer.from([1]), field(1, Buffer.from(domain, 'utf8'))];
  for (const [kind, v] of values) {
    if (v === null) out.push(field(0, Buffer.alloc(0)));
    else if (kind === 'text') out.push(field(1, Buffer.from(v as string, 'utf8')));
    else if (kind === 'bytes') out.push(field(2, v as Buffer));
    else {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(BigInt(v as number));
      out.push(field(3, b));
    }
  }
  return Buffer.concat(out);
}

// The version record's field list, copied from the table in docs/FORMAT.md.
const VERSION_FIELDS =
  'id, key_id, version:int, algorithm, kind, purpose, state, source_uri?, check_method?, check_value?, check_legacy?, fingerprint?, public_spki:bytes?, wrap_mechanism?, kek_check?, wrapped:bytes?, created_at, activation_date?, protect_stop_date?, process_stop_date?, deactivation_date?, compromise_date?, destroyed_date?, rotation_due?, ceremony_id?, origin_archive, revision:int, updated_at';

function versionMac(archiveId: string, row: Record<string, unknown>): Buffer {
  const values: Array<['text' | 'bytes' | 'int', unknown]> = [['text', archiveId]];
  for (const spec of VERSION_FIELDS.split(', ')) {
    const [name, kind = 'text'] = spec.replace('?', '').split(':');
    values.push([kind as 'text' | 'bytes' | 'int', row[name!] ?? null]);
  }
  return createHmac('sha256', macKey).update(canonical('custos.archive.version/1', values)).digest();
}

describe('recovering an archived AES key from the archive file with Node crypto and docs/FORMAT.md', () => {
  it('the documentation has what this test relies on', () => {
    const doc = readFileSync(join(ROOT, 'docs/FORMAT.md'), 'utf8');
    for (const s of ['## Archive file', '## Archive envelope (wrap + MAC)', 'id-aes256-wrap-pad', 'kek_check', 'custos.archive.version/1', VERSION_FIELDS]) expect(doc).toContain(s);
  });

  it('finds the version, checks the KEK, authenticates the row, unwraps the key and checks its check value', () => {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    let row: Record<string, unknown>;
    let archiveId: string;
    let ws: { kek_check: string; kek_check_legacy: string; mac_check: string };
    try {
      expect(db.pragma('application_id', { simple: true })).toBe(0x43555354);
      archiveId = db.prepare("SELECT value FROM meta WHERE key = 'archive_id'").pluck().get() as string;
      ws = db.prepare('SELECT kek_check, kek_check_legacy, mac_check FROM workstation').get() as typeof ws;
      // The old-data question, in plain SQL: which version protected CRM data on this date?
      const now = new Date().toISOString();
      row = db
        .prepare(
          `SELECT v.* FROM key_versions v JOIN keys k ON k.id = v.key_id
            WHERE k.label = ? AND v.purpose = 'data-encryption' AND v.activation_date <= ? AND (v.deactivation_date IS NULL OR v.deactivation_date > ?)`,
        )
        .get('customer-data-2024', now, now) as Record<string, unknown>;
    } finally {
      db.close();
    }
    expect(row.id).toBe(versionId);

    // 1. The KEK we hold is the archive's KEK.
    expect(cmacKcv(kek)).toBe(ws.kek_check);
    const ecb = createCipheriv('aes-256-ecb', kek, null);
    ecb.setAutoPadding(false);
    expect(ecb.update(Buffer.alloc(16)).subarray(0, 3).toString('hex')).toBe(ws.kek_check_legacy);
    expect(row.kek_check).toBe(ws.kek_check);
    expect(row.wrap_mechanism).toBe('aes-256-kwp-rfc5649');

    // 2. The row is authentic (MAC key check value, then the row MAC).
    expect(createHmac('sha256', macKey).update(Buffer.alloc(32)).digest().subarray(0, 5).toString('hex')).toBe(ws.mac_check);
    expect(versionMac(archiveId, row).equals(row.mac as Buffer)).toBe(true);

    // 3. RFC 5649 unwrap, and the key's own check value.
    const d = createDecipheriv('id-aes256-wrap-pad', kek, Buffer.from('A65959A6', 'hex'));
    const key = Buffer.concat([d.update(row.wrapped as Buffer), d.final()]);
    try {
      expect(key.length).toBe(32);
      expect(row.check_method).toBe('aes-cmac');
      expect(cmacKcv(key)).toBe(row.check_value);
      expect(key.equals(original)).toBe(true);
    } finally {
      key.fill(0);
    }
  });

  it('a blob moved from another row fails the MAC, and a wrong KEK fails the unwrap', () => {
    const db = new Database(file, { readonly: true });
    const archiveId = db.prepare("SELECT value FROM meta WHERE key = 'archive_id'").pluck().get() as string;
    const other = db.prepare("SELECT v.wrapped FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.label = 'other'").pluck().get() as Buffer;
    const row = db.prepare('SELECT * FROM key_versions WHERE id = ?').get(versionId) as Record<string, unknown>;
    db.close();
    expect(versionMac(archiveId, row).equals(row.mac as Buffer)).toBe(true);
    expect(versionMac(archiveId, { ...row, wrapped: other }).equals(row.mac as Buffer)).toBe(false);
    expect(versionMac('another-archive', row).equals(row.mac as Buffer)).toBe(false);
    const wrongKek = Buffer.alloc(32, 7);
    const d = createDecipheriv('id-aes256-wrap-pad', wrongKek, Buffer.from('A65959A6', 'hex'));
    expect(() => Buffer.concat([d.update(other), d.final()])).toThrow();
  });
});
