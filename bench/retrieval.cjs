// Retrieval benchmark (issue #10 part 3): one retrieval of one archived version, as the retrieve
// step does it once the quorum has approved — the custodians' two approval signatures verified
// against their credentials, the row fetched and its MAC checked in the HSM, C_UnwrapKey under the
// Archive KEK, the check value compared in the HSM, the audit entry and signed checkpoint committed
// (ArchiveService.restore), and the session object destroyed — and the same with the export
// destination (unwrap into a wrap-only session object, AES-KWP to a KEK, destroy; exportWrapped).
// Target: p50 ≤ 50 ms on SoftHSM2.
//
// Baseline, in the same run on the same token: a bare C_UnwrapKey of the same RFC 5649 blob under
// the same KEK plus C_DestroyObject, through pkcs11js in this process (no host, no archive, no
// audit). Rounds alternate retrieval and baseline so a noisy machine moves both.
const { build } = require('esbuild');
const { execFileSync } = require('node:child_process');
const { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const crypto = require('node:crypto');

const ROOT = join(__dirname, '..');
const N = Number(process.env.BENCH_RETRIEVAL_N ?? 200);
const VERSIONS = 20;
const MODULE = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find((p) => existsSync(p));
const PIN = '24681357';

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

async function lib() {
  const out = join(ROOT, 'dist', 'bench-retrieval-lib.cjs');
  await build({
    stdin: {
      contents: `
        export { ArchiveService } from './electron/services/archive/service';
        export { AnchorStore } from './electron/services/archive/anchors';
        export { HsmClient } from './electron/hsm/client';
        export { nodeHostSpawner } from './electron/hsm/client/spawn-node';
        export { enrolPassphrase, signWithPassphrase, verifyCredential } from './electron/services/ceremony/credentials';
        export { approvalMessage } from './shared/ceremony/approval';
      `,
      resolveDir: ROOT,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: out,
    external: ['better-sqlite3', 'pkcs11js', 'custos-p11batch', 'electron', 'pdfkit'],
    logLevel: 'warning',
  });
  return require(out);
}

async function main() {
  if (!MODULE) throw new Error('SoftHSM2 is not installed');
  const L = await lib();
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-retrieval-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { ...process.env, SOFTHSM2_CONF: join(dir, 'softhsm2.conf') };
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'Bench', '--so-pin', '12345678', '--pin', PIN], { env, stdio: 'ignore' });
  const hsm = new L.HsmClient(L.nodeHostSpawner(join(ROOT, 'dist/hsm-host.cjs'), env));
  const tok = { path: MODULE, token: 'Bench' };
  try {
    await hsm.call('login', { ...tok, role: 'user', pin: PIN });
    const anchors = new L.AnchorStore(join(dir, 'data'));
    const a = await L.ArchiveService.init(join(dir, 'archive.sqlite'), { hsm: { hsm, module: MODULE, token: 'Bench' }, name: 'Bench', actor: 'bench', anchors });
    for (let i = 0; i < VERSIONS; i++) {
      const label = `Old DEK ${i}`;
      await hsm.call('generate', { ...tok, spec: { type: 'aes-256', label, idHex: crypto.randomBytes(16).toString('hex'), usages: ['encrypt'], extractable: true } });
      await a.add([{ hsm: { label }, key: { label, purpose: 'data-encryption' }, activate: true }], 'bench');
      await hsm.call('destroy', { ...tok, ref: { label } });
    }
    await hsm.call('generate', { ...tok, spec: { type: 'aes-256', label: 'Partner KEK', idHex: crypto.randomBytes(16).toString('hex'), usages: ['wrap'], extractable: false } });
    const kek = a.keyRefs.kek;

    // Two custodians' approvals of the run, as the engine checks them before the step runs.
    const creds = ['Ann', 'Cat'].map((n) => ({ n, c: L.enrolPassphrase(`bench passphrase ${n}`) }));
    const fingerprint = crypto.randomBytes(32).toString('hex');
    const approvals = creds.map(({ n, c }) => {
      const m = L.approvalMessage({ purpose: 'approve', run: crypto.randomUUID(), fingerprint, step: 'retrieve', counter: 1, nonce: crypto.randomBytes(16).toString('hex'), person: n, credential: c.fingerprint });
      return { c, m, s: L.signWithPassphrase(c, `bench passphrase ${n}`, m) };
    });
    const verifyApprovals = () => {
      for (const x of approvals) if (!L.verifyCredential(x.c, x.m, x.s)) throw new Error('approval did not verify');
    };

    // The bare baseline: pkcs11js in this process, its own session on the same token.
    const pkcs11js = require('pkcs11js');
    process.env.SOFTHSM2_CONF = env.SOFTHSM2_CONF;
    const p11 = new pkcs11js.PKCS11();
    p11.load(MODULE);
    p11.C_Initialize();
    const slot = p11.C_GetSlotList(true)[0];
    const s = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p11.C_Login(s, pkcs11js.CKU_USER, PIN);
    p11.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }, { type: pkcs11js.CKA_ID, value: Buffer.from(kek.idHex, 'hex') }]);
    const kekHandle = p11.C_FindObjects(s, 1)[0];
    p11.C_FindObjectsFinal(s);
    const versions = a.search({ label: 'Old DEK*', limit: VERSIONS }).items;
    const ids = versions.map((v) => v.versionId);
    const blobs = ids.map((id) => a.resolveVersion(id).wrapped);
    const KWP = 0x210a; // CKM_AES_KEY_WRAP_PAD, which SoftHSM's probe trusts for AES keys (whole blocks)
    const bare = (blob) => {
      const h = p11.C_UnwrapKey(s, { mechanism: KWP }, kekHandle, blob, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
      ]);
      p11.C_DestroyObject(s, h);
    };

    const retrieveOnce = async (i) => {
      verifyApprovals();
      const r = await a.restore(ids[i % ids.length], { label: `bench retrieved ${i}`, usages: ['encrypt'], onToken: false }, 'bench');
      if (!r.checked) throw new Error('restored key was not checked');
      await hsm.call('destroy', { ...tok, ref: { idHex: r.object.idHex, kind: 'secret' } });
    };
    const exportOnce = async (i) => {
      verifyApprovals();
      const r = await a.exportWrapped(ids[i % ids.length], { wrapping: { label: 'Partner KEK', kind: 'secret' }, mechanism: 'aes-kwp', to: { kekCheckValue: 'bench' } }, 'bench');
      if (r.wrapped.length !== 40) throw new Error('unexpected export length');
    };
    // Warm up each path once.
    await retrieveOnce(0);
    await exportOnce(0);
    bare(blobs[0]);
    const rt = [];
    const ex = [];
    const bt = [];
    for (let i = 0; i < N; i++) {
      let t = performance.now();
      await retrieveOnce(i);
      rt.push(performance.now() - t);
      t = performance.now();
      await exportOnce(i);
      ex.push(performance.now() - t);
      t = performance.now();
      bare(blobs[i % blobs.length]);
      bt.push(performance.now() - t);
    }
    const fmt = (x) => x.toFixed(2).padStart(6);
    const b50 = pct(bt, 50);
    console.log(`one retrieval of one version (${N} runs; approvals ×2, row fetch + MAC in the HSM, C_UnwrapKey, check value, audit + checkpoint):`);
    console.log(`  into the HSM (session object): p50 ${fmt(pct(rt, 50))} ms  p90 ${fmt(pct(rt, 90))} ms   target p50 ≤ 50 ms: ${pct(rt, 50) <= 50 ? 'met' : 'NOT met'}   ratio to bare ${(pct(rt, 50) / b50).toFixed(1)}×`);
    console.log(`  exported (AES-KWP to a KEK):   p50 ${fmt(pct(ex, 50))} ms  p90 ${fmt(pct(ex, 90))} ms   target p50 ≤ 50 ms: ${pct(ex, 50) <= 50 ? 'met' : 'NOT met'}   ratio to bare ${(pct(ex, 50) / b50).toFixed(1)}×`);
    console.log(`  baseline: bare C_UnwrapKey + C_DestroyObject (pkcs11js, same token, same KEK and blobs): p50 ${fmt(b50)} ms  p90 ${fmt(pct(bt, 90))} ms`);
    p11.C_Logout(s);
    p11.C_CloseSession(s);
    p11.C_Finalize();
    a.close();
  } finally {
    await hsm.close();
    if (process.env.BENCH_RETRIEVAL_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
