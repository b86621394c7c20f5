// The pending audit journal on its own: the chain shows an edited or removed line, a line torn by a
// kill is dropped (and the next entry starts on a line of its own), and a drain interrupted after
// its commit finishes by removing the file instead of carrying it twice.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PendingJournal, type PendingDraft } from '../../electron/services/activity/pending';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'custos-pending-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const draft = (action: string): PendingDraft => ({ at: '2026-12-05T10:00:00.000Z', actor: 'op', action, object_type: null, object_id: null, key_id: null, details: { outcome: 'ok' } });

describe('the pending audit journal', () => {
  it('chains entries across appends and reads them back whole', () => {
    const j = new PendingJournal(dir);
    j.append([draft('a'), draft('b')]);
    j.append([draft('c')]);
    const r = j.read();
    expect(r.entries.map((e) => [e.n, e.action])).toEqual([[1, 'a'], [2, 'b'], [3, 'c']]);
    expect(r.brokenAt).toBeNull();
    expect(r.entries[0]!.prev).toBe('0'.repeat(64));
    expect(new Set(r.entries.map((e) => e.id)).size).toBe(3);
  });

  it('names the first entry after an edited or a removed line', () => {
    const j = new PendingJournal(dir);
    j.append([draft('a'), draft('b'), draft('c')]);
    const lines = readFileSync(j.path, 'utf8').trimEnd().split('\n');
    writeFileSync(j.path, lines[0]!.replace('"action":"a"', '"action":"x"') + '\n' + lines.slice(1).join('\n') + '\n');
    expect(j.read().brokenAt).toBe(1);
    writeFileSync(j.path, [lines[0], lines[2]].join('\n') + '\n');
    expect(j.read().brokenAt).toBe(2);
  });

  it('drops a torn last line, counts garbage, and starts the next entry on a new line', () => {
    const j = new PendingJournal(dir);
    j.append([draft('a')]);
    appendFileSync(j.path, '{"hash":"abc","entry":{"v":1,');
    let r = j.read();
    expect(r.torn).toBe(true);
    expect(r.entries).toHaveLength(1);
    j.append([draft('b')]);
    r = j.read();
    expect(r.entries.map((e) => e.action)).toEqual(['a', 'b']);
    expect(r.unreadable).toBe(1);
    expect(r.brokenAt).toBeNull();
  });

  it('drains once: carried entries are not carried again after a kill between the commit and the removal', async () => {
    const j = new PendingJournal(dir);
    j.append([draft('a'), draft('b')]);
    const log: string[] = [];
    const carry = async (r: ReturnType<PendingJournal['read']>) => void log.push(...r.entries.map((e) => e.id));
    // The earlier drain committed these (the log has the last id) but was killed before removing the file.
    const ids = j.read().entries.map((e) => e.id);
    expect(await j.drain(carry, (id) => id === ids[1])).toBe(0);
    expect(log).toEqual([]);
    expect(existsSync(j.path)).toBe(false);
    j.append([draft('c')]);
    expect(await j.drain(carry, () => false)).toBe(1);
    expect(log).toHaveLength(1);
    expect(existsSync(j.path)).toBe(false);
    expect(existsSync(join(dir, 'audit-pending.lock'))).toBe(false);
  });

  it('reports a file with nothing but damage instead of dropping it silently', async () => {
    const j = new PendingJournal(dir);
    writeFileSync(j.path, 'not json\n');
    let reported = -1;
    await j.drain(async (r) => void (reported = r.unreadable), () => false);
    expect(reported).toBe(1);
  });
});
