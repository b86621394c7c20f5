// What a command line asks for, read before anything else loads: the command word, whether the
// command will use the HSM host, and the data folder. Pure, and small, because dist/cli.cjs reads it
// to start the host first (cli/host.ts). It decides only what loads and when the host starts;
// commander still decides what the command line means.

/** Global options that take a value (commander reads them before or after the command word). */
const VALUE_OPTIONS = new Set(['--module', '--token', '--pin-file', '--data-dir', '--operator']);

/** Where the arguments that are not options or option values of the root command are, in order. */
function operands(argv: readonly string[]): number[] {
  const at: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) at.push(i);
  }
  return at;
}

/** The command word (`sign`, `shares`, …) and the arguments after it. */
export function commandOf(argv: readonly string[]): { word: string; rest: readonly string[] } | undefined {
  const at = operands(argv)[0];
  return at === undefined ? undefined : { word: argv[at]!, rest: argv.slice(at + 1) };
}

/** `custos --version` (or -V) with no command: nothing but the version is needed. */
export function versionOnly(argv: readonly string[]): boolean {
  if (commandOf(argv)) return false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return false;
    if (VALUE_OPTIONS.has(a)) i++;
    else if (a === '--version' || a === '-V') return true;
  }
  return false;
}

export function optionValue(argv: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === name) value = argv[++i];
    else if (a.startsWith(`${name}=`)) value = a.slice(name.length + 1);
  }
  return value;
}

const has = (rest: readonly string[], option: string): boolean => rest.some((a) => a === option || a.startsWith(`${option}=`));
const sub = (rest: readonly string[]): string | undefined => commandOf(rest)?.word;

/** Archive commands that open the archive's keys in the HSM (the others read the file alone). */
const ARCHIVE_HSM = new Set(['init', 'add', 'state', 'export', 'import', 'trust']);

/** For each command word that may use the HSM: whether it will, given the arguments after the word. */
const USES_HSM: Readonly<Record<string, (rest: readonly string[]) => boolean>> = {
  tokens: () => true,
  login: () => true,
  token: () => true,
  key: () => true,
  sign: () => true,
  verify: () => true,
  hmac: () => true,
  encrypt: () => true,
  decrypt: () => true,
  random: () => true,
  wrap: () => true,
  unwrap: () => true,
  shares: (rest) => {
    const s = sub(rest);
    return s === 'unseal' || (s === 'seal' && has(rest, '--to-key')) || (s === 'combine' && has(rest, '--sealed'));
  },
  components: (rest) => sub(rest) === 'combine' && has(rest, '--import'),
  // Reading a ceremony, the register or a bundle needs only the record file.
  ceremony: (rest) => !['list', 'status', 'definitions', 'lint', 'bundle', 'verify-bundle', undefined].includes(sub(rest)),
  archive: (rest) => {
    const s = sub(rest);
    return (s !== undefined && ARCHIVE_HSM.has(s)) || (s === 'verify' && !has(rest, '--no-hsm'));
  },
};

export function needsHsm(argv: readonly string[]): boolean {
  const c = commandOf(argv);
  return c !== undefined && (USES_HSM[c.word]?.(c.rest) ?? false);
}
