import { describe, expect, it } from 'vitest';
import { buildApi, parseEvent, type CustosEvent } from '../../shared/api';

// The event channel (main → page): whatever arrives is checked against the schema before a
// listener sees it, in both shells alike (buildApi does it for both). Malformed events are dropped.

const RUN = '0f8fad5b-d9cb-469f-a165-70867728950e';
const changed: CustosEvent = { type: 'ceremony.changed', run: RUN, status: 'running', step: 'generate' };
const progress: CustosEvent = { type: 'progress', run: RUN, step: 'commit-backup', done: 2, total: 5, message: 'Wrapping the targets' };

/** A transport like the shells': listeners get raw payloads. */
function transport() {
  const listeners = new Set<(p: unknown) => void>();
  return {
    listeners,
    push: (p: unknown) => listeners.forEach((l) => l(p)),
    subscribe: (deliver: (p: unknown) => void) => {
      listeners.add(deliver);
      return () => void listeners.delete(deliver);
    },
  };
}

describe('events from main', () => {
  it('accepts the two event kinds as declared', () => {
    expect(parseEvent(changed)).toEqual(changed);
    expect(parseEvent({ ...changed, step: null })).toEqual({ ...changed, step: null });
    expect(parseEvent(progress)).toEqual(progress);
  });

  it('drops anything else: unknown types, extra keys, wrong shapes, bad run ids, oversized text', () => {
    const bad: unknown[] = [
      null,
      undefined,
      'ceremony.changed',
      42,
      [],
      {},
      { type: 'ceremony.deleted', run: RUN },
      { ...changed, extra: 1 },
      { ...changed, run: '../../etc/passwd' },
      { ...changed, run: RUN.toUpperCase() },
      { ...changed, status: '' },
      { ...changed, status: 'x'.repeat(33) },
      { ...changed, step: 7 },
      { type: 'ceremony.changed', run: RUN, status: 'running' },
      { ...progress, done: -1 },
      { ...progress, done: 1.5 },
      { ...progress, total: '5' },
      { ...progress, message: 'x'.repeat(501) },
      { ...progress, step: null },
    ];
    for (const b of bad) expect(parseEvent(b)).toBeNull();
  });

  it('onEvent hands listeners checked events only, and stops at unsubscribe', () => {
    const t = transport();
    const api = buildApi(async () => ({ ok: true, value: null }), t.subscribe);
    const seen: CustosEvent[] = [];
    const off = api.onEvent((e) => seen.push(e));
    t.push(changed);
    t.push({ ...changed, run: 'not-a-run' });
    t.push({ type: 'shell.exec', command: 'rm -rf /' });
    t.push(progress);
    expect(seen).toEqual([changed, progress]);
    off();
    expect(t.listeners.size).toBe(0);
    t.push(changed);
    expect(seen).toHaveLength(2);
  });

  it('a listener gets a parsed copy, not the object the transport delivered', () => {
    const t = transport();
    const api = buildApi(async () => ({ ok: true, value: null }), t.subscribe);
    let got: CustosEvent | null = null;
    api.onEvent((e) => (got = e));
    const raw = { ...changed };
    t.push(raw);
    expect(got).toEqual(changed);
    expect(got).not.toBe(raw);
  });

  it('without a transport, or with a non-function listener, onEvent is a harmless no-op', () => {
    const api = buildApi(async () => ({ ok: true, value: null }));
    const off = api.onEvent(() => undefined);
    expect(typeof off).toBe('function');
    off();
    const t = transport();
    const api2 = buildApi(async () => ({ ok: true, value: null }), t.subscribe);
    (api2.onEvent as (l: unknown) => () => void)('not a function')();
    expect(t.listeners.size).toBe(0);
  });
});
