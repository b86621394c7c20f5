// Comparable strengths (NIST SP 800-57 Part 1 Rev. 5 Table 2) and the wrap rule built on them
// (issue #11 part 4): a wrapping key at least as strong as the key it carries, never below 112 bits.
import { describe, expect, it } from 'vitest';
import { checkWrapStrength, curveStrength, keyStrength, rsaStrength, wrapStrength } from '../../electron/services/key-strength';
import { CustosError } from '../../shared/result';
import type { KeyEntry } from '../../shared/keys';

type K = Pick<KeyEntry, 'label' | 'keyType' | 'bits' | 'curve'>;
const aes = (bits: number | null): K => ({ label: `aes-${bits}`, keyType: 'aes', bits, curve: null });
const rsa = (bits: number): K => ({ label: `rsa-${bits}`, keyType: 'rsa', bits, curve: null });
const ec = (curve: string): K => ({ label: curve, keyType: 'ec', bits: null, curve });
const tdes: K = { label: 'tdes', keyType: 'tdes', bits: 192, curve: null };
const hmac: K = { label: 'hmac', keyType: 'generic-secret', bits: 256, curve: null };

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof CustosError) return e.appError;
    throw e;
  }
  throw new Error('expected a refusal');
};

describe('SP 800-57 Part 1 Table 2', () => {
  it('gives RSA and ECC the table strengths, a size between rows the lower row', () => {
    expect([1024, 2048, 3072, 4096, 7680, 15360, 16384].map(rsaStrength)).toEqual([80, 112, 128, 128, 192, 256, 256]);
    expect(rsaStrength(512)).toBe(0);
    expect(['P-256', 'P-384', 'P-521', 'Ed25519'].map((c) => curveStrength(c, null))).toEqual([128, 192, 256, 128]);
  });

  it('gives symmetric keys their length, TDES 112, HMAC keys their length up to 256', () => {
    expect(keyStrength(aes(128), 'target')).toEqual({ bits: 128, assumed: false });
    expect(keyStrength(tdes, 'target')!.bits).toBe(112);
    expect(keyStrength(hmac, 'target')!.bits).toBe(256);
    expect(keyStrength({ ...hmac, bits: 512 }, 'target')!.bits).toBe(256);
  });

  it('bounds a key whose length the token does not report: strongest as a target, weakest as a wrapping key', () => {
    expect(keyStrength(aes(null), 'target')).toEqual({ bits: 256, assumed: true });
    expect(keyStrength(aes(null), 'wrapping')).toEqual({ bits: 128, assumed: true });
  });

  it('caps RSA-OAEP + AES-KWP at its ephemeral AES-256 key', () => {
    expect(wrapStrength(rsa(16384), 'rsa-aes-kwp-sha256')!.bits).toBe(256);
    expect(wrapStrength(rsa(16384), 'rsa-oaep-sha256')!.bits).toBe(256);
    expect(wrapStrength(rsa(2048), 'rsa-aes-kwp-sha1')!.bits).toBe(112);
  });
});

describe('the wrap rule', () => {
  it('lets a wrapping key at least as strong as the target wrap it', () => {
    expect(checkWrapStrength(aes(256), aes(256), 'aes-kwp')).toEqual({ wrappingKey: 256, target: 256, weaker: false });
    expect(checkWrapStrength(rsa(3072), aes(128), 'rsa-aes-kwp-sha256').weaker).toBe(false);
    expect(checkWrapStrength(rsa(15360), aes(256), 'rsa-aes-kwp-sha256').weaker).toBe(false);
    expect(checkWrapStrength(aes(128), tdes, 'aes-kw').weaker).toBe(false);
    expect(checkWrapStrength(aes(256), ec('P-384'), 'aes-kwp').weaker).toBe(false);
  });

  it('refuses a weaker one with WRAPPING_KEY_TOO_WEAK, naming both strengths', () => {
    const e = refusal(() => checkWrapStrength(rsa(2048), aes(256), 'rsa-aes-kwp-sha1'));
    expect(e.code).toBe('WRAPPING_KEY_TOO_WEAK');
    expect(e.details).toEqual({ wrappingKeyBits: 112, targetBits: 256 });
    expect(e.message).toMatch(/112 bits.*256/);
    expect(e.action).toMatch(/--allow-weaker-wrapping-key/);
    expect(refusal(() => checkWrapStrength(aes(128), aes(256), 'aes-kwp')).code).toBe('WRAPPING_KEY_TOO_WEAK');
    expect(refusal(() => checkWrapStrength(aes(128), ec('P-521'), 'aes-kwp')).code).toBe('WRAPPING_KEY_TOO_WEAK');
    expect(refusal(() => checkWrapStrength(aes(null), aes(256), 'aes-kwp')).message).toMatch(/not reported/);
  });

  it('with --allow-weaker-wrapping-key wraps, and says it did, but never below 112 bits', () => {
    expect(checkWrapStrength(rsa(4096), aes(256), 'rsa-aes-kwp-sha256', true)).toEqual({ wrappingKey: 128, target: 256, weaker: true });
    const e = refusal(() => checkWrapStrength(rsa(1024), aes(128), 'rsa-oaep-sha1', true));
    expect(e.code).toBe('WRAPPING_KEY_TOO_WEAK');
    expect(e.message).toMatch(/80 bits.*SP 800-131A/);
  });
});
