// The bad-input table's fixture: one SoftHSM token with a few keys, an archive with one archived
// version, a share set and its record, XOR components, and files a user might name by mistake
// (folders, /dev/zero, keys of unsupported types). Made once; every case reads it and none may
// change it. Also a small pool that runs the built CLI in parallel batches.
import { spawn } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, requireBuild, SOFTHSM_MODULE, softhsm, type SoftHsmFixture } from '../helpers/softhsm';

export const CLI = join(DIST, 'cli.cjs');
export const USER_PIN = '246810';
export const SO_PIN = '13579135';
export const TOKEN = 'BadIn';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** One `node dist/cli.cjs …`, stdin given then closed (never a terminal); killed after `timeoutMs`. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, input: string | Buffer = '', timeoutMs = 30_000): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    // The CLI may stop reading early (a capped input): a closed pipe is not the test's failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** Runs `jobs` in `width` lanes (the machine is shared: a few CLI processes at once); each job is told its lane. */
export async function inBatches<T>(jobs: Array<(lane: number) => Promise<T>>, width: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, jobs.length) }, async (_, lane) => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!(lane);
      }
    }),
  );
  return out;
}

export interface Fixture {
  fx: SoftHsmFixture;
  dir: string;
  env: NodeJS.ProcessEnv;
  /**
   * One environment per parallel lane, each with its own copy of the token's files (same token:
   * label, serial, keys). SoftHSM rewrites its token file at every login, and a process that lists
   * the slots while another rewrites it may find no token; real tokens keep that state inside.
   */
  lanes: NodeJS.ProcessEnv[];
  /** --module, --token, --pin-file: a logged-in command on the fixture token. */
  hsm: string[];
  file: (name: string) => string;
  archive: string;
  record: string;
  otherRecord: string;
  mnemonics: string[];
  otherMnemonic: string;
  components: { hex: string[]; kcvs: string[]; kcv: string };
  bundle: string;
  /** Everything a refused case must leave alone: the token's keys, and each file with its mode and digest. */
  snapshot(): Promise<string[]>;
  cleanup(): void;
}

async function ok(f: { env: NodeJS.ProcessEnv }, args: string[], input = ''): Promise<unknown> {
  const r = await runCli(['--json', ...args], f.env, input);
  if (r.code !== 0) throw new Error(`fixture step failed: custos ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as unknown;
}

const pem = (k: { export(o: { format: 'pem'; type: 'spki' }): string | Buffer }) => k.export({ format: 'pem', type: 'spki' }).toString();

/** An RSA public key of `bits` bits. Only its shape matters to an import, so no primes are searched for. */
function rsaPublicPem(bits: number): string {
  const n = randomBytes(bits / 8);
  n[0]! |= 0x80;
  n[n.length - 1]! |= 1;
  return pem(createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' }, format: 'jwk' }));
}

export async function makeFixture(width = 4): Promise<Fixture> {
  requireBuild();
  const fx = softhsm('custos-badinput-');
  fx.initToken(TOKEN, { so: SO_PIN, user: USER_PIN });
  const dir = fx.dir;
  const file = (name: string) => join(dir, name);
  const w = (name: string, data: string | Buffer, mode = 0o600) => {
    writeFileSync(file(name), data, { mode });
    return file(name);
  };
  w('pin', `${USER_PIN}\n`);
  w('so-pin', `${SO_PIN}\n`);
  w('pin-wrong', '999999\n');
  w('pin-short', '12\n');
  w('pin-long', `${'7'.repeat(300)}\n`);
  w('pin-empty', '');
  w('pin-new-short', '1\n');
  w('data.bin', 'ceremony transcript\n');
  w('notes.txt', 'custodian notes\n');
  w('empty', '');
  w('garbage.bin', randomBytes(100));
  w('short.bin', randomBytes(10));
  w('secret.hex', '00112233445566778899aabbccddeeff\n');
  w('secret-15.hex', '00112233445566778899aabbccddee\n');
  w('secret-odd.hex', '0011223\n');
  w('secret-nothex.txt', 'zz112233445566778899aabbccddeeff\n');
  w('key-16.hex', '0123456789abcdef0123456789abcdef\n');
  w('key-zero.hex', '00'.repeat(16) + '\n');
  w('pass', 'TREZOR\n');
  w('pass-empty', '\n');
  w('garbage.json', '{"format": "custos.shareset", "version": 99}');
  w('not-json.txt', 'this is not json');
  w('sealed-garbage.json', '{"format":"custos.sealedshare","version":1}');
  w('definition-bad.yaml', 'format: custos.ceremony-definition\nformatVersion: 1\nid: "x"\n');
  w('params-bad.yaml', '- a\n- b\n');
  w('bundle-garbage', 'not a bundle\n');
  mkdirSync(file('folder'));
  mkdirSync(file('empty-data'));

  // Public keys a custodian might be handed.
  w('rsa1024.pem', rsaPublicPem(1024));
  w('rsa2048.pem', rsaPublicPem(2048));
  w('rsa16384.pem', rsaPublicPem(16384));
  w('rsa512.pem', rsaPublicPem(512));
  const ec = (curve: string) => pem(generateKeyPairSync('ec', { namedCurve: curve }).publicKey);
  w('p256.pem', ec('prime256v1'));
  w('p521.pem', ec('secp521r1'));
  w('brainpool.pem', ec('brainpoolP256r1'));
  w('secp256k1.pem', ec('secp256k1'));
  w('x25519.pem', pem(generateKeyPairSync('x25519').publicKey));
  w('ed448.pem', pem(generateKeyPairSync('ed448').publicKey));
  w('dsa.pem', pem(generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).publicKey));
  const priv = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  w('private.pem', priv.export({ format: 'pem', type: 'pkcs8' }).toString());
  w('oct.jwk', JSON.stringify({ kty: 'oct', k: randomBytes(32).toString('base64url') }));
  w('ec-private.jwk', JSON.stringify(priv.export({ format: 'jwk' })));
  w('rsa-pkcs1.pem', createPublicKey(readFileSync(file('rsa2048.pem'))).export({ format: 'pem', type: 'pkcs1' }).toString());

  const env = { ...fx.env };
  const hsm = ['--module', SOFTHSM_MODULE, '--token', TOKEN, '--pin-file', file('pin')];
  const f = { env };
  // Keys: each refused case names one of these.
  await ok(f, [...hsm, 'key', 'generate', '--type', 'aes-256', '--label', 'dek', '--extractable']);
  await ok(f, [...hsm, 'key', 'generate', '--type', 'aes-128', '--label', 'kek128', '--usage', 'wrap', '--extractable']);
  await ok(f, [...hsm, 'key', 'generate', '--type', 'aes-256', '--label', 'kek256', '--usage', 'wrap']);
  await ok(f, [...hsm, 'key', 'generate', '--type', 'tdes', '--label', 'tdes', '--usage', 'wrap', '--extractable']);
  await ok(f, [...hsm, 'key', 'generate', '--type', 'aes-256', '--label', 'fixed']);
  await ok(f, [...hsm, 'key', 'generate', '--type', 'ec-p256', '--label', 'ec']);
  await ok(f, [...hsm, 'key', 'generate', '--type', 'rsa-2048', '--label', 'rsa', '--usage', 'wrap,encrypt', '--extractable']);
  await ok(f, [...hsm, 'key', 'import-public', '--file', file('rsa2048.pem'), '--label', 'kms2048']);
  await ok(f, [...hsm, 'key', 'import-public', '--file', file('rsa1024.pem'), '--label', 'old1024', '--usage', 'sign']);

  // An archive with one version, and a bundle of it.
  const archive = file('archive.custos');
  await ok(f, [...hsm, 'archive', 'init', '--archive', archive, '--name', 'Bad input']);
  await ok(f, [...hsm, 'archive', 'add', '--archive', archive, '--key', 'dek', '--purpose', 'data-encryption', '--activate']);
  const bundle = file('bundle.jsonl');
  await ok(f, [...hsm, 'archive', 'export', '--archive', archive, '--out', bundle]);

  // A share set (2 of 3) with its record, and a second set to mix in by mistake.
  const split = (await ok(f, ['shares', 'split', '--threshold', '2', '--shares', '3', '--holders', 'Ann,Ben,Cat', '--secret-file', file('secret.hex'), '--iteration-exponent', '0', '--record-out', file('record.json')])) as { shares: Array<{ mnemonic: string }> };
  const other = (await ok(f, ['shares', 'split', '--threshold', '2', '--shares', '2', '--secret-file', file('secret.hex'), '--iteration-exponent', '0', '--record-out', file('other-record.json')])) as { shares: Array<{ mnemonic: string }> };
  const comps = (await ok(f, ['components', 'split', '--count', '2', '--key-file', file('key-16.hex'), '--algorithm', 'aes'])) as {
    key: { checkValues: { cmac: string } };
    components: Array<{ hex: string; checkValues: { cmac: string } }>;
  };

  const lanes = Array.from({ length: width }, (_, i) => {
    const laneDir = join(dir, 'lanes', String(i));
    cpSync(join(dir, 'tokens'), join(laneDir, 'tokens'), { recursive: true });
    const conf = join(laneDir, 'softhsm2.conf');
    writeFileSync(conf, readFileSync(fx.conf, 'utf8').replace(join(dir, 'tokens'), join(laneDir, 'tokens')));
    return { ...env, SOFTHSM2_CONF: conf };
  });

  // A read-only SQLite connection that closes last cannot remove the archive's -wal and -shm files
  // (sqlite.org/wal.html §"Read-Only Databases"): an empty -wal holds nothing and the -shm is an index
  // SQLite rebuilds, so neither is a change. An empty -wal is listed as an absent one.
  const housekeeping = (p: string, size: number) => p.endsWith('-shm') || (p.endsWith('-wal') && size === 0);
  const digestTree = (root: string, skip: (name: string) => boolean): string[] => {
    const out: string[] = [];
    for (const name of readdirSync(root).sort()) {
      if (skip(name)) continue;
      const p = join(root, name);
      // The pending audit journal records every refused login and action (issue #9 part 3): it is
      // expected to grow, and the test checks that it only grew (appendOnly below).
      if (name === 'audit-pending.jsonl') continue;
      const st = statSync(p);
      if (housekeeping(p, st.size)) continue;
      if (st.isDirectory()) out.push(...digestTree(p, () => false).map((x) => `${name}/${x}`));
      else out.push(`${name} ${st.mode.toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
    return out;
  };

  return {
    fx,
    dir,
    env,
    lanes,
    hsm,
    file,
    archive,
    record: file('record.json'),
    otherRecord: file('other-record.json'),
    mnemonics: split.shares.map((s) => s.mnemonic),
    otherMnemonic: other.shares[0]!.mnemonic,
    components: { hex: comps.components.map((c) => c.hex), kcvs: comps.components.map((c) => c.checkValues.cmac), kcv: comps.key.checkValues.cmac },
    bundle,
    async snapshot() {
      // The token's objects as the CLI lists them, every file the cases may touch (the archive and
      // its -wal, the data folder, records, the bundle), and nothing that a case may create on success.
      const listed: string[] = [];
      for (const [i, e] of [env, ...lanes].entries()) {
        const keys = await runCli(['--json', ...hsm, 'key', 'list'], e);
        listed.push(...(JSON.parse(keys.stdout) as Array<{ label: string; idHex: string; kind: string }>).map((k) => `token ${i}: ${k.label} ${k.idHex} ${k.kind}`).sort());
      }
      return [...listed, ...digestTree(dir, (name) => name === 'tokens' || name === 'lanes')];
    },
    cleanup: () => fx.cleanup(),
  };
}

export const exists = existsSync;
