// The `custos` CLI (dist/cli.cjs) as a user runs it, against SoftHSM2 tokens made with softhsm2-util.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SlotEntry, TokenListing } from '../../shared/contract';
import type { AppError } from '../../shared/result';
import { DIST, requireBuild, SOFTHSM_MODULE, softhsm, type SoftHsmFixture } from '../helpers/softhsm';

const CLI = join(DIST, 'cli.cjs');
const LIBZ = '/usr/lib/x86_64-linux-gnu/libz.so.1';
const USER_PIN = '735194';
const SO_PIN = '62840175';
const WRONG_PIN = '318862';
const LABEL = 'Alpha';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.cjs ...args`; stdin gets `input` and is then closed (never a TTY). */
function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: opts.env ?? fx.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`custos ${args.join(' ')} did not finish within 20 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

const jsonError = (r: Run): AppError => (JSON.parse(r.stdout) as { error: AppError }).error;
const noSecrets = (r: Run, ...secrets: string[]) => {
  for (const s of secrets) {
    expect(r.stdout).not.toContain(s);
    expect(r.stderr).not.toContain(s);
  }
};

let fx: SoftHsmFixture;
let pinFile: string;

beforeEach(() => {
  requireBuild();
  fx = softhsm('custos-cli-');
  fx.initToken(LABEL, { so: SO_PIN, user: USER_PIN });
  pinFile = join(fx.dir, 'pin.txt');
  writeFileSync(pinFile, `${USER_PIN}\n`, { mode: 0o600 });
});

afterEach(() => {
  fx.cleanup();
});

describe('custos tokens', () => {
  it('tokens --module M --json lists the token with label, serial, URI and flags', async () => {
    const r = await cli(['tokens', '--module', SOFTHSM_MODULE, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const listing = JSON.parse(r.stdout) as TokenListing;
    expect(listing.modules).toHaveLength(1);
    expect(listing.modules[0]).toMatchObject({ path: SOFTHSM_MODULE, status: 'loaded', library: { manufacturer: 'SoftHSM' } });
    const alpha = listing.slots.find((s) => s.token?.label === LABEL);
    expect(alpha).toBeDefined();
    const t = alpha!.token!;
    expect(alpha!.module).toBe(SOFTHSM_MODULE);
    expect(t.serial).toMatch(/^[0-9a-f]{16}$/);
    expect(t.uri).toBe(`pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=${t.serial};token=${LABEL}`);
    expect(t.flags).toMatchObject({ initialized: true, userPinInitialized: true, loginRequired: true, userPinLocked: false, userPinCountLow: false });
    expect(t).toMatchObject({ manufacturer: 'SoftHSM project', model: 'SoftHSM v2', loggedIn: null, demo: false, minPinLength: 4 });
    // The serial is the one SoftHSM itself reports.
    const { execFileSync } = await import('node:child_process');
    const shown = execFileSync('softhsm2-util', ['--show-slots'], { env: fx.env, encoding: 'utf8' });
    expect(shown).toContain(t.serial);
    expect(r.stderr).toBe('');
  });

  it('tokens --module M prints a readable listing', async () => {
    const r = await cli(['tokens', '--module', SOFTHSM_MODULE]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`module ${SOFTHSM_MODULE}`);
    expect(r.stdout).toContain(`token "${LABEL}"`);
    expect(r.stdout).toMatch(/uri pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=[0-9a-f]{16};token=Alpha/);
  });

  it('tokens without --module uses the modules configured in the data folder', async () => {
    const { mkdirSync } = await import('node:fs');
    const dataDir = fx.env.CUSTOS_DATA_DIR!;
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ version: 1, modules: [SOFTHSM_MODULE], demo: false }));
    const r = await cli(['tokens', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const listing = JSON.parse(r.stdout) as TokenListing;
    expect(listing.slots.some((s) => s.token?.label === LABEL)).toBe(true);
  });
});

describe('custos login', () => {
  it('login --module M --token LABEL --pin-file F exits 0, and the PIN never appears', async () => {
    const r = await cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL, '--pin-file', pinFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Logged in to "Alpha" as user; the PIN is correct/);
    noSecrets(r, USER_PIN);
  });

  it('login with --json reports the token and role', async () => {
    const r = await cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL, '--pin-file', pinFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const value = JSON.parse(r.stdout) as { token: NonNullable<SlotEntry['token']>; loggedIn: string };
    expect(value.loggedIn).toBe('user');
    expect(value.token.label).toBe(LABEL);
    noSecrets(r, USER_PIN);
  });

  it('the right PIN on stdin works; a pin file with CRLF works', async () => {
    const viaStdin = await cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL], { input: `${USER_PIN}\n` });
    expect(viaStdin.code, viaStdin.stderr).toBe(0);
    noSecrets(viaStdin, USER_PIN);
    const crlf = join(fx.dir, 'pin-crlf.txt');
    writeFileSync(crlf, `${USER_PIN}\r\n`);
    const viaCrlf = await cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL, '--pin-file', crlf]);
    expect(viaCrlf.code, viaCrlf.stderr).toBe(0);
  });

  it('login --so checks the SO PIN', async () => {
    const soFile = join(fx.dir, 'so-pin.txt');
    writeFileSync(soFile, SO_PIN);
    const r = await cli(['login', '--so', '--module', SOFTHSM_MODULE, '--token', LABEL, '--pin-file', soFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { loggedIn: string }).loggedIn).toBe('so');
    noSecrets(r, SO_PIN);
  });

  it('a wrong PIN on stdin exits 5 with PIN_INCORRECT (--json), and the PIN never appears', async () => {
    const r = await cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL, '--json'], { input: `${WRONG_PIN}\n` });
    expect(r.code).toBe(5);
    const e = jsonError(r);
    expect(e.code).toBe('PIN_INCORRECT');
    expect(e.details).toMatchObject({ ckr: 'CKR_PIN_INCORRECT', triesLeft: 'low' });
    noSecrets(r, WRONG_PIN, USER_PIN);
  });

  it('a wrong PIN without --json exits 5 with a readable error on stderr', async () => {
    const r = await cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL], { input: WRONG_PIN });
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: The PIN is not correct/);
    expect(r.stderr).toContain('what to do:');
    noSecrets(r, WRONG_PIN, USER_PIN);
  });

  it('--token by PKCS#11 URI works (full URI from the listing, and a token= only URI)', async () => {
    const listing = JSON.parse((await cli(['tokens', '--module', SOFTHSM_MODULE, '--json'])).stdout) as TokenListing;
    const uri = listing.slots.find((s) => s.token?.label === LABEL)!.token!.uri;
    const full = await cli(['login', '--module', SOFTHSM_MODULE, '--token', uri, '--pin-file', pinFile, '--json']);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    expect((JSON.parse(full.stdout) as { token: { uri: string } }).token.uri).toBe(uri);
    const short = await cli(['login', '--module', SOFTHSM_MODULE, '--token', 'pkcs11:token=Alpha', '--pin-file', pinFile]);
    expect(short.code, short.stdout + short.stderr).toBe(0);
  });

  it('two tokens with the same label → exit 4 TOKEN_AMBIGUOUS; the serial in the URI picks one', async () => {
    fx.initToken(LABEL, { so: SO_PIN, user: USER_PIN });
    const r = await cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL, '--pin-file', pinFile, '--json']);
    expect(r.code).toBe(4);
    expect(jsonError(r).code).toBe('TOKEN_AMBIGUOUS');
    const listing = JSON.parse((await cli(['tokens', '--module', SOFTHSM_MODULE, '--json'])).stdout) as TokenListing;
    const serial = listing.slots.find((s) => s.token?.label === LABEL)!.token!.serial;
    const one = await cli(['login', '--module', SOFTHSM_MODULE, '--token', `pkcs11:token=Alpha;serial=${serial}`, '--pin-file', pinFile]);
    expect(one.code, one.stderr).toBe(0);
  });

  it('an unknown token → exit 4, TOKEN_NOT_FOUND', async () => {
    const r = await cli(['login', '--module', SOFTHSM_MODULE, '--token', 'Nope', '--pin-file', pinFile, '--json']);
    expect(r.code).toBe(4);
    expect(jsonError(r).code).toBe('TOKEN_NOT_FOUND');
    const byUri = await cli(['login', '--module', SOFTHSM_MODULE, '--token', 'pkcs11:token=Alpha;serial=0000000000000000', '--pin-file', pinFile]);
    expect(byUri.code).toBe(4);
    noSecrets(byUri, USER_PIN);
  });

  it('a missing module → exit 3 (MODULE_NOT_FOUND); a non-PKCS#11 library → exit 3 (MODULE_INVALID)', async () => {
    const [missing, invalid, text] = await Promise.all([
      cli(['login', '--module', join(fx.dir, 'nope.so'), '--token', LABEL, '--pin-file', pinFile, '--json']),
      cli(['tokens', '--module', LIBZ, '--json']),
      cli(['tokens', '--module', join(fx.dir, 'nope.so')]),
    ]);
    expect(missing.code).toBe(3);
    expect(jsonError(missing).code).toBe('MODULE_NOT_FOUND');
    expect(invalid.code).toBe(3);
    expect(jsonError(invalid).code).toBe('MODULE_INVALID');
    expect(text.code).toBe(3);
    expect(text.stderr).toContain('error: There is no PKCS#11 module');
  });

  it('SoftHSM whose SOFTHSM2_CONF is missing → exit 3 (MODULE_INIT_FAILED)', async () => {
    const r = await cli(['tokens', '--module', SOFTHSM_MODULE, '--json'], { env: { ...fx.env, SOFTHSM2_CONF: join(fx.dir, 'missing.conf') } });
    expect(r.code).toBe(3);
    expect(jsonError(r).code).toBe('MODULE_INIT_FAILED');
  });

  it('a PIN is never accepted as an argument: --pin / a positional PIN → usage error, exit 2', async () => {
    const [flag, positional, global] = await Promise.all([
      cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL, '--pin', USER_PIN]),
      cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL, USER_PIN]),
      cli(['--pin', USER_PIN, 'login', '--module', SOFTHSM_MODULE, '--token', LABEL]),
    ]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--pin'");
    noSecrets(flag, USER_PIN);
    expect(positional.code).toBe(2);
    noSecrets(positional, USER_PIN);
    expect(global.code).toBe(2);
    noSecrets(global, USER_PIN);
  });

  it('--pin=VALUE is refused with a usage error, exit 2', async () => {
    const r = await cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL, `--pin=${USER_PIN}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown option');
  });

  it('--pin=VALUE does not echo the PIN', async () => {
    const r = await cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL, `--pin=${USER_PIN}`]);
    noSecrets(r, USER_PIN); // today: "error: unknown option '--pin=735194'"
  });

  it('an empty pin file → exit 2 (INVALID_INPUT); so is an unreadable one and empty stdin', async () => {
    const empty = join(fx.dir, 'empty.txt');
    writeFileSync(empty, '');
    const newlineOnly = join(fx.dir, 'newline.txt');
    writeFileSync(newlineOnly, '\n');
    const [r, nl, absent, stdin] = await Promise.all([
      cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL, '--pin-file', empty, '--json']),
      cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL, '--pin-file', newlineOnly]),
      cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL, '--pin-file', join(fx.dir, 'absent.txt')]),
      cli(['login', '--module', SOFTHSM_MODULE, '--token', LABEL], { input: '' }),
    ]);
    expect(r.code).toBe(2);
    expect(jsonError(r).code).toBe('INVALID_INPUT');
    expect([nl.code, absent.code, stdin.code]).toEqual([2, 2, 2]);
  });

  it('no --token → exit 2 (INVALID_INPUT)', async () => {
    const r = await cli(['login', '--module', SOFTHSM_MODULE, '--pin-file', pinFile, '--json']);
    expect(r.code).toBe(2);
    expect(jsonError(r).code).toBe('INVALID_INPUT');
  });

  it('no module configured and no --module → exit 3, MODULE_NOT_CONFIGURED', async () => {
    const list = await cli(['tokens', '--json']);
    expect(list.code).toBe(3);
    expect(jsonError(list).code).toBe('MODULE_NOT_CONFIGURED');
    const login = await cli(['login', '--token', LABEL, '--pin-file', pinFile]);
    expect(login.code).toBe(3);
    expect(login.stderr).toContain('No PKCS#11 module is configured');
    noSecrets(login, USER_PIN);
  });

  it('unknown commands and --help', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--pin-file');
  });
});
