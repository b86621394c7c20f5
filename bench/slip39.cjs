// SLIP-39 split and combine of a 32-byte secret, beside the bare PBKDF2 cost of the same iteration
// count measured in the same run (the floor: SLIP-39's Feistel cipher is 4 PBKDF2-HMAC-SHA256 rounds
// of 2500·2^e iterations each). Target: total ≤ 1.1× that floor. Runs the app's own code (shared/slip39
// with the Node crypto provider the app uses), bundled on the fly.
const { buildSync } = require('esbuild');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { pbkdf2Sync, randomBytes } = require('node:crypto');

const dir = mkdtempSync(join(tmpdir(), 'custos-bench-slip39-'));
const out = join(dir, 'slip39.cjs');
buildSync({
  stdin: {
    contents: "export * from './shared/slip39/index'; export { nodeSlip39Crypto } from './electron/services/drill';",
    resolveDir: join(__dirname, '..'),
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile: out,
  logLevel: 'warning',
  external: ['pkcs11js', 'custos-p11batch', 'better-sqlite3'],
});
const { splitSecret, combineMnemonics, nodeSlip39Crypto } = require(out);

const E = Number(process.env.BENCH_SLIP39_E ?? 1); // the default iteration exponent of `custos shares split`
const ROUNDS = Number(process.env.BENCH_SLIP39_ROUNDS ?? 11);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The floor: exactly the PBKDF2 work one encrypt (or decrypt) does — 4 rounds, 2500·2^e iterations.
function pbkdf2Floor() {
  const t = performance.now();
  for (let r = 0; r < 4; r++) pbkdf2Sync(Buffer.from([r]), Buffer.alloc(22), 2500 << E, 16, 'sha256');
  return performance.now() - t;
}

const configs = [
  { name: '5-of-16', groupThreshold: 1, groups: [{ threshold: 5, count: 16 }] },
  { name: '2-of-(3-of-5, 2-of-3)', groupThreshold: 2, groups: [{ threshold: 3, count: 5 }, { threshold: 2, count: 3 }] },
];

async function main() {
  const secret = randomBytes(32);
  for (const c of configs) {
    const split = [];
    const combine = [];
    const floor = [];
    // Two unmeasured rounds first: the first calls compile the code (JIT), which is not the steady cost.
    for (let i = -2; i < ROUNDS; i++) {
      const measured = i >= 0;
      const fl = pbkdf2Floor();
      if (measured) floor.push(fl);
      let t = performance.now();
      const groups = await splitSecret({ secret: Buffer.from(secret), groupThreshold: c.groupThreshold, groups: c.groups, iterationExponent: E }, nodeSlip39Crypto);
      if (measured) split.push(performance.now() - t);
      const chosen = groups.slice(0, c.groupThreshold).flatMap((g, i) => g.slice(0, c.groups[i].threshold));
      t = performance.now();
      const back = await combineMnemonics(chosen, new Uint8Array(0), nodeSlip39Crypto);
      if (measured) combine.push(performance.now() - t);
      if (!Buffer.from(back).equals(secret)) throw new Error('round trip failed');
    }
    const f = median(floor);
    const s = median(split);
    const m = median(combine);
    // Ratios paired round by round (the floor and the operation ran back to back, under the same load).
    const rs = median(split.map((x, i) => x / floor[i]));
    const rm = median(combine.map((x, i) => x / floor[i]));
    console.log(
      `slip39  ${c.name.padEnd(22)} e=${E}: split ${s.toFixed(1)} ms = ${rs.toFixed(3)}× PBKDF2 floor | combine ${m.toFixed(1)} ms = ${rm.toFixed(3)}× | floor ${f.toFixed(1)} ms  [target ≤ 1.1×]`,
    );
  }
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
