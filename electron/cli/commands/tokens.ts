// `custos tokens`, `custos login` and `custos token caps|change-pin`: modules, slots and tokens, PIN
// checks and changes. PINs come from --pin-file, stdin or a hidden prompt — never from an argument.
import { Option, type Command } from 'commander';
import type { SlotEntry } from '../../../shared/contract';
import { invalidInput } from '../../../shared/result';
import { formatListing, listTokens, out, pickToken, withCore } from '../context';
import { readSecret } from '../secrets';
import { openSession } from '../session';

export function registerTokenCommands(program: Command): void {
  program
    .command('tokens')
    .description('list modules, slots and tokens')
    .action(() =>
      withCore(program, async (s, opts) => {
        const listing = await listTokens(s, opts);
        out(opts, listing, () => formatListing(listing));
      }),
    );

  program
    .command('login')
    .description('log in to a token to check a PIN (prompt, --pin-file or stdin), then log out')
    .addOption(new Option('--so', 'log in as the security officer'))
    .action((cmdOpts: { so?: boolean }) =>
      withCore(program, async (s, opts) => {
        const slot = await pickToken(s, opts);
        const role = cmdOpts.so ? 'so' : 'user';
        // The one command that logs in as the SO, and logs out at once: not the shared user login.
        const pin = await readSecret({ file: opts.pinFile, prompt: `${cmdOpts.so ? 'SO PIN' : 'PIN'} for "${slot.token.label}": ` });
        let after: SlotEntry;
        try {
          after = await s.tokens.login(slot.module, slot.token.uri, pin.value, role, false, slot.token);
        } finally {
          pin.wipe();
        }
        await s.tokens.logout(slot.module, slot.token.uri, false);
        out(
          opts,
          { token: after.token, loggedIn: role },
          () => `Logged in to "${slot.token.label}" as ${role === 'so' ? 'security officer' : 'user'}; the PIN is correct. Logged out again.`,
        );
      }),
    );
}

export function registerTokenPinCommands(program: Command): void {
  const token = program.command('token').description('token capabilities and PINs');
  token
    .command('caps')
    .description("the token's mechanisms, and which key types, signatures and wraps Custos can use on it")
    .action(() =>
      withCore(program, async (s, opts) => {
        const { slot, t } = await openSession(s, opts);
        const caps = await s.keys.capabilities(t);
        out(opts, caps, () =>
          [
            `token "${slot.token.label}"`,
            `key types: ${caps.keyTypes.join(', ')}`,
            `signatures: ${caps.sign.join(', ')}`,
            `wraps: ${caps.wrap.join(', ')}`,
            `AES-KW (RFC 3394 vectors): ${caps.wrapProbe.aesKw ?? 'none that passes'}`,
            `AES-KWP (RFC 5649 vectors): ${caps.wrapProbe.aesKwp ? `${caps.wrapProbe.aesKwp.mechanism}, wrap output standard for ${caps.wrapProbe.aesKwp.wrap === 'any' ? 'any key' : caps.wrapProbe.aesKwp.wrap === 'aligned' ? 'keys whose length is a multiple of 8 bytes only' : 'no key'}` : 'none that passes'}`,
            ...caps.wrapProbe.notes.map((n) => `  note: ${n}`),
            `mechanisms (${caps.mechanisms.length}):`,
            ...caps.mechanisms.map((m) => `  ${m.name.padEnd(28)} ${m.minKeySize}–${m.maxKeySize}  flags 0x${m.flags.toString(16)}`),
          ].join('\n'),
        );
      }),
    );
  token
    .command('change-pin')
    .description('change the user PIN (or with --so the SO PIN); old PIN from --pin-file or a prompt, the new one from --new-pin-file or a prompt')
    .addOption(new Option('--so', 'change the security officer PIN'))
    .addOption(new Option('--new-pin-file <file>', 'read the new PIN from FILE'))
    .action((cmd: { so?: boolean; newPinFile?: string }) =>
      withCore(program, async (s, opts) => {
        const slot = await pickToken(s, opts);
        const role = cmd.so ? 'so' : 'user';
        const oldPin = await readSecret({ file: opts.pinFile, prompt: `Current ${role === 'so' ? 'SO ' : ''}PIN: ` });
        try {
          const newPin = await readSecret({ file: cmd.newPinFile, prompt: 'New PIN: ' });
          try {
            if (!cmd.newPinFile && process.stdin.isTTY) {
              const again = await readSecret({ prompt: 'New PIN again: ' });
              const same = again.value === newPin.value;
              again.wipe();
              if (!same) invalidInput('The two new PINs differ; nothing was changed.', 'Run the command again.');
            }
            await s.tokens.changePin(slot.module, slot.token.uri, oldPin.value, newPin.value, role, false, slot.token);
          } finally {
            newPin.wipe();
          }
        } finally {
          oldPin.wipe();
        }
        out(opts, { changed: true, role }, () => `The ${role === 'so' ? 'SO ' : ''}PIN of "${slot.token.label}" was changed.`);
      }),
    );
}
