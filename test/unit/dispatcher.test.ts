import { describe, expect, it, vi } from 'vitest';
import { channelOf } from '../../shared/contract';
import { CustosError } from '../../shared/result';
import { createDispatcher, type Handlers } from '../../electron/ipc/handle';

const TRUSTED = { senderUrl: 'https://custos.preview/index.html' };
const PIN = 'S3cr3t-PIN-4711';

function setup() {
  const login = vi.fn(async () => {
    throw new CustosError({ code: 'PIN_INCORRECT', message: 'The PIN is not correct.', action: 'Try again.' });
  });
  const handlers = new Proxy({} as Handlers, {
    get: (_t, prop) => (prop === 'session.login' ? login : async () => 'done'),
  });
  const lines: string[] = [];
  const dispatch = createDispatcher(handlers, {
    isTrustedSender: (ctx) => ctx.senderUrl.startsWith('https://custos.preview/'),
    log: (l) => lines.push(l),
  });
  return { dispatch, login, lines };
}

const loginChannel = channelOf('session.login');
const valid = { module: '/usr/lib/softhsm/libsofthsm2.so', token: 'pkcs11:token=x', pin: PIN, role: 'user' };

describe('dispatcher (the one handle() wrapper)', () => {
  it('refuses unknown channels', async () => {
    const { dispatch } = setup();
    for (const ch of ['custos:nope', 'tokens.list', '', null, 42, { toString: () => 'custos:tokens.list' }]) {
      const r = await dispatch(ch, {}, TRUSTED);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('UNKNOWN_METHOD');
    }
  });

  it('refuses untrusted senders before looking at the payload', async () => {
    const { dispatch, login } = setup();
    for (const senderUrl of ['https://evil.example/', 'file:///tmp/x.html', '', 'https://custos.preview.evil/']) {
      const r = await dispatch(loginChannel, valid, { senderUrl });
      expect(r.ok ? null : r.error.code).toBe('UNTRUSTED_SENDER');
    }
    expect(login).not.toHaveBeenCalled();
  });

  const hostile: Array<[string, unknown]> = [
    ['null', null],
    ['undefined', undefined],
    ['a string', PIN],
    ['a number', 7],
    ['an array', [valid]],
    ['extra keys', { ...valid, extra: true }],
    ['wrong types', { ...valid, pin: 1234 }],
    ['missing pin', { module: valid.module, token: valid.token, role: 'user' }],
    ['relative module path', { ...valid, module: 'libsofthsm2.so' }],
    ['a bad role', { ...valid, role: 'root' }],
    ['a huge PIN', { ...valid, pin: PIN + 'x'.repeat(10 * 1024 * 1024) }],
    ['a NUL in the PIN', { ...valid, pin: PIN + '\0' }],
    ['a token that is not a URI', { ...valid, token: PIN }],
    ['prototype pollution', JSON.parse(`{"__proto__": {"polluted": true}, "module": "/x.so", "token": "pkcs11:token=a", "pin": "${PIN}", "role": "user", "constructor": {"prototype": {"polluted": true}}}`)],
  ];

  for (const [name, payload] of hostile) {
    it(`rejects ${name} with INVALID_INPUT and never echoes the PIN`, async () => {
      const { dispatch, login, lines } = setup();
      const r = await dispatch(loginChannel, payload, TRUSTED);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('INVALID_INPUT');
        expect(JSON.stringify(r.error)).not.toContain(PIN);
      }
      expect(login).not.toHaveBeenCalled();
      expect(lines.join('\n')).not.toContain(PIN);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  it('passes a valid payload to the handler and wraps its typed error', async () => {
    const { dispatch, login, lines } = setup();
    const r = await dispatch(loginChannel, valid, TRUSTED);
    expect(login).toHaveBeenCalledOnce();
    expect(r.ok ? null : r.error.code).toBe('PIN_INCORRECT');
    expect(lines.join('\n')).not.toContain(PIN);
  });

  it('turns an unexpected exception into INTERNAL without leaking its message', async () => {
    const handlers = new Proxy({} as Handlers, {
      get: () => async () => {
        throw new Error(`boom with ${PIN}`);
      },
    });
    const dispatch = createDispatcher(handlers, { isTrustedSender: () => true });
    const r = await dispatch(channelOf('tokens.list'), {}, TRUSTED);
    expect(r.ok ? null : r.error.code).toBe('INTERNAL');
    expect(JSON.stringify(r)).not.toContain(PIN);
  });
});
