// The activity record (issue #9 part 3): what people do outside ceremonies is audited with the named
// person and role. Before a record exists entries wait in the pending journal and the set-up
// ceremony carries them into the record; with a production record an action needs a named,
// enrolled operator, and a refusal is audited too. Real CLI processes, real SoftHSM tokens, the
// real record.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PendingJournal } from '../../electron/services/activity/pending';
import { DIST, SOFTHSM_MODULE } from '../helpers/softhsm';
import { ceremonyFixture, runSetup, WS, type CeremonyFixture } from './ceremony-helpers';

const run = promisify(execFile);
const CLI = join(DIST, 'cli.cjs');

let f: CeremonyFixture;
let pinFile: string;
let wrongPinFile: string;

async function custos(args: string[], opts: { token?: string; pin?: string; env?: NodeJS.ProcessEnv } = {}) {
  const full = ['--module', SOFTHSM_MODULE, '--token', opts.token ?? WS.label, '--pin-file', opts.pin ?? pinFile, '--data-dir', f.dataDir, ...args];
  try {
    const r = await run(process.execPath, [CLI, ...full], { env: { ...f.fx.env, ...opts.env }, cwd: f.fx.dir, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

interface Entry {
  seq: number;
  actor: string;
  action: string;
  details: Record<string, unknown>;
}

async function auditEntries(): Promise<Entry[]> {
  const r = await custos(['audit', 'trail', '--archive', join(f.dataDir, 'archive.sqlite'), '--limit', '500', '--json']);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  const page = JSON.parse(r.stdout) as { entries: Entry[] };
  // The trail is newest first; these tests read it in the order things happened.
  return [...page.entries].sort((a, b) => a.seq - b.seq);
}

beforeAll(async () => {
  f = await ceremonyFixture('custos-activity-', undefined, { extraTokens: [{ label: 'Other', so: '12345678', user: '24682468' }] });
  pinFile = join(f.fx.dir, 'pin');
  writeFileSync(pinFile, `${WS.user}\n`);
  wrongPinFile = join(f.fx.dir, 'wrong-pin');
  writeFileSync(wrongPinFile, '99999999\n');
}, 60_000);
afterAll(async () => f?.close());

describe('the activity record', () => {
  it('before set-up: logins (also failed ones) and key generation wait in the pending journal, chained, with no PIN in them', async () => {
    expect((await custos(['key', 'generate', '--type', 'aes-256', '--label', 'Early key'])).code).toBe(0);
    const bad = await custos(['key', 'list'], { pin: wrongPinFile });
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toContain('PIN');
    // An operator named before there is a register of people is refused at the login, and that is noted too.
    const named = await custos(['key', 'generate', '--type', 'aes-256', '--label', 'Named early', '--operator', 'Otto Operator', '--json']);
    expect(named.code).toBe(11);
    expect(JSON.parse(named.stdout).error.code).toBe('RECORD_MISSING');

    const journal = new PendingJournal(f.dataDir);
    const read = journal.read();
    expect(read.brokenAt).toBeNull();
    expect(read.torn).toBe(false);
    const seen = read.entries.map((e) => `${e.action}:${e.details.outcome as string}${e.details.error ? `:${e.details.error as string}` : ''}`);
    expect(seen).toEqual(['token.login:ok', 'key.generate:ok', 'token.login:failed:PIN_INCORRECT', 'token.login:refused:RECORD_MISSING']);
    const gen = read.entries[1]!;
    expect(gen.details).toMatchObject({ label: 'Early key', type: 'aes-256', person: null, identified: 'none' });
    expect(gen.key_id).toMatch(/^[0-9a-f]{32}$/);
    expect(gen.actor).toMatch(/no person named$/);
    const text = readFileSync(journal.path, 'utf8');
    expect(text).not.toContain(WS.user);
    expect(text).not.toContain('99999999');
    // Only the owner may read it.
    const { statSync } = await import('node:fs');
    expect(statSync(journal.path).mode & 0o077).toBe(0);
  });

  it('the set-up ceremony carries the pending entries into the new record, once, in order, and removes the journal', async () => {
    await runSetup(f);
    expect(existsSync(join(f.dataDir, 'audit-pending.jsonl'))).toBe(false);
    const entries = await auditEntries();
    const carried = entries.filter((e) => typeof e.details.pending === 'string');
    expect(carried.map((e) => e.action)).toEqual(['token.login', 'key.generate', 'token.login', 'token.login']);
    const summary = entries.find((e) => e.action === 'audit.pending-carried')!;
    expect(summary.details).toMatchObject({ entries: 4, chain: 'whole', torn_last_line: false, unreadable_lines: 0 });
    // The carried entries come before the summary, which comes after the set-up's own entries began.
    expect(Math.max(...carried.map((e) => e.seq))).toBeLessThan(summary.seq);
  }, 120_000);

  it('with a production record, an action names an enrolled operator: none, an unknown name, a retired or role-less person are refused (and audited); nothing is made', async () => {
    const none = await custos(['key', 'generate', '--type', 'aes-256', '--label', 'Refused', '--json']);
    expect(none.code).toBe(10);
    expect(JSON.parse(none.stdout).error).toMatchObject({ code: 'OPERATOR_REQUIRED' });
    expect(JSON.parse(none.stdout).error.action).toContain('--operator');

    const unknown = await custos(['key', 'generate', '--type', 'aes-256', '--label', 'Refused', '--operator', 'Mallory', '--json']);
    expect(JSON.parse(unknown.stdout).error.code).toBe('PERSON_NOT_FOUND');

    const custodian = await custos(['key', 'generate', '--type', 'aes-256', '--label', 'Refused', '--json'], { env: { CUSTOS_OPERATOR: 'Ann Archer' } });
    expect(JSON.parse(custodian.stdout).error.code).toBe('ROLE_MISSING');

    const keys = JSON.parse((await custos(['key', 'list', '--json', '--operator', 'Otto Operator'])).stdout) as Array<{ label: string }>;
    expect(keys.map((k) => k.label)).not.toContain('Refused');

    const entries = await auditEntries();
    const refusals = entries.filter((e) => e.action === 'token.login' && e.details.outcome === 'refused').map((e) => e.details.error);
    expect(refusals).toEqual(expect.arrayContaining(['OPERATOR_REQUIRED', 'PERSON_NOT_FOUND', 'ROLE_MISSING']));
  }, 120_000);

  it('names the person and role on every recorded action: login, generate, relabel, CSR, wrap, destroy; the OS user stays a detail', async () => {
    const as = ['--operator', 'Otto Operator'];
    expect((await custos(['key', 'generate', '--type', 'ec-p256', '--label', 'Signer', ...as])).code).toBe(0);
    expect((await custos(['key', 'generate', '--type', 'aes-256', '--label', 'Wrapper', '--usage', 'wrap', ...as])).code).toBe(0);
    expect((await custos(['key', 'generate', '--type', 'aes-128', '--label', 'Payload', '--extractable', ...as])).code).toBe(0);
    expect((await custos(['key', 'csr', '--key', 'Signer', '--subject', 'CN=Test', '--out', join(f.fx.dir, 'req.pem'), ...as])).code).toBe(0);
    expect((await custos(['wrap', '--wrapping-key', 'Wrapper', '--key', 'Payload', '--mechanism', 'aes-kwp', '--out', join(f.fx.dir, 'w.bin'), ...as])).code).toBe(0);
    expect((await custos(['key', 'relabel', '--key', 'Payload', '--label', 'Payload v2', ...as])).code).toBe(0);
    expect((await custos(['key', 'destroy', '--key', 'Payload v2', '--confirm', 'Payload v2', ...as])).code).toBe(0);

    const entries = await auditEntries();
    const mine = entries.filter((e) => e.details.person && e.details.outcome === 'ok' && !e.details.pending);
    const actions = new Set(mine.map((e) => e.action));
    for (const a of ['token.login', 'key.generate', 'key.csr', 'key.wrap', 'key.relabel', 'key.destroy']) expect(actions, a).toContain(a);
    for (const e of mine) {
      expect(e.actor).toBe('Otto Operator (operator)');
      expect(e.details).toMatchObject({ roles: ['operator'], identified: 'stated' });
      expect(e.details.os_user).toMatch(/\(cli\)$/);
    }
    const destroyed = mine.find((e) => e.action === 'key.destroy')!;
    expect(destroyed.details).toMatchObject({ label: 'Payload v2', objects: 1 });
    // Nothing waits: the record's token was logged in for each of these.
    expect(existsSync(join(f.dataDir, 'audit-pending.jsonl'))).toBe(false);
    // And the record still verifies with every one of them in its chain.
    const v = await custos(['archive', 'verify', '--archive', join(f.dataDir, 'archive.sqlite'), '--json', ...as]);
    expect(JSON.parse(v.stdout).ok, v.stdout).toBe(true);
  }, 180_000);

  it("refuses to destroy or relabel the workstation's own keys from the key tools; the refusal is recorded and the archive still verifies", async () => {
    const as = ['--operator', 'Otto Operator'];
    const keys = JSON.parse((await custos(['key', 'list', '--json', ...as])).stdout) as Array<{ label: string }>;
    const kek = keys.find((k) => k.label.startsWith('custos-archive-kek/'))!.label;
    const destroy = await custos(['key', 'destroy', '--key', kek, '--confirm', kek, '--json', ...as]);
    expect(JSON.parse(destroy.stdout).error.code).toBe('KEY_PROTECTED');
    const relabel = await custos(['key', 'relabel', '--key', kek, '--label', 'harmless', '--json', ...as]);
    expect(JSON.parse(relabel.stdout).error.code).toBe('KEY_PROTECTED');
    const squat = await custos(['key', 'generate', '--type', 'aes-256', '--label', 'custos-archive-kek/forged', '--json', ...as]);
    expect(JSON.parse(squat.stdout).error.code).toBe('INVALID_INPUT');
    const after = JSON.parse((await custos(['key', 'list', '--json', ...as])).stdout) as Array<{ label: string }>;
    expect(after.map((k) => k.label)).toContain(kek);
    const refused = (await auditEntries()).filter((e) => e.action === 'key.destroy' && e.details.error === 'KEY_PROTECTED');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.details).toMatchObject({ outcome: 'failed', person: expect.any(String) });
    const v = await custos(['archive', 'verify', '--archive', join(f.dataDir, 'archive.sqlite'), '--json', ...as]);
    expect(JSON.parse(v.stdout).ok, v.stdout).toBe(true);
  }, 120_000);

  it('share splits and checks are recorded too: a custodian checks their own share by name; the words never reach the journal', async () => {
    const secret = join(f.fx.dir, 'secret.hex');
    writeFileSync(secret, `${'ab'.repeat(32)}\n`);
    const record = join(f.fx.dir, 'set.json');
    const noOne = await custos(['shares', 'split', '--threshold', '2', '--shares', '3', '--secret-file', secret, '--record-out', record, '--json']);
    expect(JSON.parse(noOne.stdout).error.code).toBe('OPERATOR_REQUIRED');
    const split = await custos(['shares', 'split', '--threshold', '2', '--shares', '3', '--holders', 'Ann Archer,Ben Baker,Cat Cole', '--secret-file', secret, '--record-out', record, '--json', '--operator', 'Otto Operator']);
    expect(split.code, split.stdout).toBe(0);
    const words = (JSON.parse(split.stdout) as { shares: Array<{ mnemonic: string }> }).shares.map((x) => x.mnemonic);
    // Ann checks her own share alone, typed on standard input.
    const r = spawnSync(process.execPath, [CLI, '--data-dir', f.dataDir, '--operator', 'Ann Archer', '--json', 'shares', 'verify', '--record', record, '--holder', 'Ann Archer'], { env: f.fx.env, cwd: f.fx.dir, input: `${words[0]}\n`, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const waiting = new PendingJournal(f.dataDir).read().entries;
    const verify = waiting.find((e) => e.action === 'shares.verify')!;
    expect(verify.actor).toBe('Ann Archer (custodian)');
    expect(verify.details).toMatchObject({ outcome: 'ok', holder: 'Ann Archer', position: expect.any(String) });
    expect(waiting.map((e) => e.action)).toEqual(expect.arrayContaining(['shares.split', 'shares.verify']));
    const text = readFileSync(join(f.dataDir, 'audit-pending.jsonl'), 'utf8');
    for (const w of words) expect(text).not.toContain(w.split(' ').slice(0, 3).join(' '));
    expect(text).not.toContain('ab'.repeat(32));
    // The next write to the record carries them over.
    expect((await custos(['key', 'list', '--operator', 'Otto Operator'])).code).toBe(0);
    const carried = (await auditEntries()).filter((e) => e.action === 'shares.verify');
    expect(carried.at(-1)!.details).toMatchObject({ person: expect.any(String), roles: ['custodian'] });
  }, 120_000);

  it('an action on another token waits in the pending journal, and the next write to the record brings it over', async () => {
    const otherPin = join(f.fx.dir, 'other-pin');
    writeFileSync(otherPin, '24682468\n');
    const as = ['--operator', 'Otto Operator'];
    expect((await custos(['key', 'generate', '--type', 'aes-256', '--label', 'Elsewhere', ...as], { token: 'Other', pin: otherPin })).code).toBe(0);
    const waiting = new PendingJournal(f.dataDir).read().entries;
    expect(waiting.map((e) => e.action)).toEqual(['token.login', 'key.generate']);
    expect(waiting[1]!.actor).toBe('Otto Operator (operator)');

    expect((await custos(['key', 'generate', '--type', 'aes-256', '--label', 'Here', ...as])).code).toBe(0);
    expect(existsSync(join(f.dataDir, 'audit-pending.jsonl'))).toBe(false);
    const entries = await auditEntries();
    const elsewhere = entries.find((e) => e.action === 'key.generate' && e.details.label === 'Elsewhere')!;
    expect(elsewhere.details).toMatchObject({ pending: waiting[1]!.id, pending_at: waiting[1]!.at });
    expect(elsewhere.details.token).toMatch(/;token=Other$/);
    // No lock file or temporary file is left in the data folder.
    expect(readdirSync(f.dataDir).filter((n) => /pending|lock$/.test(n) && n !== 'custos.lock')).toEqual([]);
  }, 120_000);
});
