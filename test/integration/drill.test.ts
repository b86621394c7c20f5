// Share checks and restore drills in the main process (electron/services/drill.ts): real SLIP-39
// shares made here with the pure shared code, a record written as at the ceremony, then the
// service as the IPC handlers call it, and through the dispatcher (schemas).
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../electron/ipc/handle';
import { DrillService, nodeSlip39Crypto, readRecordView, verifyShare } from '../../electron/services/shares/index';
import { createHandlers, type Services } from '../../electron/services/index';
import { secretCheckValue } from '../../electron/services/kcv';
import { channelOf, type DrillState } from '../../shared/contract';
import { CustosError, type AppError } from '../../shared/result';
import { createShareSetRecord, serializeShareSetRecord } from '../../shared/shares';
import { splitSecret, type Share } from '../../shared/slip39';

interface Fixture {
  secret: Uint8Array;
  secretHex: string;
  passphrase: string;
  mnemonics: string[][];
  json: string;
}

async function makeSet(opts: {
  bytes: number;
  groupThreshold: number;
  groups: { threshold: number; count: number }[];
  holders: string[];
  passphrase: string;
  identifier?: number;
}): Promise<Fixture> {
  const secret = new Uint8Array(randomBytes(opts.bytes));
  const mnemonics = await splitSecret(
    {
      secret,
      passphrase: new TextEncoder().encode(opts.passphrase),
      groupThreshold: opts.groupThreshold,
      groups: opts.groups,
      iterationExponent: 0,
      ...(opts.identifier !== undefined ? { identifier: opts.identifier } : {}),
    },
    nodeSlip39Crypto,
  );
  const record = await createShareSetRecord({
    mnemonics,
    holders: opts.holders,
    createdAt: '2026-03-01T10:00:00Z',
    ceremonyId: 'KC-2026-007',
    label: 'Archive KEK backup',
    secretCheck: secretCheckValue(secret),
  });
  return { secret, secretHex: Buffer.from(secret).toString('hex'), passphrase: opts.passphrase, mnemonics, json: serializeShareSetRecord(record) };
}

let single: Fixture; // 2 of 3, 16 bytes: Alice, Bob, Carol
let grouped: Fixture; // 2 of 3 groups (2/3, 1/1, 2/2), 32 bytes
let other: Fixture; // another 2-of-3 set

/** Everything a test saw come back: results and errors. None may carry a secret or share words. */
const seen: unknown[] = [];

async function attempt<T>(p: Promise<T> | (() => T)): Promise<{ ok: true; value: T } | { ok: false; error: AppError }> {
  try {
    const value = typeof p === 'function' ? p() : await p;
    seen.push(value);
    return { ok: true, value };
  } catch (e) {
    if (!(e instanceof CustosError)) throw e;
    seen.push(e.appError);
    return { ok: false, error: e.appError };
  }
}

async function ok<T>(p: Promise<T> | (() => T)): Promise<T> {
  const r = await attempt(p);
  if (!r.ok) throw new Error(`expected success, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

async function refused(p: Promise<unknown> | (() => unknown)): Promise<AppError> {
  const r = await attempt(p);
  if (r.ok) throw new Error('expected an error');
  return r.error;
}

let svc: DrillService;
afterEach(() => svc?.close());

beforeAll(async () => {
  single = await makeSet({ bytes: 16, groupThreshold: 1, groups: [{ threshold: 2, count: 3 }], holders: ['Alice Martin', 'Bob Chen', 'Carol Diaz'], passphrase: 'correct horse' });
  grouped = await makeSet({
    bytes: 32,
    groupThreshold: 2,
    groups: [
      { threshold: 2, count: 3 },
      { threshold: 1, count: 1 },
      { threshold: 2, count: 2 },
    ],
    holders: ['Ana', 'Ben', 'Cy', 'Dee', 'Eve', 'Fox'],
    passphrase: '',
  });
  other = await makeSet({ bytes: 16, groupThreshold: 1, groups: [{ threshold: 2, count: 3 }], holders: ['Xavier', 'Yann', 'Zoe'], passphrase: '', identifier: 77 });
});

describe('records and single-share checks', () => {
  it('reads a record into its public view', async () => {
    const v = await ok(() => readRecordView(single.json));
    expect(v).toMatchObject({ words: 20, secretBytes: 16, groupCount: 1, groupThreshold: 1, label: 'Archive KEK backup', ceremonyId: 'KC-2026-007' });
    expect(v.quorum).toBe('2 of the 3 shares are needed to recover the secret.');
    expect(v.shares.map((s) => `${s.holder}: ${s.position}`)).toEqual(['Alice Martin: share 1 of 3', 'Bob Chen: share 2 of 3', 'Carol Diaz: share 3 of 3']);
    expect(v.shares[0]!.fingerprint).toMatch(/^[0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4}$/);
    const g = await ok(() => readRecordView(grouped.json));
    expect(g.words).toBe(33);
    expect(g.quorum).toBe('Shares from 2 of the 3 groups are needed (group 1: 2 of 3; group 2: 1 of 1; group 3: 2 of 2).');
  });

  it('refuses what is not a record, in words', async () => {
    expect((await refused(() => readRecordView('{"hello": 1}'))).code).toBe('RECORD_INVALID');
    expect((await refused(() => readRecordView('not json'))).message).toBe('The share-set record is not valid JSON.');
  });

  it('says which share it is and who holds it', async () => {
    const v = await ok(verifyShare(single.json, single.mnemonics[0]![1]!));
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.share).toMatchObject({ holder: 'Bob Chen', position: 'share 2 of 3' });
    expect(v.message).toMatch(/^This share matches share 2 of 3 of set \d+ \(ceremony KC-2026-007\), held by Bob Chen; fingerprint /);
  });

  it('says exactly why not: checksum, wrong holder, another set', async () => {
    const w = single.mnemonics[0]![0]!.split(' ');
    w[5] = w[5] === 'academic' ? 'acid' : 'academic';
    const bad = await ok(verifyShare(single.json, w.join(' ')));
    expect(bad).toMatchObject({ ok: false, reason: 'CHECKSUM', error: { code: 'SHARE_CHECKSUM' } });

    const holder = await ok(verifyShare(single.json, single.mnemonics[0]![2]!, 'Bob Chen'));
    expect(holder).toMatchObject({ ok: false, reason: 'WRONG_HOLDER', share: { holder: 'Carol Diaz' } });
    expect(!holder.ok && holder.error.message).toContain('recorded as held by Carol Diaz, not by Bob Chen');

    const foreign = await ok(verifyShare(single.json, other.mnemonics[0]![0]!));
    expect(foreign).toMatchObject({ ok: false, reason: 'DIFFERENT_SET', error: { code: 'SHARE_SET_MISMATCH' } });
    expect(!foreign.ok && foreign.error.message).toContain('belongs to set 77');
  });
});

describe('restore drills', () => {
  it('runs a 2-of-3 drill to a matching check value, then ends and wipes', async () => {
    svc = new DrillService();
    const s0 = await ok(() => svc.start(single.json));
    expect(s0).toMatchObject({ entered: [], ready: false, groupsRemaining: 1 });
    expect(s0.summary).toBe('No share has been entered yet. 2 of the 3 shares are needed to recover the secret.');
    expect(s0.drillId).toMatch(/^[0-9a-f-]{36}$/);

    const s1 = await ok(svc.addShare(s0.drillId, single.mnemonics[0]![2]!, { groupIndex: 0, memberIndex: 2 }));
    expect(s1.entered).toEqual([expect.objectContaining({ holder: 'Carol Diaz', position: 'share 3 of 3' })]);
    expect(s1).toMatchObject({ ready: false, summary: '1 of 2 shares entered. 1 more share is needed.' });
    expect(s1.groups[0]).toMatchObject({ entered: 1, remaining: 1, complete: false });

    await expect(svc.finish(s0.drillId, single.passphrase)).rejects.toMatchObject({ appError: { code: 'QUORUM_NOT_MET' } });

    const s2 = await ok(svc.addShare(s0.drillId, single.mnemonics[0]![0]!));
    expect(s2).toMatchObject({ ready: true, groupsRemaining: 0, summary: 'Enough shares have been entered to recover the secret.' });

    const r = await ok(svc.finish(s0.drillId, single.passphrase));
    expect(r).toMatchObject({ matches: true, drillOpen: false, passphraseGiven: true, secretBytes: 16, checkValue: secretCheckValue(single.secret) });
    expect(r.recorded).toEqual(r.checkValue);
    expect(r.checkValue.method).toBe('AES-CMAC');
    expect(r.legacyCheckValue).toMatch(/^[0-9a-f]{6}$/);
    expect(r.used.map((u) => u.holder)).toEqual(['Carol Diaz', 'Alice Martin']);
    expect(svc.open).toBe(0);
    const gone = await refused(svc.addShare(s0.drillId, single.mnemonics[0]![1]!));
    expect(gone.code).toBe('SESSION_CLOSED');
  });

  it('runs a two-group drill, ignoring a group that was only started', async () => {
    svc = new DrillService();
    const { drillId } = await ok(() => svc.start(grouped.json));
    const [g1, g2, g3] = grouped.mnemonics as [string[], string[], string[]];
    let s: DrillState = await ok(svc.addShare(drillId, g1[0]!));
    expect(s.summary).toBe('0 of 2 required groups complete (the backup has 3 groups). Group 1 needs 1 more share. Shares from 1 further group are needed.');
    s = await ok(svc.addShare(drillId, g3[1]!)); // group 3: 1 of 2, never completed
    s = await ok(svc.addShare(drillId, g1[2]!));
    expect(s).toMatchObject({ ready: false, groupsComplete: 1, groupsRemaining: 1 });
    expect(s.summary).toContain('Group 3 needs 1 more share.');
    s = await ok(svc.addShare(drillId, g2[0]!));
    expect(s).toMatchObject({ ready: true, groupsComplete: 2 });
    expect(s.entered.map((e) => e.position)).toEqual(['group 1, share 1 of 3', 'group 3, share 2 of 2', 'group 1, share 3 of 3', 'group 2, share 1 of 1']);
    const r = await ok(svc.finish(drillId));
    expect(r).toMatchObject({ matches: true, passphraseGiven: false, secretBytes: 32, drillOpen: false });
    expect(r.used.map((u) => u.holder)).toEqual(['Ana', 'Cy', 'Dee']);
  });

  it('a wrong passphrase gives a different check value: the drill stays open for another try', async () => {
    svc = new DrillService();
    const { drillId } = await ok(() => svc.start(single.json));
    await ok(svc.addShare(drillId, single.mnemonics[0]![0]!));
    await ok(svc.addShare(drillId, single.mnemonics[0]![1]!));
    const wrong = await ok(svc.finish(drillId, 'Correct horse'));
    expect(wrong).toMatchObject({ matches: false, drillOpen: true, passphraseGiven: true });
    expect(wrong.checkValue.value).not.toBe(wrong.recorded?.value);
    const none = await ok(svc.finish(drillId));
    expect(none).toMatchObject({ matches: false, passphraseGiven: false });
    const right = await ok(svc.finish(drillId, single.passphrase));
    expect(right).toMatchObject({ matches: true, drillOpen: false });
    expect(svc.open).toBe(0);
  });

  it('refuses a duplicate, naming the earlier entry', async () => {
    svc = new DrillService();
    const { drillId } = await ok(() => svc.start(single.json));
    await ok(svc.addShare(drillId, single.mnemonics[0]![1]!));
    const e = await refused(svc.addShare(drillId, single.mnemonics[0]![1]!));
    expect(e.code).toBe('SHARE_DUPLICATE');
    expect(e.message).toBe('This is share 2 of 3 (Bob Chen), which was already entered as share 1 of this drill. A share counts only once; it was not added again.');
    const s = await ok(svc.addShare(drillId, single.mnemonics[0]![2]!));
    expect(s.entered).toHaveLength(2);
  });

  it('refuses a share of another set', async () => {
    svc = new DrillService();
    const { drillId } = await ok(() => svc.start(single.json));
    const e = await refused(svc.addShare(drillId, other.mnemonics[0]![0]!));
    expect(e.code).toBe('SHARE_SET_MISMATCH');
    expect(e.message).toMatch(/^This share belongs to set 77, but the record describes set \d+ \(ceremony KC-2026-007\)\. It was not added to the drill\.$/);
    expect(e.details).toMatchObject({ drillShare: 1 });
  });

  it('refuses a share that is not the expected holder’s', async () => {
    svc = new DrillService();
    const { drillId } = await ok(() => svc.start(single.json));
    const e = await refused(svc.addShare(drillId, single.mnemonics[0]![2]!, { groupIndex: 0, memberIndex: 1 }));
    expect(e.code).toBe('SHARE_WRONG_HOLDER');
    expect(e.message).toBe('This is share 3 of 3 (Carol Diaz), not share 2 of 3 (Bob Chen), whose turn it is. It was not added to the drill.');
    expect(e.action).toMatch(/^Bob Chen should enter their own share\./);
  });

  it('refuses a share too many, without reading it', async () => {
    svc = new DrillService();
    const { drillId } = await ok(() => svc.start(single.json));
    await ok(svc.addShare(drillId, single.mnemonics[0]![0]!));
    await ok(svc.addShare(drillId, single.mnemonics[0]![1]!));
    const e = await refused(svc.addShare(drillId, single.mnemonics[0]![2]!));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).toBe('Enough shares are already in to recover the secret, so this share was not needed and was not kept.');
    // A group that already has its shares takes no more, even before the whole set is ready.
    const g = await ok(() => svc.start(grouped.json));
    await ok(svc.addShare(g.drillId, grouped.mnemonics[0]![0]!));
    await ok(svc.addShare(g.drillId, grouped.mnemonics[0]![1]!));
    const e2 = await refused(svc.addShare(g.drillId, grouped.mnemonics[0]![2]!));
    expect(e2.code).toBe('INVALID_INPUT');
    expect(e2.message).toBe('Group 1 already has the 2 shares it needs, so group 1, share 3 of 3 (Cy) is not needed. It was not kept.');
    expect((await ok(svc.addShare(g.drillId, grouped.mnemonics[2]![0]!))).ready).toBe(false);
    const r = await ok(svc.finish(drillId, single.passphrase));
    expect(r.matches).toBe(true);
  });

  it('ends idle drills after 30 minutes and wipes their share bytes', async () => {
    let now = 1_000_000;
    svc = new DrillService({ now: () => now });
    const { drillId, expiresAt } = await ok(() => svc.start(single.json));
    expect(Date.parse(expiresAt) - now).toBe(30 * 60 * 1000);
    await ok(svc.addShare(drillId, single.mnemonics[0]![0]!));
    const held = [...(svc as unknown as { drills: Map<string, { shares: Share[] }> }).drills.get(drillId)!.shares];
    expect(held[0]!.value.some((b) => b !== 0)).toBe(true);
    now += 29 * 60 * 1000;
    expect(svc.open).toBe(1); // activity keeps it alive…
    now += 30 * 60 * 1000;
    const e = await refused(svc.addShare(drillId, single.mnemonics[0]![1]!));
    expect(e.code).toBe('SESSION_CLOSED');
    expect(e.message).toContain('nothing happened for 30 minutes');
    expect(held[0]!.value.every((b) => b === 0)).toBe(true);
    expect(await svc.cancel(drillId)).toEqual({ cancelled: false });
  });

  it('ends idle drills on a timer too', async () => {
    svc = new DrillService({ idleMs: 40 });
    const { drillId } = await ok(() => svc.start(single.json));
    await new Promise((r) => setTimeout(r, 120));
    expect((await refused(svc.finish(drillId))).code).toBe('SESSION_CLOSED');
  });

  it('holds at most a handful of drills; cancelling frees a place', async () => {
    svc = new DrillService();
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await ok(() => svc.start(single.json))).drillId);
    const e = await refused(() => svc.start(single.json));
    expect(e.code).toBe('SESSION_LIMIT');
    expect(await svc.cancel(ids[0]!)).toEqual({ cancelled: true });
    expect(await svc.cancel(ids[0]!)).toEqual({ cancelled: false });
    await ok(() => svc.start(single.json));
  });

  it('never returns a secret, a passphrase or share words, in results or errors', () => {
    expect(seen.length).toBeGreaterThan(30);
    const text = JSON.stringify(seen).toLowerCase();
    for (const f of [single, grouped, other]) {
      expect(text).not.toContain(f.secretHex);
      if (f.passphrase) expect(text).not.toContain(f.passphrase.toLowerCase());
      for (const m of f.mnemonics.flat()) {
        const w = m.split(' ');
        // Any two consecutive words of a share would be a leak (single words can occur in prose).
        for (let i = 0; i + 1 < w.length; i++) expect(text).not.toContain(`${w[i]} ${w[i + 1]}`);
      }
    }
  });
});

describe('through the dispatcher', () => {
  const dispatchFor = (drills: DrillService) =>
    createDispatcher(createHandlers({ drills } as unknown as Services, 'preview'), { isTrustedSender: () => true });
  const call = (d: ReturnType<typeof dispatchFor>, m: Parameters<typeof channelOf>[0], payload: unknown) => d(channelOf(m), payload, { senderUrl: 'test' });

  it('checks every payload: words only, bounded sizes, a real drill id', async () => {
    svc = new DrillService();
    const d = dispatchFor(svc);
    const started = await call(d, 'drill.start', { recordJson: single.json });
    expect(started.ok).toBe(true);
    const drillId = started.ok ? (started.value as DrillState).drillId : '';

    const upper = await call(d, 'drill.addShare', { drillId, mnemonic: single.mnemonics[0]![0]!.toUpperCase() });
    expect(upper).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect(!upper.ok && upper.error.message).toContain('mnemonic: A share is words of letters a-z separated by single spaces.');
    expect(!upper.ok && upper.error.message).not.toContain(single.mnemonics[0]![0]!.split(' ')[0]!.toUpperCase());
    expect(await call(d, 'drill.addShare', { drillId, mnemonic: 'a'.repeat(401) })).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect(await call(d, 'drill.addShare', { drillId: 'drill-1', mnemonic: 'academic acid' })).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect(await call(d, 'drill.addShare', { drillId, mnemonic: 'academic', extra: 1 })).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect(await call(d, 'shares.readRecord', { recordJson: ' '.repeat(65_537) })).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect(await call(d, 'drill.finish', { drillId, passphrase: 'x'.repeat(1025) })).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });

    const added = await call(d, 'drill.addShare', { drillId, mnemonic: single.mnemonics[0]![0]!, expected: { groupIndex: 0, memberIndex: 0 } });
    expect(added).toMatchObject({ ok: true, value: { entered: [{ holder: 'Alice Martin' }] } });
    const verified = await call(d, 'shares.verify', { recordJson: single.json, mnemonic: single.mnemonics[0]![0]!, holder: 'alice martin' });
    expect(verified).toMatchObject({ ok: true, value: { ok: true, share: { holder: 'Alice Martin' } } });
    expect(await call(d, 'drill.cancel', { drillId })).toEqual({ ok: true, value: { cancelled: true } });
    expect(await call(d, 'drill.finish', { drillId })).toMatchObject({ ok: false, error: { code: 'SESSION_CLOSED' } });
  });
});
