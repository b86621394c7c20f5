// One lint tool (ESLint + typescript-eslint). Besides the usual rules it holds the architecture:
// renderer → shared ← electron; shared/ is pure (no node:*, no electron, no react); only
// electron/hsm may load pkcs11js; only the archive/audit services may touch SQLite; the CLI's start-up
// path loads no command, service or heavy library before it knows the command.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const restrict = (patterns, paths = []) => ['error', { patterns, paths }];

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
    // What every `custos` command line loads before its command (the CLI's door, the command table,
    // the root command) stays small: each call loads only what its command needs (issue #12 part 7).
    // Dynamic imports are not restricted: they are how the rest is loaded.
    files: ['electron/cli/{commonjs,main,argv,table,load,program,output,early-host,exit-codes}.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['./commands/*'], allowTypeImports: true, message: 'Command modules load on demand, through cli/table.ts.' },
            { group: ['./context', './session', './share-input'], allowTypeImports: true, message: 'Service plumbing loads with the commands that open services.' },
            {
              group: ['../services/*', '!../services/config', '!../services/version', '!../services/demo'],
              allowTypeImports: true,
              message: 'Services load when a command opens them (cli/context.ts).',
            },
            { group: ['zod', '@peculiar/*', 'asn1js', 'qrcode', 'pdfkit', 'better-sqlite3'], allowTypeImports: true, message: 'Libraries load with the command that uses them.' },
          ],
        },
      ],
    },
  },
  {
    files: ['electron/**/*.ts'],
    ignores: ['electron/services/archive/**', 'electron/services/audit/**'],
    rules: {
      'no-restricted-syntax': ['error', { selector: "ImportDeclaration[source.value='better-sqlite3']", message: 'Only the archive and audit services touch SQLite.' }],
    },
  },
);
