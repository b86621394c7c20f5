// Ceremony benchmark (issue #9 targets), each figure beside a baseline measured in the same run:
//
//   engine step   one journal append through the ceremony record: the entry and its audit entry,
//                 the row MACed in the HSM, the new audit head signed in the HSM, one transaction
//                 with synchronous=FULL (archive/store.ts) — beside a bare better-sqlite3 insert of
//                 a row of the same size, WAL and synchronous=FULL, one transaction per row, in the
//                 same folder. Target: ≤ 2×.
//   bundle verify verifyBundle() of a real bundle (every file hashed, the signature, the manifest,
//                 the journal's hash chain, every approval signature) — beside a bare SHA-256 of
//                 every file plus one ECDSA P-256 verify of SHA256SUMS (what `sha256sum -c` and
//                 `openssl dgst -verify` do). Target: ≥ 0.5× the bare rate.
//
// Rounds are interleaved (engine, baseline, engine, …) so that a noisy machine moves both.
const { build } = require('esbuild');
const { execFileSync } = require('node:child_process');
const { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const crypto = require('node:crypto');

const ROOT = join(__dirname, '..');
const STEPS = Number(process.env.BENCH_CEREMONY_STEPS ?? 200);
const ROUNDS = 5;
const VERIFY_N = Number(process.env.BENCH_CEREMONY_VERIFY ?? 200);
const MODULE = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find((p) => existsSync(p));
const PIN = '24681357';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function lib() {
  const out = join(ROOT, 'dist', 'bench-ceremony-lib.cjs');
  await build({
    stdin: {
      contents: `
        export { ArchiveService } from './electron/services/archive/service';
        export { AnchorStore } from './electron/services/archive/anchors';
        export { HsmClient } from './electron/hsm/client';
        export { nodeHostSpawner } from './electron/hsm/client/spawn-node';
        export { ArchiveCeremonyRecord } from './electron/services/ceremony/store';
        export { withFingerprint, definitionHash } from './electron/services/ceremony/plan';
        export { verifyBundle, writeBundle } from './electron/services/ceremony/evidence';
        export { builtinDefinition } from './shared/ceremony/builtin';
        export { resolveSteps } from './shared/ceremony/definition';
        export { foldJournal } from './shared/ceremony/run';
        export { buildTranscript } from './shared/ceremony/transcript';
        export { enrolPassphrase, signWithPassphrase, publicCredential } from './electron/services/ceremony/credentials';
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
  const Database = require('better-sqlite3');
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-ceremony-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { ...process.env, SOFTHSM2_CONF: join(dir, 'softhsm2.conf') };
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'Bench', '--so-pin', '12345678', '--pin', PIN], { env, stdio: 'ignore' });
  const hsm = new L.HsmClient(L.nodeHostSpawner(join(ROOT, 'dist/hsm-host.cjs'), env));
  try {
    await hsm.call('login', { path: MODULE, token: 'Bench', role: 'user', pin: PIN });
    const anchors = new L.AnchorStore(join(dir, 'data'));
    const a = await L.ArchiveService.init(join(dir, 'record.sqlite'), { hsm: { hsm, module: MODULE, token: 'Bench' }, name: 'Bench', actor: 'bench', anchors });
    const record = new L.ArchiveCeremonyRecord(a, MODULE, 'bench (cli)');

    // A run with five passphrase credentials (so the bundle has real approvals to check).
    const def = L.builtinDefinition('key-generation');
    const people = ['Ann', 'Ben', 'Cat', 'Wes', 'Ola'].map((name, i) => ({ person: `p${i}`, name, cred: L.enrolPassphrase(`bench passphrase ${name}`) }));
    const roles = [['custodian'], ['custodian'], ['custodian', 'administrator'], ['witness'], ['operator']];
    const plan = L.withFingerprint({
      run: crypto.randomUUID(),
      definition: { id: def.id, revision: def.revision, type: def.type, title: def.title, hash: L.definitionHash(def) },
      app: 'bench',
      practice: false,
      workstation: { archiveId: a.archiveId, name: 'Bench', token: { uri: 'pkcs11:token=Bench', label: 'Bench', serial: '1', model: 'SoftHSM v2', manufacturer: 'SoftHSM project' } },
      params: { keyType: 'aes-256', label: 'Bench key', usages: ['encrypt'], extractable: false, purpose: 'data-encryption', tags: [], custodians: [], keyIdHex: 'ab'.repeat(16) },
      participants: people.map((p, i) => ({ person: p.person, name: p.name, roles: roles[i], credential: { kind: 'passphrase', fingerprint: p.cred.fingerprint } })),
      previousBundle: null,
      amendment: 0,
    });
    const admin = { person: 'p2', name: 'Cat', role: 'administrator' };
    await record.createRun(def, [{ actor: admin, event: { type: 'run.planned', plan } }]);

    // ---- engine step vs bare FULL-sync insert ----
    const raw = new Database(join(dir, 'raw.sqlite'));
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = FULL');
    raw.exec('CREATE TABLE j (run TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, details TEXT NOT NULL, mac BLOB NOT NULL, PRIMARY KEY (run, seq)) STRICT');
    const ins = raw.prepare('INSERT INTO j VALUES (?, ?, ?, ?, ?, ?, ?)');
    let seq = 1;
    let rawSeq = 0;
    const event = (n) => ({ type: 'step.progress', step: 'check', outcome: { note: `bench entry ${n}`, padding: 'x'.repeat(200) } });
    const engineMs = [];
    const rawMs = [];
    for (let r = 0; r < ROUNDS; r++) {
      let t = performance.now();
      for (let i = 0; i < STEPS; i++) {
        await record.append(plan.run, seq, [{ actor: admin, event: event(seq) }]);
        seq++;
      }
      engineMs.push((performance.now() - t) / STEPS);
      t = performance.now();
      for (let i = 0; i < STEPS; i++) {
        rawSeq++;
        const details = JSON.stringify({ event: event(rawSeq), prev: crypto.randomBytes(32).toString('hex') });
        raw.transaction(() => ins.run(plan.run, rawSeq, new Date().toISOString(), JSON.stringify(admin), 'step.progress', details, crypto.randomBytes(32)))();
      }
      rawMs.push((performance.now() - t) / STEPS);
    }
    raw.close();
    const e = median(engineMs);
    const b = median(rawMs);
    console.log(`engine step (journal entry + audit entry + MAC and checkpoint in the HSM, FULL sync): ${e.toFixed(2)} ms/step (median of ${ROUNDS} rounds × ${STEPS})`);
    console.log(`bare SQLite insert, WAL, synchronous=FULL, one row per transaction:                ${b.toFixed(2)} ms/row`);
    console.log(`ratio: ${(e / b).toFixed(2)}×  (target ≤ 2×)  ${e / b <= 2 ? 'met' : 'NOT met'}`);
    // Where the time goes: the two HSM requests every commit makes (the row MAC, then the checkpoint
    // signature over a head that includes it), measured alone through the same client.
    const ref = a.keyRefs;
    const t0 = performance.now();
    for (let i = 0; i < STEPS; i++) {
      await hsm.call('sign', { path: MODULE, token: 'Bench', ref: { ...ref.mac, kind: 'secret' }, mechanism: 'hmac-sha256', data: [crypto.randomBytes(400)] });
      await hsm.call('sign', { path: MODULE, token: 'Bench', ref: { ...ref.audit, kind: 'private' }, mechanism: 'ecdsa-sha256', data: [crypto.randomBytes(200)] });
    }
    const h = (performance.now() - t0) / STEPS;
    console.log(`  of which the HSM requests alone (row MAC + checkpoint signature, SoftHSM2 through the host): ${h.toFixed(2)} ms;`);
    console.log(`  against a bare insert plus those two requests: ${(e / (b + h)).toFixed(2)}×`);

    // ---- bundle verification vs bare SHA-256 + ECDSA verify ----
    // A run the size of a real key generation: the plan, ~60 entries, three card-style approvals.
    const plan2 = L.withFingerprint({ ...plan, run: crypto.randomUUID(), fingerprint: undefined });
    delete plan2.fingerprint;
    const run2 = L.withFingerprint(plan2);
    await record.createRun(def, [{ actor: admin, event: { type: 'run.planned', plan: run2 } }]);
    let s2 = 1;
    for (let i = 0; i < 60; i++) await record.append(run2.run, s2++, [{ actor: admin, event: event(i) }]);
    const nonce = crypto.randomBytes(16).toString('hex');
    await record.append(run2.run, s2++, [{ actor: admin, event: { type: 'challenge.issued', step: 'generate', counter: 1, nonce, expiresAt: new Date(Date.now() + 9e5).toISOString() } }]);
    for (const p of people.slice(0, 3)) {
      const m = L.approvalMessage({ purpose: 'approve', run: run2.run, fingerprint: run2.fingerprint, step: 'generate', counter: 1, nonce, person: p.person, credential: p.cred.fingerprint });
      const signature = L.signWithPassphrase(p.cred, `bench passphrase ${p.name}`, m);
      await record.append(run2.run, s2++, [{ actor: { person: p.person, name: p.name, role: 'custodian' }, event: { type: 'approval.recorded', step: 'generate', person: p.person, role: 'custodian', credential: p.cred.fingerprint, counter: 1, nonce, fingerprint: run2.fingerprint, signature } }]);
    }
    const stored = record.loadRun(run2.run);
    const steps = L.resolveSteps(def, () => 2);
    const state = L.foldJournal(stored.entries, steps);
    const creds = new Map(people.map((p) => [p.cred.fingerprint, L.publicCredential(p.cred)]));
    const transcript = L.buildTranscript({ state: { ...state, status: 'completed', endedAt: new Date().toISOString() }, definition: def, journal: stored.entries, credentials: creds, record: { name: 'Bench', archiveId: a.archiveId, auditKey: a.workstation.audit_fingerprint } });
    const w = await L.writeBundle(join(dir, 'evidence'), { transcript, journal: stored.entries, subjects: ['key:Bench key'] }, record.signer());
    const files = readdirSync(w.path).filter((f) => f !== 'SHA256SUMS.sig');
    // What `openssl dgst -sha256 -verify audit-key.pem …` and `sha256sum -c` do: read the key, hash every file, verify once.
    const bareOnce = () => {
      const key = crypto.createPublicKey(readFileSync(join(w.path, 'audit-key.pem'), 'utf8'));
      for (const f of files) crypto.createHash('sha256').update(readFileSync(join(w.path, f))).digest();
      if (!crypto.verify('sha256', readFileSync(join(w.path, 'SHA256SUMS')), key, readFileSync(join(w.path, 'SHA256SUMS.sig')))) throw new Error('bare verify failed');
    };
    const pin = a.workstation.audit_fingerprint;
    const fullOnce = () => {
      if (!L.verifyBundle(w.path, { pin }).ok) throw new Error('bundle verify failed');
    };
    const vb = [];
    const vf = [];
    for (let r = 0; r < ROUNDS; r++) {
      let t = performance.now();
      for (let i = 0; i < VERIFY_N; i++) fullOnce();
      vf.push((performance.now() - t) / VERIFY_N);
      t = performance.now();
      for (let i = 0; i < VERIFY_N; i++) bareOnce();
      vb.push((performance.now() - t) / VERIFY_N);
    }
    const bytes = files.reduce((n, f) => n + readFileSync(join(w.path, f)).length, 0);
    const f1 = median(vf);
    const b1 = median(vb);
    console.log(`\nbundle: ${files.length + 1} files, ${(bytes / 1024).toFixed(0)} KiB, ${stored.entries.length} journal entries`);
    console.log(`verifyBundle (files, signature, manifest, journal chain, approvals): ${f1.toFixed(2)} ms`);
    console.log(`bare SHA-256 of every file + one ECDSA P-256 verify:               ${b1.toFixed(2)} ms`);
    console.log(`rate ratio: ${(b1 / f1).toFixed(2)}×  (target ≥ 0.5×)  ${b1 / f1 >= 0.5 ? 'met' : 'NOT met'}`);
    const sigs = 1 + 3;
    console.log(`  per signature checked (the bundle checks ${sigs}: the manifest's and 3 approvals; the bare loop 1): ${(b1 / (f1 / sigs)).toFixed(2)}×`);
    a.close();
  } finally {
    await hsm.close();
    if (process.env.BENCH_CEREMONY_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
