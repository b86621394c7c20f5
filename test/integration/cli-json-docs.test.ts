// docs/CLI.md documents every `--json` output with an example block marked `<!-- json: NAME -->`.
// This test runs each command against a SoftHSM token and compares its output with the block: the
// same fields at every level, of the same JSON types (`null` on either side stands for any value;
// an empty object `{}` for a free-form one; an array's elements are compared with the first
// documented element). A field added to an output and not to the docs, or the other way round, fails.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, SOFTHSM_MODULE, softhsm, type SoftHsmFixture } from '../helpers/softhsm';
import { runCli } from './cli-badinput-helpers';

const PIN = '864213';

/** Every `<!-- json: NAME -->` block of docs/CLI.md, parsed. */
function documentedShapes(markdown: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const m of markdown.matchAll(/<!-- json: ([^>]+?) -->\s*```json\n([\s\S]*?)```/g)) {
    const name = m[1]!.trim();
    if (out.has(name)) throw new Error(`docs/CLI.md documents "${name}" twice`);
    try {
      out.set(name, JSON.parse(m[2]!));
    } catch (e) {
      throw new Error(`the "${name}" block of docs/CLI.md is not JSON: ${(e as Error).message}`);
    }
  }
  return out;
}

/** Where `actual` differs in shape from the documented example `doc`. */
function shapeDiff(doc: unknown, actual: unknown, path = '$', out: string[] = []): string[] {
  if (doc === null || actual === null) return out;
  const kind = (v: unknown) => (Array.isArray(v) ? 'array' : typeof v);
  if (kind(doc) !== kind(actual)) {
    out.push(`${path}: documented as ${kind(doc)}, printed as ${kind(actual)}`);
    return out;
  }
  if (Array.isArray(doc)) {
    const items = actual as unknown[];
    if (doc.length === 0 && items.length > 0) out.push(`${path}: documented empty, printed with elements`);
    if (doc.length > 0) items.forEach((x, i) => shapeDiff(doc[0], x, `${path}[${i}]`, out));
    return out;
  }
  if (typeof doc === 'object') {
    const d = doc as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    if (Object.keys(d).length === 0) return out; // free-form
    for (const k of Object.keys(d)) if (!(k in a)) out.push(`${path}.${k}: documented, not printed`);
    for (const k of Object.keys(a)) if (!(k in d)) out.push(`${path}.${k}: printed, not documented`);
    for (const k of Object.keys(d)) if (k in a) shapeDiff(d[k], a[k], `${path}.${k}`, out);
  }
  return out;
}

let fx: SoftHsmFixture;
let docs: Map<string, unknown>;
const file = (name: string) => join(fx.dir, name);

beforeAll(() => {
  docs = documentedShapes(readFileSync(join(ROOT, 'docs/CLI.md'), 'utf8'));
  fx = softhsm('custos-json-docs-');
  fx.initToken('Docs', { user: PIN });
  fx.initToken('Other', { user: PIN });
  writeFileSync(file('pin'), `${PIN}\n`);
  writeFileSync(file('short-pin'), '123\n');
  writeFileSync(file('minutes.txt'), 'ceremony minutes\n');
  writeFileSync(file('secret.hex'), '00112233445566778899aabbccddeeff\n');
  writeFileSync(file('key.hex'), '0123456789abcdef0123456789abcdef\n');
  writeFileSync(file('kms.pem'), generateKeyPairSync('rsa', { modulusLength: 3072 }).publicKey.export({ format: 'pem', type: 'spki' }));
  mkdirSync(file('defs'));
});
afterAll(() => fx?.cleanup());

describe('docs/CLI.md --json shapes', () => {
  it('every command prints what its block documents', async () => {
    const hsm = ['--module', SOFTHSM_MODULE, '--token', 'Docs', '--pin-file', file('pin')];
    const seen = new Set<string>();
    const problems: string[] = [];
    /** Runs a command with --json; compares with `name` (when given) and returns the parsed output. */
    const check = async (name: string | null, args: string[], input = ''): Promise<Record<string, unknown>> => {
      const r = await runCli(['--json', ...args], fx.env, input);
      const value = JSON.parse(r.stdout) as Record<string, unknown>;
      if (name === 'error') expect(r.code).not.toBe(0);
      else expect(r.code, `${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
      if (name !== null) {
        expect(docs.has(name), `docs/CLI.md has no "${name}" block`).toBe(true);
        seen.add(name);
        problems.push(...shapeDiff(docs.get(name), value).map((p) => `${name} (custos ${args.filter((x) => !hsm.includes(x)).join(' ')}): ${p}`));
      }
      return value;
    };
    const one = (name: string, value: unknown) => {
      seen.add(name);
      problems.push(...shapeDiff(docs.get(name), value).map((p) => `${name}: ${p}`));
    };

    // Tokens
    await check('tokens', ['tokens', '--module', SOFTHSM_MODULE]);
    await check('login', ['login', ...hsm]);
    await check('token caps', ['token', 'caps', ...hsm]);
    await check('token change-pin', ['token', 'change-pin', ...hsm, '--new-pin-file', file('pin')]);
    await check('error', ['login', '--module', SOFTHSM_MODULE, '--token', 'Docs', '--pin-file', file('short-pin')]);

    // Keys and operations
    await check('key detail (secret key)', ['key', 'generate', ...hsm, '--type', 'aes-256', '--label', 'dek', '--extractable']);
    await check('key detail (key pair)', ['key', 'generate', ...hsm, '--type', 'ec-p256', '--label', 'signer']);
    await check('key detail (key pair)', ['key', 'show', ...hsm, '--key', 'signer']);
    await check('key detail (key pair)', ['key', 'import-public', ...hsm, '--file', file('kms.pem'), '--label', 'kms']);
    await check('key detail (secret key)', ['key', 'copy', ...hsm, '--key', 'dek', '--to-token', 'Other', '--to-pin-file', file('pin')]);
    await check('key export-public', ['key', 'export-public', ...hsm, '--key', 'signer', '--format', 'jwk']);
    await check('key csr', ['key', 'csr', ...hsm, '--key', 'signer', '--subject', 'CN=Docs']);
    const list = await check(null, ['key', 'list', ...hsm]);
    expect(Array.isArray(list)).toBe(true);
    one('key entry', (list as unknown as unknown[])[0]);
    await check('key entry', ['key', 'relabel', ...hsm, '--key', 'signer', '--label', 'signer 2']);
    await check('sign', ['sign', ...hsm, '--key', 'signer 2', '--mechanism', 'ecdsa-sha256', '--in', file('minutes.txt'), '--out', file('sig')]);
    await check('verify', ['verify', ...hsm, '--key', 'signer 2', '--mechanism', 'ecdsa-sha256', '--in', file('minutes.txt'), '--signature', file('sig')]);
    await check(null, ['key', 'generate', ...hsm, '--type', 'hmac-256', '--label', 'mac']);
    await check('hmac', ['hmac', ...hsm, '--key', 'mac', '--in', file('minutes.txt')]);
    await check('encrypt', ['encrypt', ...hsm, '--key', 'dek', '--in', file('minutes.txt'), '--out', file('ct')]);
    await check('decrypt', ['decrypt', ...hsm, '--key', 'dek', '--in', file('ct'), '--out', file('pt')]);
    await check('random', ['random', ...hsm, '--bytes', '8']);
    await check('random --out', ['random', ...hsm, '--bytes', '8', '--out', file('r')]);
    await check('wrap', ['wrap', ...hsm, '--key', 'dek', '--wrapping-key', 'kms', '--mechanism', 'rsa-aes-kwp-sha1', '--out', file('byok'), '--allow-weaker-wrapping-key']);
    await check(null, ['key', 'generate', ...hsm, '--type', 'aes-256', '--label', 'kek', '--usage', 'wrap']);
    await check(null, ['wrap', ...hsm, '--key', 'dek', '--wrapping-key', 'kek', '--mechanism', 'aes-kwp', '--out', file('kwp')]);
    await check('key detail (secret key)', ['unwrap', ...hsm, '--wrapping-key', 'kek', '--mechanism', 'aes-kwp', '--in', file('kwp'), '--type', 'aes-256', '--label', 'dek again']);
    await check('key destroy', ['key', 'destroy', ...hsm, '--key', 'signer 2', '--confirm', 'signer 2']);

    // Shares and components
    const split = await check('shares split', ['shares', 'split', '--threshold', '2', '--shares', '3', '--holders', 'Ann,Ben,Cat', '--secret-file', file('secret.hex'), '--record-out', file('set.json'), '--sheets-dir', file('sheets'), '--qr', '--ceremony', 'KC-1', '--label', 'Docs', '--iteration-exponent', '0']);
    const words = (split.shares as Array<{ mnemonic: string }>).map((x) => x.mnemonic);
    await check('shares combine', ['shares', 'combine', '--record', file('set.json'), '--reveal'], `${words[0]}\n${words[1]}\n`);
    await check('shares verify', ['shares', 'verify', '--record', file('set.json')], `${words[0]}\n`);
    await check('shares sheet', ['shares', 'sheet', '--record', file('set.json'), '--out', file('ann.pdf')], `${words[0]}\n`);
    await check(null, ['key', 'generate', ...hsm, '--type', 'rsa-2048', '--label', 'card', '--usage', 'wrap']);
    await check('shares seal', ['shares', 'seal', ...hsm, '--record', file('set.json'), '--holder', 'Ann', '--to-key', 'card', '--out', file('ann.sealed.json')], `${words[0]}\n`);
    await check('shares unseal', ['shares', 'unseal', ...hsm, '--in', file('ann.sealed.json'), '--record', file('set.json'), '--reveal']);
    const comps = await check('components split', ['components', 'split', '--count', '2', '--key-file', file('key.hex'), '--algorithm', 'aes']);
    const parts = comps.components as Array<{ hex: string; checkValues: { cmac: string } }>;
    const kcvs = parts.map((x) => x.checkValues.cmac).join(',');
    const typed = `${parts.map((x) => x.hex).join('\n')}\n`;
    const key = (comps.key as { checkValues: { cmac: string } }).checkValues.cmac;
    await check('components combine', ['components', 'combine', '--count', '2', '--algorithm', 'aes', '--kcvs', kcvs, '--kcv', key, '--reveal'], typed);
    await check('components combine --import', ['components', 'combine', ...hsm, '--count', '2', '--algorithm', 'aes', '--kcvs', kcvs, '--import', '--label', 'zmk'], typed);

    // Archive and audit
    const a = ['--archive', file('a.custos')];
    await check('archive info', ['archive', 'init', ...hsm, ...a, '--name', 'Docs A']);
    await check(null, ['key', 'generate', ...hsm, '--type', 'aes-256', '--label', 'archived', '--extractable']);
    await check('archive add', ['archive', 'add', ...hsm, ...a, '--key', 'archived', '--purpose', 'data-encryption', '--activate', '--tag', 'docs']);
    await check('archive search', ['archive', 'search', ...a, '--count']);
    // Keys due for rotation: the same page, active versions only, soonest first.
    expect(((await check('archive search', ['archive', 'search', ...a, '--due', '3650', '--count'])).items as unknown[]).length).toBe(1);
    await check('archive show', ['archive', 'show', ...a, 'archived']);
    await check('archive version summary', ['archive', 'state', ...hsm, ...a, 'archived@1', '--action', 'suspend']);
    await check('archive verify', ['archive', 'verify', ...hsm, ...a]);
    await check('archive verify', ['audit', 'verify', ...a]);
    await check('archive info', ['archive', 'info', ...a, '--public-key-out', file('a-audit.pem')]);
    await check('archive export', ['archive', 'export', ...hsm, ...a, '--out', file('a.bundle')]);
    const b = ['--archive', file('b.custos')];
    await check(null, ['archive', 'init', ...hsm, ...b, '--name', 'Docs B']);
    await check('archive trust', ['archive', 'trust', ...hsm, ...b, '--public-key', file('a-audit.pem'), '--name', 'Docs A']);
    await check('archive import', ['archive', 'import', ...hsm, ...b, file('a.bundle')]);
    await check('audit export', ['audit', 'export', ...a, '--out', file('audit-out')]);
    await check('audit trail', ['audit', 'trail', ...a, '--limit', '2']);

    // Ceremonies and the register (no record in this data folder)
    await check('ceremony definitions', ['ceremony', 'definitions', '--export', file('defs')]);
    await check('ceremony lint', ['ceremony', 'lint', file('defs/backup.yaml')]);
    await check('ceremony list', ['ceremony', 'list']);
    await check('people', ['people']);

    expect(problems, problems.join('\n')).toEqual([]);
    // Every documented block was compared with a real output.
    expect([...docs.keys()].filter((n) => !seen.has(n))).toEqual([]);
  }, 300_000);
});
