import { describe, expect, it, vi } from 'vitest';
import { channelOf } from '../../shared/contract';
import { CustosError } from '../../shared/result';
import { createDispatcher, type Handlers } from '../../electron/ipc/handle';
import { ceremonyHandlers } from '../../electron/services/ceremony/handlers';
import type { CeremonyService } from '../../electron/services/ceremony/service';

// The restore's and the drill's actions cross the window's contract like the backup's: the share
// and the destination PIN are checked for shape only and never echoed; and a restore's destination
// module, named by the window, is held to the configured modules like the workstation's.

const TRUSTED = { senderUrl: 'https://custos.preview/index.html' };
const CTX = TRUSTED;
const SHARE = 'academic acid acne acquire acrobat activity actress adapt adequate adjust';
const DEST_PIN = 'dest-PIN-8642';
const RUN = '5b284d21-3c1e-4a8f-9d2b-0123456789ab';
const base = { module: '/usr/lib/softhsm/libsofthsm2.so', token: 'pkcs11:token=Workstation', run: RUN, by: null };

function dispatcher() {
  const act = vi.fn(async () => 'done');
  const handlers = new Proxy({} as Handlers, { get: (_t, prop) => (prop === 'ceremony.act' ? act : async () => 'done') });
  const lines: string[] = [];
  const dispatch = createDispatcher(handlers, { isTrustedSender: () => true, log: (l) => lines.push(l) });
  return { dispatch, act, lines };
}

describe('ceremony.act: entering a share and unwrapping (restore and drill)', () => {
  it('accepts one holder’s share and the unwrap, with or without a destination PIN', async () => {
    const { dispatch, act } = dispatcher();
    for (const action of [{ kind: 'enter-share', holder: 'Ann Archer', share: SHARE }, { kind: 'unwrap', destPin: null }, { kind: 'unwrap', destPin: DEST_PIN }]) {
      const r = await dispatch(channelOf('ceremony.act'), { ...base, action }, TRUSTED);
      expect(r.ok).toBe(true);
    }
    expect(act).toHaveBeenCalledTimes(3);
  });

  const hostile: Array<[string, unknown]> = [
    ['an extra field', { kind: 'enter-share', holder: 'Ann Archer', share: SHARE, also: 'x' }],
    ['no holder', { kind: 'enter-share', share: SHARE }],
    ['an empty share', { kind: 'enter-share', holder: 'Ann Archer', share: '' }],
    ['a huge share', { kind: 'enter-share', holder: 'Ann Archer', share: `${SHARE} ${'x'.repeat(3000)}` }],
    ['a NUL in the share', { kind: 'enter-share', holder: 'Ann Archer', share: `${SHARE}\0` }],
    ['a PIN that is a number', { kind: 'unwrap', destPin: 8642 }],
    ['a NUL in the PIN', { kind: 'unwrap', destPin: `${DEST_PIN}\0` }],
    ['an unwrap with the share beside it', { kind: 'unwrap', destPin: null, share: SHARE }],
  ];
  for (const [name, action] of hostile) {
    it(`refuses ${name} with INVALID_INPUT, echoing neither share nor PIN`, async () => {
      const { dispatch, act, lines } = dispatcher();
      const r = await dispatch(channelOf('ceremony.act'), { ...base, action }, TRUSTED);
      expect(r.ok ? null : r.error.code).toBe('INVALID_INPUT');
      const said = JSON.stringify(r) + lines.join('\n');
      expect(said).not.toContain('academic acid');
      expect(said).not.toContain(DEST_PIN);
      expect(act).not.toHaveBeenCalled();
    });
  }
});

describe('ceremony.plan: a restore’s destination module', () => {
  const setup = (configured: string[]) => {
    const plan = vi.fn(async () => ({}));
    const checked: string[] = [];
    const handlers = ceremonyHandlers({
      ceremonies: { plan } as unknown as CeremonyService,
      withConfigured: async (module, work) => {
        checked.push(module);
        if (!configured.includes(module)) throw new CustosError({ code: 'MODULE_NOT_CONFIGURED', message: 'That PKCS#11 module is not configured in Custos.', action: 'Add it first.' });
        return work();
      },
    });
    return { handlers, plan, checked };
  };
  const params = (module?: string) => ({ backup: RUN, holders: ['Ann Archer', 'Ben Baker'], destination: { ...(module ? { module } : {}), token: 'pkcs11:token=Replacement' } });

  it('is held to the configured modules, like the workstation’s, before the service is asked', async () => {
    const { handlers, plan, checked } = setup([base.module]);
    await expect(handlers['ceremony.plan']({ module: base.module, token: base.token, definition: 'custos/restore', params: params('/tmp/evil.so'), participants: [] }, CTX)).rejects.toMatchObject({ appError: { code: 'MODULE_NOT_CONFIGURED' } });
    expect(checked).toContain('/tmp/evil.so');
    expect(plan).not.toHaveBeenCalled();
  });

  it('passes a configured destination module, or none (the workstation’s module)', async () => {
    const { handlers, plan } = setup([base.module, '/usr/lib/x86_64-linux-gnu/libsoftokn3.so']);
    await handlers['ceremony.plan']({ module: base.module, token: base.token, definition: 'custos/restore', params: params('/usr/lib/x86_64-linux-gnu/libsoftokn3.so'), participants: [] }, CTX);
    await handlers['ceremony.plan']({ module: base.module, token: base.token, definition: 'custos/restore', params: params(), participants: [] }, CTX);
    expect(plan).toHaveBeenCalledTimes(2);
  });
});
