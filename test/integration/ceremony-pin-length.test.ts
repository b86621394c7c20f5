// A ceremony's logins check the PIN's length against the token's limits before C_Login, as the
// Tokens screen and the CLI do (issue #11 part 6): on a real HSM a PIN of the wrong length still
// costs a try. The step fails in words, the journal says so, and the right PIN then goes through.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustosError } from '../../shared/result';
import { ceremonyFixture, setupParams, WS, type CeremonyFixture } from './ceremony-helpers';

let f: CeremonyFixture;
beforeAll(async () => {
  f = await ceremonyFixture('custos-ceremony-pinlen-');
  // The fixture logs the workstation token in; the ceremony's login step must do it itself here.
  await f.hsm.call('logout', { path: f.session.module, token: f.session.token });
}, 60_000);
afterAll(async () => f?.close());

describe('a ceremony login', () => {
  it('refuses a PIN too short or too long for the token without trying it, then takes the right one', async () => {
    const v = await f.service.plan(f.session, { definition: 'custos/workstation-setup', params: setupParams(false), participants: [] });
    await f.act(v.run, { kind: 'run' }, 'Ada Admin'); // roll call
    for (const pin of ['12', 'x'.repeat(300)]) {
      const e = await f.act(v.run, { kind: 'login', pin }, 'Otto Operator').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CustosError);
      expect((e as CustosError).appError).toMatchObject({ code: 'PIN_LEN_RANGE', details: { minPinLength: 4 } });
      expect((e as CustosError).appError.message).toContain('The workstation token');
    }
    const slots = await f.hsm.call('slots', { path: f.session.module });
    const ws = slots.find((s) => s.token?.label === WS.label)!.token!;
    // CKF_USER_PIN_COUNT_LOW (0x10000): no wrong PIN reached the token.
    expect(ws.flags & 0x10000).toBe(0);
    const after = await f.act(v.run, { kind: 'login', pin: WS.user }, 'Otto Operator');
    expect(after.current?.kind).not.toBe('login');
  });
});
