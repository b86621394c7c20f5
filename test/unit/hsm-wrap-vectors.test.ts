// The wrap probe's known-answer vectors live in the app (electron/hsm/host/wrap-vectors.ts) so that
// production code reads no test files. This holds that copy to the vector files in
// test/vectors/keywrap/, which carry the RFC sources: the same vectors, in the same order, value for value.
import { describe, expect, it } from 'vitest';
import { KWP_ALIGNED_VECTORS, RFC3394_VECTORS, RFC5649_VECTORS } from '../../electron/hsm/host/wrap-vectors';
import kwpAligned from '../vectors/keywrap/custos-kwp-aligned.json';
import rfc3394 from '../vectors/keywrap/rfc3394.json';
import rfc5649 from '../vectors/keywrap/rfc5649.json';

const values = (file: { vectors: Array<{ kek: string; plaintext: string; ciphertext: string }> }) =>
  file.vectors.map(({ kek, plaintext, ciphertext }) => ({ kek, plaintext, ciphertext }));

describe("the wrap probe's vectors", () => {
  it('are the RFC 3394 §4 vectors', () => {
    expect(RFC3394_VECTORS).toEqual(values(rfc3394));
    expect(RFC3394_VECTORS).toHaveLength(6);
  });
  it('are the RFC 5649 §6 vectors', () => {
    expect(RFC5649_VECTORS).toEqual(values(rfc5649));
    expect(RFC5649_VECTORS).toHaveLength(2);
  });
  it("are Custos's aligned KWP vector", () => {
    expect(KWP_ALIGNED_VECTORS).toEqual(values(kwpAligned));
    expect(KWP_ALIGNED_VECTORS).toHaveLength(1);
  });
});
