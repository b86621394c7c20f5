import { Option, type Command } from 'commander';
import type { SlotEntry } from '../../../shared/contract';
import { formatListing, listTokens, out, pickToken, withServices } from '../context';
import { readSecret } from '../secrets';

export function registerTokenCommands(program: Command): void {
  program
    .command('tokens')
    .description('list modules, slots and tokens')
    .action(() =>
      withServices(program, async (s, opts) => {
        const listing = await listTokens(s, opts);
        out(opts, listing, () => formatListing(listing));
      }),
    );

  program
    .command('login')
    .description('log in to a token to check a PIN (prompt, --pin-file or stdin), then log out')
    .addOption(new Option('--so', 'log in as the security officer'))
    .action((cmdOpts: { so?: boolean }) =>
      withServices(program, async (s, opts) => {
        const slot = await pickToken(s, opts);
        const role = cmdOpts.so ? 'so' : 'user';
        const pin = await readSecret({ file: opts.pinFile, prompt: `${cmdOpts.so ? 'SO PIN' : 'PIN'} for "${slot.token.label}": ` });
        let after: SlotEntry;
        try {
          after = await s.tokens.login(slot.module, slot.token.uri, pin.value, role, false);
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
