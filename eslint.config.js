// One lint tool (ESLint + typescript-eslint). Besides the usual rules it holds the architecture:
// renderer → shared ← electron; shared/ is pure (no node:*, no electron, no react); only
// electron/hsm may load pkcs11js (only its host side: see hsmBoundary); only the archive/audit
// services may touch SQLite; the CLI's start-up path loads no command, service or heavy library
// before it knows the command.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

const restrict = (patterns, paths = []) => ['error', { patterns, paths }];

// What every `custos` command line loads before its command (the CLI's door, the command table,
// the root command) stays small: each call loads only what its command needs (issue #12 part 7).
// Dynamic imports are not restricted: they are how the rest is loaded. These files get the HSM
// boundary's patterns too (one typescript-eslint rule per file: a later block would replace it).
const CLI_STARTUP = ['electron/cli/{commonjs,main,argv,table,load,program,output,early-host,exit-codes}.ts'];
const CLI_STARTUP_PATTERNS = [
  { group: ['./commands/*'], allowTypeImports: true, message: 'Command modules load on demand, through cli/table.ts.' },
  { group: ['./context', './session', './share-input'], allowTypeImports: true, message: 'Service plumbing loads with the commands that open services.' },
  {
    group: ['../services/*', '!../services/config', '!../services/version', '!../services/demo'],
    allowTypeImports: true,
    message: 'Services load when a command opens them (cli/context.ts).',
  },
  { group: ['zod', '@peculiar/*', 'asn1js', 'qrcode', 'pdfkit', 'better-sqlite3'], allowTypeImports: true, message: 'Libraries load with the command that uses them.' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'node_modules/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-console': 'off',
    },
  },
  {
    // The import graph has no circle (issue #12): a module that needs one that needs it back is two
    // topics in one file, or a type in the wrong place. Type-only imports count too.
    files: ['electron/**/*.ts', 'shared/**/*.ts', 'renderer/**/*.{ts,tsx}'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.json'] })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/extensions': ['.ts', '.tsx', '.js'],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        { group: ['node:*'], message: 'shared/ is pure TypeScript: no Node APIs.' },
        { group: ['**/electron/**', '**/renderer/**', '../electron', '../renderer'], message: 'Dependencies point renderer → shared ← electron.' },
      ], ['fs', 'path', 'os', 'crypto', 'child_process', 'electron', 'react', 'react-dom', 'zustand', 'pkcs11js', 'better-sqlite3'].map((name) => ({ name, message: 'shared/ is pure: no Node APIs and no runtime.' }))),
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': restrict([
        { group: ['node:*', 'electron', 'pkcs11js', 'better-sqlite3', 'playwright-core'], message: 'The renderer is sandboxed: it talks only through window.custos.' },
        { group: ['**/electron/**', '../electron', '../../electron'], message: 'Dependencies point renderer → shared ← electron.' },
      ]),
    },
  },
  {
    files: ['electron/**/*.ts'],
    ignores: ['electron/hsm/**'],
    rules: {
      'no-restricted-imports': restrict([
        { group: ['**/renderer/**', '../renderer', '../../renderer'], message: 'Main must not import renderer code.' },
        { group: ['pkcs11js', 'custos-p11batch'], message: 'Only electron/hsm/ loads pkcs11js and the batch addon (pkcs11js only in the HSM host process).' },
      ]),
    },
  },
  {
    files: ['electron/hsm/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([{ group: ['**/renderer/**', '../renderer', '../../renderer'], message: 'Main must not import renderer code.' }]),
    },
  },
  {
    files: ['electron/**/*.ts'],
    ignores: ['electron/services/archive/**', 'electron/services/audit/**'],
    rules: {
      'no-restricted-syntax': ['error', { selector: "ImportDeclaration[source.value='better-sqlite3']", message: 'Only the archive and audit services touch SQLite.' }],
    },
  },
  ...hsmBoundary(),
);

// The HSM boundary (docs/ARCHITECTURE.md): the main side (all of electron/ but hsm/host) never
// imports the host side (hsm/host, the code of the host process); the host never imports the
// client side or the services; hsm/protocol, between them, imports neither. Inside electron/hsm,
// pkcs11js is loaded only by the host and the batch addon only by hsm/protocol/addon.ts.
// These use typescript-eslint's twin of no-restricted-imports, so that another block restricting
// imports of the same files cannot replace them (flat config replaces a rule's options, it does
// not merge them), and they cannot replace another block's.
function hsmBoundary() {
  const rule = (...patterns) => ({ '@typescript-eslint/no-restricted-imports': restrict(patterns) });
  const mainSide = 'Main-side code reaches the HSM host only through electron/hsm/client (messages in electron/hsm/protocol): hsm/host runs in the host process.';
  const toHost = (paths, message = mainSide) => ({ group: paths, message });
  const pkcs11 = { group: ['pkcs11js'], message: 'Only the HSM host process (electron/hsm/host) loads pkcs11js.' };
  const addon = { group: ['custos-p11batch'], message: 'The batch addon is loaded in one place: import it from electron/hsm/protocol/addon.ts.' };
  const toClient = (message) => ({ group: ['../client', '../client/**', '**/hsm/client', '**/hsm/client/**'], message });
  const toServices = (message) => ({ group: ['**/services', '**/services/**'], message });
  const hostAlone = 'The HSM host process imports only electron/hsm/protocol, its own folder and shared/: never the client side or the services.';
  const between = 'electron/hsm/protocol sits between the client and the host: it imports neither side, nor the services.';
  return [
    {
      files: ['electron/**/*.ts'],
      ignores: ['electron/hsm/host/**', 'electron/hsm/client/**', 'electron/hsm/protocol/**', ...CLI_STARTUP],
      rules: rule(toHost(['**/hsm/host', '**/hsm/host/**']), pkcs11, addon),
    },
    { files: CLI_STARTUP, rules: rule(toHost(['**/hsm/host', '**/hsm/host/**']), pkcs11, addon, ...CLI_STARTUP_PATTERNS) },
    { files: ['electron/hsm/client/**/*.ts'], rules: rule(toHost(['../host', '../host/**', '**/hsm/host', '**/hsm/host/**']), pkcs11, addon) },
    { files: ['electron/hsm/host/**/*.ts'], rules: rule(toClient(hostAlone), toServices(hostAlone), addon) },
    {
      files: ['electron/hsm/protocol/**/*.ts'],
      ignores: ['electron/hsm/protocol/addon.ts'],
      rules: rule(toHost(['../host', '../host/**'], between), toClient(between), toServices(between), pkcs11, addon),
    },
    { files: ['electron/hsm/protocol/addon.ts'], rules: rule(toHost(['../host', '../host/**'], between), toClient(between), toServices(between), pkcs11) },
  ];
}
