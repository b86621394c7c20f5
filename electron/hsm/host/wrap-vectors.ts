// Known-answer vectors for the wrap probe (probe.ts): a token's AES key wrap is trusted only after
// it reproduces each of these in both directions, because mechanism names are not (NSS's
// CKM_AES_KEY_WRAP_PAD is PKCS#7-padded KW, not RFC 5649). The app carries its own copy so that no
// production code reads test files. The RFC values are the official ones as transcribed, with their
// sources, in test/vectors/keywrap/; test/unit/hsm-wrap-vectors.test.ts checks this copy against
// those files value for value.

export interface WrapVector {
  kek: string;
  /** The key data to wrap (hex). */
  plaintext: string;
  /** The full wrapped output, integrity block included (hex). */
  ciphertext: string;
}

/** RFC 3394 §4.1–4.6: AES Key Wrap (default IV A6A6A6A6A6A6A6A6) with 128-, 192- and 256-bit KEKs. */
export const RFC3394_VECTORS: readonly WrapVector[] = [
  // §4.1: Wrap 128 bits of key data with a 128-bit KEK
  {
    kek: '000102030405060708090a0b0c0d0e0f',
    plaintext: '00112233445566778899aabbccddeeff',
    ciphertext: '1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5',
  },
  // §4.2: Wrap 128 bits of key data with a 192-bit KEK
  {
    kek: '000102030405060708090a0b0c0d0e0f1011121314151617',
    plaintext: '00112233445566778899aabbccddeeff',
    ciphertext: '96778b25ae6ca435f92b5b97c050aed2468ab8a17ad84e5d',
  },
  // §4.3: Wrap 128 bits of key data with a 256-bit KEK
  {
    kek: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
    plaintext: '00112233445566778899aabbccddeeff',
    ciphertext: '64e8c3f9ce0f5ba263e9777905818a2a93c8191e7d6e8ae7',
  },
  // §4.4: Wrap 192 bits of key data with a 192-bit KEK
  {
    kek: '000102030405060708090a0b0c0d0e0f1011121314151617',
    plaintext: '00112233445566778899aabbccddeeff0001020304050607',
    ciphertext: '031d33264e15d33268f24ec260743edce1c6c7ddee725a936ba814915c6762d2',
  },
  // §4.5: Wrap 192 bits of key data with a 256-bit KEK
  {
    kek: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
    plaintext: '00112233445566778899aabbccddeeff0001020304050607',
    ciphertext: 'a8f9bc1612c68b3ff6e6f4fbe30e71e4769c8b80a32cb8958cd5d17d6b254da1',
  },
  // §4.6: Wrap 256 bits of key data with a 256-bit KEK
  {
    kek: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
    plaintext: '00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f',
    ciphertext: '28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21',
  },
];

/** RFC 5649 §6: AES Key Wrap with Padding; both vectors have unaligned key data and a 192-bit KEK. */
export const RFC5649_VECTORS: readonly WrapVector[] = [
  // Wrap 20 octets of key data with a 192-bit KEK
  {
    kek: '5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8',
    plaintext: 'c37b7e6492584340bed12207808941155068f738',
    ciphertext: '138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a',
  },
  // Wrap 7 octets of key data with a 192-bit KEK
  {
    kek: '5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8',
    plaintext: '466f7250617369',
    ciphertext: 'afbeb0f07dfbf5419200f2ccb50bb24f',
  },
];

/**
 * Custos's own, not an RFC vector (test/vectors/keywrap/custos-kwp-aligned.json says how it was
 * computed): RFC 5649 with key data that is a multiple of 8 octets. It tells a token that gets only
 * the aligned case right (SoftHSM 2.6) from one that gets every case right.
 */
export const KWP_ALIGNED_VECTORS: readonly WrapVector[] = [
  // Wrap 32 octets of key data with a 256-bit KEK
  {
    kek: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
    plaintext: '00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f',
    ciphertext: '4a8029243027353b0694cf1bd8fc745bb0ce8a739b19b1960b12426d4c39cfeda926d103ab34e9f6',
  },
];
