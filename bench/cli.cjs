// Start-up cost of the `custos` command line, beside baselines measured in the same run: a bare
// `node -e 0` (what any Node program pays before its first line) and OpenSC's `pkcs11-tool --sign`
// (what the token itself costs for one signature: load the module, open a session, log in, sign).
// Scripted ceremonies call the CLI many times, so each call's start-up adds up (issue #12 part 7).
//
//   custos --version      target ≤ 1.3 × node -e 0          (loading the command table only)
//   custos tokens --json  reported                           (one HSM host, one module load)
//   custos sign           target ≤ 2 × node -e 0 + pkcs11-tool   (one ECDSA P-256 signature, one-shot:
//                         PIN from a file, key by label, a fresh HSM host process, as a script runs it)
//
// Every command runs once per round, the commands in turn, so that load on the machine (these
// machines are shared) falls on all of them alike; figures are medians over the rounds. Each run
// is a whole process from spawn to exit, timed in this process.
//
// Run: node scripts/build.mjs cli host && node bench/cli.cjs      (or `npm run bench cli`)
// Env: BENCH_CLI_RUNS     rounds (default 15)
//      BENCH_CLI_ENTRY    the entry to measure (default bin/custos.cjs, what `custos` runs)
//      BENCH_CLI_VERBOSE=1 also print every run
const { execFileSync, spawnSync } = require('node:child_process');
const { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { createHash } = require('node:crypto');

const ROOT = join(__dirname, '..');
const ENTRY = process.env.BENCH_CLI_ENTRY || join(ROOT, 'bin', 'custos.cjs');
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 15);
const VERBOSE = process.env.BENCH_CLI_VERBOSE === '1';
const MODULE = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find((p) => existsSync(p));
const TOKEN = 'bench';
const USER_PIN = '1234';
const KEY_LABEL = 'bench-sign';
const KEY_ID = 'b1';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** Wall-clock milliseconds of one whole process; fails loudly if the command fails (a failing command is fast). */
function timeOnce(name, file, args, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${name} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return ms;
}

function main() {
  if (!MODULE || !has('softhsm2-util')) {
    console.log('cli  SKIPPED: SoftHSM2 is not installed (sudo apt-get install softhsm2)');
    return;
  }
  if (!existsSync(join(ROOT, 'dist', 'cli.cjs'))) throw new Error('dist/cli.cjs is missing: run `node scripts/build.mjs cli host` first');
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-cli-'));
  try {
    mkdirSync(join(dir, 'tokens'));
    const conf = join(dir, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    const env = { ...process.env, SOFTHSM2_CONF: conf, CUSTOS_DATA_DIR: join(dir, 'data') };
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--so-pin', '12345678', '--pin', USER_PIN], { env, stdio: 'ignore' });
    const pinFile = join(dir, 'pin');
    writeFileSync(pinFile, `${USER_PIN}\n`, { mode: 0o600 });
    // A digest-sized input: custos hashes (ecdsa-sha256) and signs with CKM_ECDSA; pkcs11-tool signs
    // the 32 bytes with CKM_ECDSA directly (SoftHSM has no CKM_ECDSA_SHA256). Same token work.
    const data = join(dir, 'data.bin');
    writeFileSync(data, createHash('sha256').update('custos bench').digest());
    const cli = (...args) => [ENTRY, '--module', MODULE, '--token', TOKEN, '--pin-file', pinFile, ...args];
    execFileSync(process.execPath, cli('key', 'generate', '--type', 'ec-p256', '--label', KEY_LABEL), { env, stdio: 'ignore' });
    const keyId = JSON.parse(execFileSync(process.execPath, cli('--json', 'key', 'show', '--key', KEY_LABEL), { env, encoding: 'utf8' })).idHex;

    const commands = [
      { name: 'node -e 0', file: process.execPath, args: ['-e', '0'] },
      { name: 'custos --version', file: process.execPath, args: [ENTRY, '--version'] },
      { name: 'custos tokens --json', file: process.execPath, args: [ENTRY, '--module', MODULE, '--json', 'tokens'] },
      { name: 'custos sign', file: process.execPath, args: cli('sign', '--key', KEY_LABEL, '--mechanism', 'ecdsa-sha256', '--in', data, '--out', join(dir, 'sig.der')) },
    ];
    if (has('pkcs11-tool')) {
      commands.push({
        name: 'pkcs11-tool --sign',
        file: 'pkcs11-tool',
        args: ['--module', MODULE, '--token-label', TOKEN, '--login', '--pin', USER_PIN, '--sign', '--mechanism', 'ECDSA', '--id', keyId || KEY_ID, '--input-file', data, '--output-file', join(dir, 'sig.raw')],
      });
    } else {
      console.log('cli  pkcs11-tool is not installed (sudo apt-get install opensc): the sign target is shown without the token time');
    }

    for (const c of commands) timeOnce(c.name, c.file, c.args, env); // warm the page cache
    const times = new Map(commands.map((c) => [c.name, []]));
    for (let round = 0; round < RUNS; round++) {
      for (const c of commands) {
        const ms = timeOnce(c.name, c.file, c.args, env);
        times.get(c.name).push(ms);
        if (VERBOSE) console.log(`cli  round ${round + 1} ${c.name}: ${ms.toFixed(1)} ms`);
      }
    }

    const m = (name) => (times.has(name) ? median(times.get(name)) : 0);
    const node = m('node -e 0');
    const token = m('pkcs11-tool --sign');
    const pad = (s) => s.padEnd(22);
    console.log(`cli  ${pad('node -e 0')} median ${node.toFixed(0)} ms over ${RUNS} rounds (baseline)`);
    if (token) console.log(`cli  ${pad('pkcs11-tool --sign')} median ${token.toFixed(0)} ms (the token's own time for one signature)`);
    const version = m('custos --version');
    console.log(`cli  ${pad('custos --version')} median ${version.toFixed(0)} ms   ratio to node -e 0 ${(version / node).toFixed(2)}×  [target ≤ 1.3×]`);
    const tokens = m('custos tokens --json');
    console.log(`cli  ${pad('custos tokens --json')} median ${tokens.toFixed(0)} ms   ratio to node -e 0 ${(tokens / node).toFixed(2)}×`);
    const sign = m('custos sign');
    const budget = 2 * node + token;
    console.log(
      `cli  ${pad('custos sign')} median ${sign.toFixed(0)} ms   (sign − token time) / node -e 0 = ${((sign - token) / node).toFixed(2)}×  ` +
        `[target ≤ 2×, i.e. ≤ ${budget.toFixed(0)} ms]`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
