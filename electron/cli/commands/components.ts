// `custos components …`: XOR key components with their check values (PCI PIN / ANSI X9.24-1
// practice: a symmetric key is entered or sent as n components held by n custodians, each
// checked by its KCV, and the combined key checked by its KCV). The share service does the work
// (electron/services/shares/components.ts); `combine --import` enters the key into the HSM.
import { Option, type Command } from 'commander';
import { algorithmName, formatHex, MAX_COMPONENTS, MIN_COMPONENTS, toHex, type KeyAlgorithm } from '../../../shared/components';
import { CustosError, invalidInput } from '../../../shared/result';
import type { KeyUsage } from '../../hsm/protocol';
import { isCheckValueSyntax } from '../../services/kcv';
import { combineFromComponents, describeKcv, ShareService, splitIntoComponents } from '../../services/shares/index';
import { out, pickToken, withCore, type GlobalOptions } from '../context';
import { LIMITS } from '../files';
import { decodeSecretBytes, promptHidden, readInputFile, readStdin, stdinIsTerminal, type SecretEncoding } from '../input';
import { logIn } from '../session';
import { checkValueText } from '../../../shared/check-value';

const countArg = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < MIN_COMPONENTS || n > MAX_COMPONENTS) {
    invalidInput(`--count must be a whole number from ${MIN_COMPONENTS} to ${MAX_COMPONENTS}.`, 'One component per custodian.');
  }
  return n;
};

const algorithmOf = (given: string | undefined): KeyAlgorithm | undefined => (given === undefined ? undefined : given.toLowerCase() === 'tdes' ? 'TDES' : 'AES');

/** --kcvs and --kcv, checked before any component is read: one per component, each 2 to 8 bytes of hex. */
function expectedKcvs(o: { count: number; kcvs?: string; kcv?: string }): string[] | undefined {
  const expected = o.kcvs === undefined ? undefined : o.kcvs.split(',').map((x) => x.trim());
  if (expected && expected.length !== o.count) {
    invalidInput(`--kcvs lists ${expected.length} check values for ${o.count} components.`, 'Give one check value per component, in order, comma-separated.');
  }
  for (const [i, k] of [...(expected ?? []), ...(o.kcv === undefined ? [] : [o.kcv])].entries()) {
    if (!isCheckValueSyntax(k)) {
      invalidInput(`Check value ${i + 1} given is not 4 to 16 hexadecimal digits (an even number).`, 'Copy the check values as printed, e.g. 08D7B4 or 7AD3 86C3 76.');
    }
  }
  return expected;
}

async function readComponentLines(count: number): Promise<string[]> {
  const lines: string[] = [];
  if (stdinIsTerminal()) {
    for (let i = 1; i <= count; i++) {
      const buf = await promptHidden(`Component ${i} of ${count}, in hexadecimal (not shown): `);
      lines.push(buf.toString('latin1'));
      buf.fill(0);
    }
    return lines;
  }
  const buf = await readStdin(LIMITS.shares, 'components');
  for (const line of buf.toString('latin1').split(/\r?\n/)) if (line.trim() !== '') lines.push(line);
  buf.fill(0);
  return lines;
}

export function registerComponentCommands(program: Command): void {
  const components = program.command('components').description('XOR key components (split knowledge for AES and TDES keys) with check values');
  const globals = () => program.opts<GlobalOptions>();
  const algorithmOption = () =>
    new Option('--algorithm <alg>', 'key algorithm, for the check values (required for 16- and 24-byte keys)').choices(['aes', 'tdes', 'AES', 'TDES']);

  components
    .command('split')
    .description('split a key into N XOR components, each with its check value')
    .requiredOption('--count <N>', `number of components (${MIN_COMPONENTS}-${MAX_COMPONENTS})`, countArg)
    .requiredOption('--key-file <file>', 'the key: raw bytes, or hexadecimal text (see --encoding)')
    .addOption(new Option('--encoding <enc>', 'how the key file is written').choices(['auto', 'hex', 'raw']).default('auto'))
    .addOption(algorithmOption())
    .action((o: { count: number; keyFile: string; encoding: SecretEncoding; algorithm?: string }) => {
      const opts = globals();
      const buf = readInputFile(o.keyFile, 'key');
      const key = decodeSecretBytes(buf, o.encoding, 'key');
      buf.fill(0);
      try {
        const split = splitIntoComponents(key, o.count, algorithmOf(o.algorithm));
        const alg = split.algorithm;
        const keyKcv = split.key;
        const parts = split.components;
        out(
          opts,
          {
            algorithm: keyKcv.algorithm,
            key: { checkValues: keyKcv },
            components: parts.map((p, i) => ({ index: i + 1, hex: toHex(p.bytes), checkValues: p.checkValues })),
          },
          () =>
            [
              `Key: ${keyKcv.algorithm}, check value ${describeKcv(alg, keyKcv)}.`,
              ...(alg === 'TDES' ? ['Every component has odd parity; the key rebuilt from them has odd parity too.'] : []),
              '',
              ...parts.flatMap((p, i) => [`Component ${i + 1} of ${parts.length}: ${formatHex(p.bytes)}`, `  check value ${describeKcv(alg, p.checkValues)}`]),
              '',
              'Give each component to a different custodian. Each checks the check value of their component when entering it,',
              'and the check value of the key once all components are combined. Check values are not secret; components are.',
            ].join('\n'),
        );
        for (const p of parts) p.bytes.fill(0);
      } finally {
        key.fill(0);
      }
    });

  components
    .command('combine')
    .description('combine N XOR components (hex, one per line on stdin, or prompts) and show the check values')
    .requiredOption('--count <N>', `number of components (${MIN_COMPONENTS}-${MAX_COMPONENTS})`, countArg)
    .addOption(algorithmOption())
    .addOption(new Option('--kcvs <list>', 'expected check value of each component, comma-separated, in order'))
    .addOption(new Option('--kcv <value>', 'expected check value of the combined key'))
    .addOption(new Option('--reveal', 'print the combined key in hexadecimal'))
    .addOption(new Option('--import', 'enter the combined key into the HSM named by --token as a new sensitive key, confirmed by its in-HSM check value (needs --algorithm, --kcvs, --label)'))
    .addOption(new Option('--label <name>', 'with --import: label of the new key (unique on the token)'))
    .addOption(new Option('--usage <list>', 'with --import: comma-separated encrypt, wrap, sign').default('encrypt'))
    .addOption(new Option('--extractable', 'with --import: the key may leave the HSM wrapped under another key (never in plaintext)'))
    .addOption(new Option('--allow-plaintext-import', 'with --import: on a token without RSA-OAEP unwrap, enter the key by plaintext C_CreateObject'))
    .action(async (o: CombineOptions) => {
      if (o.import) return importCombined(program, o);
      const opts = globals();
      // Check the expected values before reading any secret.
      const expected = expectedKcvs(o);
      const lines = await readComponentLines(o.count);
      try {
        const algorithm = algorithmOf(o.algorithm);
        const combined = combineFromComponents({
          lines,
          count: o.count,
          ...(algorithm ? { algorithm } : {}),
          ...(expected ? { expected } : {}),
          ...(o.kcv === undefined ? {} : { keyKcv: o.kcv }),
        });
        const { key, algorithm: alg, componentKcvs, keyKcv, warnings } = combined;
        try {
          for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
          out(
            opts,
            {
              algorithm: algorithmName(alg, key.length),
              components: componentKcvs.map((k, i) => ({ index: i + 1, checkValues: k, matchedExpected: expected ? true : null })),
              key: { checkValues: keyKcv, matchedExpected: o.kcv === undefined ? null : true, ...(o.reveal ? { hex: toHex(key) } : {}) },
              parityAdjusted: combined.parityAdjusted,
              warnings,
            },
            () =>
              [
                ...componentKcvs.map((k, i) => `Component ${i + 1}: check value ${describeKcv(alg, k)}${expected ? ' — as expected' : ''}`),
                `Combined ${algorithmName(alg, key.length)} key: check value ${describeKcv(alg, keyKcv)}${o.kcv !== undefined ? ' — as expected' : ''}`,
                ...(combined.parityAdjusted ? ['(Odd parity was set on the combined key; DES ignores parity bits, so the check values are unaffected.)'] : []),
                ...(o.reveal ? ['', `Key: ${formatHex(key)}`] : ['(The key itself is shown only with --reveal.)']),
              ].join('\n'),
          );
        } finally {
          key.fill(0);
        }
      } finally {
        lines.fill('');
      }
    });
}

// ---- components combine --import: the combined key into the HSM ------------------------------

interface CombineOptions {
  count: number;
  algorithm?: string;
  kcvs?: string;
  kcv?: string;
  reveal?: boolean;
  import?: boolean;
  label?: string;
  usage: string;
  extractable?: boolean;
  allowPlaintextImport?: boolean;
}

/**
 * Combines the components in this process (the share service's component import) and enters the
 * key into the token: wrapped under an ephemeral in-token RSA key, then its check value computed by
 * the HSM and compared. The key is never printed. Everything is checked before the first component is read.
 */
async function importCombined(program: Command, o: CombineOptions): Promise<void> {
  if (o.reveal) invalidInput('--reveal cannot be used with --import: a key entered into the HSM is never shown.', 'Leave out --reveal.');
  if (!o.label) invalidInput('--import needs --label NAME for the new key.', 'Add --label, e.g. --label "ZMK 2026".');
  if (!o.algorithm) invalidInput('--import needs --algorithm aes or --algorithm tdes: it decides the key type in the HSM and the check values.', 'Add --algorithm.');
  if (o.kcvs === undefined) {
    invalidInput('--import needs --kcvs: every component is confirmed by its own check value before the key enters the HSM.', 'Give the check value of each component, in order, comma-separated.');
  }
  const expected = expectedKcvs(o)!;
  const alg = algorithmOf(o.algorithm)!;
  const label = o.label;
  const usages = o.usage.split(',').map((x) => x.trim()).filter(Boolean) as KeyUsage[];
  await withCore(program, async (s, opts) => {
    const slot = await pickToken(s, opts);
    // Log in before the components are typed, so a wrong PIN costs no custodian a second entry.
    const t = await logIn(s, opts, slot, { stdinBusy: 'Give the PIN with --pin-file FILE.' });
    const lines = await readComponentLines(o.count);
    try {
      if (lines.length !== o.count) {
        throw new CustosError({
          code: lines.length < o.count ? 'QUORUM_NOT_MET' : 'COMPONENT_INVALID',
          message: `${lines.length} components were given, but --count is ${o.count}; nothing was imported.`,
          action: 'Enter exactly the components of this key, one per line.',
          details: { expected: o.count, actual: lines.length },
        });
      }
      // The CLI opens only the core services; the share service runs on their HSM client.
      const r = await new ShareService(s.hsm).importComponents(t, {
        algorithm: alg,
        components: lines,
        componentKcvs: expected,
        ...(o.kcv === undefined ? {} : { keyKcv: o.kcv }),
        label,
        usages,
        extractable: !!o.extractable,
        allowPlaintext: !!o.allowPlaintextImport,
      });
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      const hsmShown = checkValueText(alg === 'AES' ? (r.hsm.cmac ?? '') : (r.hsm.legacy ?? ''));
      out(
        opts,
        {
          imported: true,
          algorithm: r.algorithm,
          key: r.key,
          components: r.componentKcvs.map((k, i) => ({ index: i + 1, checkValues: k, matchedExpected: true })),
          checkValues: { fromComponents: r.expected, inHsm: r.hsm, matched: true },
          transport: r.transport,
          parityAdjusted: r.parityAdjusted,
          warnings: r.warnings,
        },
        () =>
          [
            ...r.componentKcvs.map((k, i) => `Component ${i + 1}: check value ${describeKcv(alg, k)} — as expected`),
            `Imported ${r.algorithm} key "${r.key.label}" into "${slot.token.label}" (${r.transport === 'plaintext' ? 'plaintext C_CreateObject: this token has no RSA-OAEP unwrap' : 'wrapped under an ephemeral in-token RSA-2048 key, RSA-OAEP'}).`,
            `Check value computed by the HSM: ${hsmShown} — matches the one computed from the components.`,
            `  uri ${r.key.uri}`,
            `  ${r.key.extractable ? 'extractable under wrap' : 'never leaves the HSM'}; uses: ${usages.join(', ')}`,
          ].join('\n'),
      );
    } finally {
      lines.fill('');
    }
  });
}
