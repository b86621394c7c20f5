import { describe, expect, it } from 'vitest';
import { buildApi } from '../../shared/api';
import { channelOf, contract, METHOD_NAMES, type MethodName } from '../../shared/contract';
import type { Handlers } from '../../electron/ipc/handle';
import { createHandlers, type Services } from '../../electron/services/index';

// If a method is added to the contract without a handler (or the other way round), this file stops
// compiling (`npm test` runs tsc) and these assertions fail.
const handlers: Handlers = createHandlers({} as Services, 'preview');

describe('contract', () => {
  it('has exactly one handler per method', () => {
    expect(Object.keys(handlers).sort()).toEqual([...METHOD_NAMES].sort());
  });

  it('gives every method an input schema and a description', () => {
    for (const m of METHOD_NAMES) {
      expect(typeof contract[m].input.safeParse).toBe('function');
      expect(contract[m].description.length).toBeGreaterThan(5);
    }
  });

  it('derives one distinct channel per method', () => {
    const channels = METHOD_NAMES.map(channelOf);
    expect(new Set(channels).size).toBe(channels.length);
  });

  it('builds an API with exactly the contract methods, bound to their channels', async () => {
    const seen: string[] = [];
    const api = buildApi(async (channel) => {
      seen.push(channel);
      return { ok: true, value: null };
    });
    expect(Object.keys(api).sort()).toEqual([...METHOD_NAMES, 'onEvent'].sort());
    expect(Object.isFrozen(api)).toBe(true);
    for (const m of METHOD_NAMES) await (api[m] as (i: unknown) => Promise<unknown>)({});
    expect(seen).toEqual(METHOD_NAMES.map(channelOf));
  });

  it('rejects extra keys in inputs (strict objects)', () => {
    const m: MethodName = 'session.logout';
    const r = contract[m].input.safeParse({ module: '/x.so', token: 'pkcs11:token=a', extra: 1 });
    expect(r.success).toBe(false);
  });
});
