// The one way a command logs in to a token: the PIN from --pin-file, stdin or a hidden prompt, never
// from an argument (other users can read the process list), wiped after the login.
import type { TokenRef } from '../../shared/keys';
import { invalidInput } from '../../shared/result';
import type { CoreServices } from '../services/core';
import { pickToken, type GlobalOptions, type TokenSlot } from './context';
import { stdinIsTerminal } from './input';
import { readSecret } from './secrets';

export interface LoginOptions {
  /** What a terminal shows; the default names the token. */
  prompt?: string;
  /**
   * Standard input carries the command's data (a share, a file to sign), so the PIN cannot come
   * from it too: this is the sentence that says where to put the PIN instead.
   */
  stdinBusy?: string;
  /** Log in even when the token does not ask for it (the archive binds its keys to a user session). */
  always?: boolean;
}

/** Logs in as the user when the token wants it (or `always`), and returns the token as services name it. */
export async function logIn(s: CoreServices, opts: GlobalOptions, slot: TokenSlot, how: LoginOptions = {}): Promise<TokenRef> {
  const t = { module: slot.module, token: slot.token.uri };
  if (how.always || (slot.token.flags.loginRequired && slot.token.loggedIn !== 'user')) {
    if (how.stdinBusy !== undefined && !opts.pinFile && !stdinIsTerminal()) {
      invalidInput('Standard input carries the data, so the PIN cannot come from it too.', how.stdinBusy);
    }
    const pin = await readSecret({ file: opts.pinFile, prompt: how.prompt ?? `PIN for "${slot.token.label}": ` });
    try {
      await s.tokens.login(slot.module, slot.token.uri, pin.value, 'user', false, slot.token);
    } finally {
      pin.wipe();
    }
  }
  return t;
}

/** The token named by --token, logged in as `logIn` does. */
export async function openSession(s: CoreServices, opts: GlobalOptions, how: LoginOptions = {}): Promise<{ slot: TokenSlot; t: TokenRef }> {
  const slot = await pickToken(s, opts);
  return { slot, t: await logIn(s, opts, slot, how) };
}
