// HSM throughput through the app's HsmClient (main process → HSM host process → pkcs11js → SoftHSM2),
// beside bench/p11-baseline.c, a raw C PKCS#11 loop on the same fresh SoftHSM token in the same run:
// ECDSA P-256 sign, AES-256-GCM 4 KiB encrypt and AES-KWP wrap of a 32-byte AES key. The client is
// measured with one item per call ("single": what one custodian operation costs, reported as the
// latency it adds over the C loop's per-op time) and with BATCH items per call ("batched": throughput
// of the batch forms of sign/encrypt/wrap, reported as a ratio to the C loop; target ≥ 0.7×).
// C and client runs are interleaved round by round (the machine may be noisy); figures are medians
// over the rounds, ratios and added latencies are medians of the per-round (paired) values.
//
// Run: node scripts/build.mjs && node bench/hsm.cjs       (or `npm run bench hsm`)
// The C loop runs twice per round: with the shared baseline's session-object keys (the "physical
// limit", the target's reference; its AES-GCM key is a public object) and with private token-object
// keys like the app's (SoftHSM's file store re-checks a token object's file on every use, and
// SoftHSM decrypts a private object's value at every C_*Init: costs the app pays and the
// session-key loop does not). Each operation gets a second line with those figures and with CPU
// time per op (C process; host and client processes), which other load on the machine moves far
// less than wall-clock time.
//
// Env: BENCH_HSM_SECONDS   seconds per measurement per round (default 1; total ≈ rounds × seconds per loop)
//      BENCH_HSM_ROUNDS    rounds (default 3)
//      BENCH_HSM_BATCH     items per batched call (default 256)
//      BENCH_HSM_HOST      another host bundle to measure (A/B of a change to electron/hsm; default
//                          dist/hsm-host.cjs; it must be able to require('pkcs11js'))
//      BENCH_HSM_VERBOSE=1 also print every round's figures
const { execFileSync, spawnSync } = require('node:child_process');
const { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { randomBytes } = require('node:crypto');

const ROOT = join(__dirname, '..');
const HOST_SCRIPT = process.env.BENCH_HSM_HOST || join(ROOT, 'dist', 'hsm-host.cjs');
const BASELINE_SRC = join(__dirname, 'p11-baseline.c');
const PKCS11_INCLUDE = '/usr/include/p11-kit-1/p11-kit';
const MODULE = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find((p) => existsSync(p));
const SECONDS = Number(process.env.BENCH_HSM_SECONDS ?? 1);
const ROUNDS = Number(process.env.BENCH_HSM_ROUNDS ?? 3);
const BATCH = Number(process.env.BENCH_HSM_BATCH ?? 256);
const TOKEN_LABEL = 'bench';
const SO_PIN = '12345678';
const USER_PIN = '1234';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** The client side of the app, bundled from source (dist/ holds only the host and whole-app bundles). */
function bundleClient() {
  // Inside the project, so that its externals (pkcs11js, the batch addon) resolve from node_modules.
  const outfile = join(ROOT, 'dist', 'bench-hsm-client.cjs');
  require('esbuild').buildSync({
    stdin: {
      contents: [
        "export { HsmClient } from './electron/hsm/client';",
        "export { nodeHostSpawner } from './electron/hsm/client/spawn-node';",
        "export { tokenUri } from './shared/pkcs11-uri';",
      ].join('\n'),
      resolveDir: ROOT,
      sourcefile: 'bench-hsm-client.ts',
      loader: 'ts',
    },
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['electron', 'pkcs11js', 'custos-p11batch', 'better-sqlite3', 'playwright-core'],
    logLevel: 'warning',
  });
  return require(outfile);
}

/** Compiles the C baseline; null (with the reason printed) when the toolchain or pkcs11.h is missing. */
function buildBaseline(dir) {
  const missing = () => [...(has('gcc') ? [] : ['gcc']), ...(existsSync(join(PKCS11_INCLUDE, 'pkcs11.h')) ? [] : ['libp11-kit-dev'])];
  let lacking = missing();
  if (lacking.length && process.getuid?.() === 0 && has('apt-get')) {
    console.log(`hsm  installing ${lacking.join(', ')} for the C baseline`);
    const r = spawnSync('sh', ['-c', `apt-get update -qq && apt-get install -y -qq ${lacking.join(' ')}`], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0) console.log('hsm  apt-get failed');
    lacking = missing();
  }
  if (lacking.length) {
    console.log(
      `hsm  C baseline SKIPPED: it needs ${lacking.join(' and ')} (pkcs11.h comes from libp11-kit-dev). ` +
        `Install with: sudo apt-get install -y ${lacking.join(' ')}`,
    );
    return null;
  }
  const bin = join(dir, 'p11-baseline');
  execFileSync('gcc', ['-O2', `-I${PKCS11_INCLUDE}`, '-o', bin, BASELINE_SRC, '-ldl'], { stdio: 'inherit' });
  return bin;
}

const C_LINES = {
  sign: /^C ECDSA-P256 sign: .* = (\d+) ops\/s/m,
  gcm: /^C AES-256-GCM encrypt 4KiB: .* = (\d+) ops\/s/m,
  wrap: /^C AES-KWP wrap 32-byte key: .* = (\d+) ops\/s/m,
};

/** One C loop: wall-clock ops/s and CPU µs per op. */
function runBaseline(bin, env, loop, keys) {
  const out = execFileSync(bin, [MODULE, TOKEN_LABEL, USER_PIN, String(SECONDS), loop, keys], { env, encoding: 'utf8' });
  const m = C_LINES[loop].exec(out);
  const c = new RegExp(`^C cpu ${loop}: ([\\d.]+) us/op`, 'm').exec(out);
  if (!m || !c) throw new Error(`unexpected output from the C baseline (${loop}):\n${out}`);
  return { rate: Number(m[1]), cpuUs: Number(c[1]) };
}

/** CPU time (µs) the host process has used, all its threads; NaN where /proc is unavailable. */
function hostCpuUs(pid) {
  try {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1000;
  } catch {
    return NaN;
  }
}
const selfCpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/**
 * Calls `once` (which performs `opsPerCall` operations) back to back for SECONDS: wall-clock ops/s,
 * and CPU µs per op of both processes (client + host), which other load on the machine hardly moves.
 */
async function rate(once, opsPerCall, hostPid) {
  await once(); // warm: first-use work (probes, JIT) is not what is measured
  let ops = 0;
  const self0 = selfCpuUs();
  const host0 = hostCpuUs(hostPid);
  const t0 = performance.now();
  let t = t0;
  do {
    await once();
    ops += opsPerCall;
    t = performance.now();
  } while (t - t0 < SECONDS * 1000);
  const clientCpuUs = (selfCpuUs() - self0) / ops;
  const hostOnlyCpuUs = (hostCpuUs(hostPid) - host0) / ops;
  return { rate: (ops * 1000) / (t - t0), cpuUs: clientCpuUs + hostOnlyCpuUs, clientCpuUs, hostCpuUs: hostOnlyCpuUs };
}

async function main() {
  if (!MODULE) throw new Error('SoftHSM2 is not installed (libsofthsm2.so not found): apt-get install -y softhsm2');
  if (!existsSync(HOST_SCRIPT)) throw new Error('dist/hsm-host.cjs is missing: run `node scripts/build.mjs` first');
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-hsm-'));
  let client = null;
  try {
    const tokens = join(dir, 'tokens');
    mkdirSync(tokens);
    const conf = join(dir, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    const env = { ...process.env, SOFTHSM2_CONF: conf };
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', TOKEN_LABEL, '--so-pin', SO_PIN, '--pin', USER_PIN], { env, stdio: 'ignore' });

    const baseline = buildBaseline(dir);
    const { HsmClient, nodeHostSpawner, tokenUri } = bundleClient();
    client = new HsmClient(nodeHostSpawner(HOST_SCRIPT, env));

    // The app's calls, as electron/services/key-service.ts makes them: token by URI, keys by id + label + kind.
    await client.call('load', { path: MODULE });
    const slot = await client.call('login', { path: MODULE, token: TOKEN_LABEL, role: 'user', pin: USER_PIN });
    const tok = { path: MODULE, token: tokenUri(slot.token) };
    const run = randomBytes(4).toString('hex');
    const gen = async (type, name, usages, extractable) => {
      const label = `bench-${name}-${run}`;
      const idHex = randomBytes(16).toString('hex');
      await client.call('generate', { ...tok, spec: { type, label, idHex, usages, extractable } });
      return { idHex, label };
    };
    const ec = await gen('ec-p256', 'ecdsa', ['sign'], false);
    const aes = await gen('aes-256', 'gcm', ['encrypt'], false);
    const kek = await gen('aes-256', 'kek', ['wrap'], false);
    const target = await gen('aes-256', 'target', ['encrypt'], true);

    const digest = new Uint8Array(32).fill(0xab);
    const block = new Uint8Array(4096).fill(0x5a);
    const signRef = { ...ec, kind: 'private' };
    const gcmRef = { ...aes, kind: 'secret' };
    const kekRef = { ...kek, kind: 'secret' };
    const targetRef = { ...target, kind: 'secret' };
    // Batches of distinct objects, as real data would be: the IPC serializer writes a repeated object
    // once (a back-reference), which would hide the cost of carrying 256 × 4 KiB to the host.
    const bytes = (b) => Array.from({ length: BATCH }, (_, i) => b.slice().fill(i & 0xff, 0, 1));
    const signData1 = [digest];
    const signDataN = bytes(digest);
    const gcmData1 = [block];
    const gcmDataN = bytes(block);
    const wrapTargets1 = [targetRef];
    const wrapTargetsN = Array.from({ length: BATCH }, () => ({ ...targetRef })); // 256 refs to the same key

    // 'ecdsa-sha256' is what custodians sign with: the host hashes the item (SoftHSM lacks
    // CKM_ECDSA_SHA256) and signs the 32-byte digest with CKM_ECDSA, as the C loop does.
    const ops = [
      {
        loop: 'sign',
        name: 'ecdsa-p256 sign    ',
        single: () => client.call('sign', { ...tok, ref: signRef, mechanism: 'ecdsa-sha256', data: signData1 }),
        batched: () => client.call('sign', { ...tok, ref: signRef, mechanism: 'ecdsa-sha256', data: signDataN }),
      },
      {
        loop: 'gcm',
        name: 'aes-256-gcm 4 KiB  ',
        single: () => client.call('encrypt', { ...tok, ref: gcmRef, mechanism: 'aes-gcm', data: gcmData1 }),
        batched: () => client.call('encrypt', { ...tok, ref: gcmRef, mechanism: 'aes-gcm', data: gcmDataN }),
      },
      {
        loop: 'wrap',
        name: 'aes-kwp wrap 32 B  ',
        single: () => client.call('wrap', { ...tok, wrapping: kekRef, targets: wrapTargets1, mechanism: 'aes-kwp' }),
        batched: () => client.call('wrap', { ...tok, wrapping: kekRef, targets: wrapTargetsN, mechanism: 'aes-kwp' }),
      },
    ];

    // Sanity: each call answers with one result per item.
    for (const o of ops) {
      const [a, b] = [await o.single(), await o.batched()];
      if (a.length !== 1 || b.length !== BATCH) throw new Error(`${o.loop}: expected 1 and ${BATCH} results, got ${a.length} and ${b.length}`);
    }

    const fixed = [
      { name: 'ping', call: () => client.call('ping', {}) },
      { name: 'random', call: () => client.call('random', { ...tok, length: 12 }) },
    ];

    await client.call('ping', {});
    await new Promise((r) => setTimeout(r, 100)); // the shared arena is set up beside the first calls
    const { nativeBatch, arena } = await client.call('ping', {});
    console.log(
      `hsm  batches run ${nativeBatch ? 'in one native call each (native/p11batch)' : 'item by item through pkcs11js (native/p11batch is not built)'}, ` +
        `large batch data ${arena ? 'through the shared arena' : 'in the IPC messages (no shared arena)'}; ` +
      `fresh SoftHSM2 token; ${ROUNDS} interleaved rounds × ${SECONDS} s per measurement, medians; batch = ${BATCH} items/call; ` +
        `C loop keys: public session objects as in the shared baseline [private token objects, like the app's]; client keys: private token objects; CPU = client + host process`,
    );
    const results = Object.fromEntries(ops.map((o) => [o.loop, { c: [], cTok: [], single: [], batched: [] }]));
    const overhead = Object.fromEntries(fixed.map((f) => [f.name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      const { pid } = await client.call('ping', {}); // a restarted host would have a new one
      for (const o of ops) {
        const res = results[o.loop];
        if (baseline) res.c.push(runBaseline(baseline, env, o.loop, 'session'));
        res.single.push(await rate(o.single, 1, pid));
        res.batched.push(await rate(o.batched, BATCH, pid));
        if (baseline) res.cTok.push(runBaseline(baseline, env, o.loop, 'token'));
      }
      for (const f of fixed) overhead[f.name].push(await rate(f.call, 1, pid));
    }

    let belowTarget = false;
    const us = (x) => 1e6 / x.rate;
    const fmt = (n) => n.toFixed(0);
    // Paired per round: the C loop and the client ran back to back under the same load.
    const paired = (xs, ys, f) => median(xs.map((x, i) => f(x, ys[i])));
    for (const o of ops) {
      const { c, cTok, single, batched } = results[o.loop];
      const singleRate = median(single.map((x) => x.rate));
      const batchedRate = median(batched.map((x) => x.rate));
      if (!baseline) {
        console.log(`hsm  ${o.name} C baseline skipped | client single ${fmt(singleRate)} ops/s (${fmt(1e6 / singleRate)} µs/call) | client batched ${fmt(batchedRate)} ops/s`);
        continue;
      }
      const ratio = paired(batched, c, (b, x) => b.rate / x.rate);
      if (ratio < 0.7) belowTarget = true;
      console.log(
        `hsm  ${o.name} C baseline ${fmt(median(c.map((x) => x.rate)))} ops/s | client single ${fmt(singleRate)} ops/s (+${fmt(paired(single, c, (a, x) => us(a) - us(x)))} µs/op) | ` +
          `client batched ${fmt(batchedRate)} ops/s = ${ratio.toFixed(2)}× C  [target ≥ 0.7×]${ratio < 0.7 ? '  BELOW TARGET' : ''}`,
      );
      const cpuC = median(c.map((x) => x.cpuUs));
      const cpuB = median(batched.map((x) => x.cpuUs));
      console.log(
        `hsm    ${''.padEnd(o.name.length)} C loop with keys like the app's ${fmt(median(cTok.map((x) => x.rate)))} ops/s: batched = ${paired(batched, cTok, (b, x) => b.rate / x.rate).toFixed(2)}× | ` +
          `CPU µs/op: C ${cpuC.toFixed(1)} [token keys ${median(cTok.map((x) => x.cpuUs)).toFixed(1)}], client single ${fmt(median(single.map((x) => x.cpuUs)))}, ` +
          `batched ${cpuB.toFixed(1)} = ${paired(batched, c, (b, x) => x.cpuUs / b.cpuUs).toFixed(2)}× C [${paired(batched, cTok, (b, x) => x.cpuUs / b.cpuUs).toFixed(2)}×] ` +
          `(host ${median(batched.map((x) => x.hostCpuUs)).toFixed(1)}, client ${median(batched.map((x) => x.clientCpuUs)).toFixed(1)})`,
      );
    }
    const ping = median(overhead.ping.map(us));
    const random = median(overhead.random.map(us));
    const pingCpu = median(overhead.ping.map((x) => x.cpuUs));
    const randomCpu = median(overhead.random.map((x) => x.cpuUs));
    console.log(
      `hsm  per call: IPC round trip (ping) ${fmt(ping)} µs (CPU ${fmt(pingCpu)} µs); ` +
        `token lookup + session check + C_GenerateRandom(12) (random − ping) ${fmt(random - ping)} µs (CPU ${fmt(randomCpu - pingCpu)} µs)`,
    );
    if (process.env.BENCH_HSM_VERBOSE) console.log(JSON.stringify({ results, overhead }));
    if (belowTarget) {
      console.log(
        'hsm  a batched form is below 0.7× of the C loop. Host CPU beyond the C loop\'s is the process boundary (receiving and sending ' +
          'each item) and the per-batch work (key lookup, working copies); client CPU is packing and unpacking (docs/ARCHITECTURE.md, Batches)',
      );
    }
  } finally {
    if (client) await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
