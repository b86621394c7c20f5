// Pins the share-set record format, version 1, with test/vectors/custos/shareset-v1.json: old
// records must stay readable and their fingerprints and check values must not change meaning.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secretCheckValue } from '../../electron/services/kcv';
import { parseShareSetRecord, serializeShareSetRecord, verifyShareAgainstRecord, type ShareSetRecord } from '../../shared/shares';
import { combineMnemonics, decodeMnemonic } from '../../shared/slip39';
import { nodeCrypto } from './slip39-support';

interface Vector {
  id: string;
  secret: string;
  passphrase: string;
  record: ShareSetRecord;
  mnemonics: string[][];
}

const file = JSON.parse(readFileSync(join(__dirname, '../vectors/custos/shareset-v1.json'), 'utf8')) as { vectors: Vector[] };

/** The fingerprint exactly as docs/FORMAT.md defines it, written independently of record.ts. */
function documentedFingerprint(mnemonic: string): string {
  const s = decodeMnemonic(mnemonic);
  const h = createHash('sha256');
  h.update('custos.shareset.v1.share-fingerprint');
  h.update(Buffer.from([0]));
  const header = Buffer.alloc(11);
  header.writeUInt16BE(s.identifier, 0);
  header.writeUInt8(s.extendable ? 1 : 0, 2);
  header.writeUInt8(s.iterationExponent, 3);
  header.writeUInt8(s.groupIndex, 4);
  header.writeUInt8(s.groupThreshold, 5);
  header.writeUInt8(s.groupCount, 6);
  header.writeUInt8(s.memberIndex, 7);
  header.writeUInt8(s.memberThreshold, 8);
  header.writeUInt16BE(s.value.length, 9);
  h.update(header);
  h.update(s.value);
  return h.digest().subarray(0, 8).toString('hex');
}

describe('shareset-v1.json', () => {
  it('holds both vectors', () => {
    expect(file.vectors.map((v) => v.id)).toEqual(['two-level-128', 'single-group-256']);
  });

  for (const v of file.vectors) {
    describe(v.id, () => {
      it('parses as version 1 without change, and serializes back to the same object', () => {
        const r = parseShareSetRecord(structuredClone(v.record));
        expect(r).toEqual(v.record);
        expect(JSON.parse(serializeShareSetRecord(r))).toEqual(v.record);
      });

      it('verifies every mnemonic alone, naming its recorded position and holder', async () => {
        const flat = v.mnemonics.flat();
        expect(flat).toHaveLength(v.record.shares.length);
        for (const m of flat) {
          const check = await verifyShareAgainstRecord(m, v.record);
          expect(check.ok, check.ok ? '' : check.message).toBe(true);
          if (!check.ok) continue;
          const s = decodeMnemonic(m);
          expect(check.entry).toMatchObject({ groupIndex: s.groupIndex, memberIndex: s.memberIndex });
          expect(check.fingerprint).toBe(documentedFingerprint(m));
          expect(check.entry.fingerprint).toBe(check.fingerprint);
          if (check.entry.holder) {
            expect(check.message).toContain(`held by ${check.entry.holder}`);
            expect((await verifyShareAgainstRecord(m, v.record, { holder: check.entry.holder.toUpperCase() })).ok).toBe(true);
          }
        }
      });

      it('recombines (threshold set + passphrase) to the secret whose check value is recorded', async () => {
        const r = v.record;
        const chosen: string[] = [];
        for (const g of r.groups.slice(0, r.set.groupThreshold)) chosen.push(...v.mnemonics[g.groupIndex]!.slice(0, g.memberThreshold));
        const secret = await combineMnemonics(chosen, new TextEncoder().encode(v.passphrase), nodeCrypto);
        expect(Buffer.from(secret).toString('hex')).toBe(v.secret);
        expect(secretCheckValue(secret)).toEqual(r.secretCheck);
      });
    });
  }
});
