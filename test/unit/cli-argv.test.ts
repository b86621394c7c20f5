import { describe, expect, it } from 'vitest';
import { commandOf, needsHsm, optionValue, versionOnly } from '../../electron/cli/argv';

// What dist/cli.cjs reads from a command line before loading anything: which command, whether to
// start the HSM host now, and where the data folder is. A wrong answer only costs time (commander
// still parses the command line), but it must not start a host for offline commands.
describe('the CLI reads the command line before it loads', () => {
  it('finds the command word past global options and their values', () => {
    expect(commandOf(['--module', '/x.so', '--token', 'sign', 'key', 'list'])?.word).toBe('key');
    expect(commandOf(['--json', 'shares', 'split', '--threshold', '2'])).toEqual({ word: 'shares', rest: ['split', '--threshold', '2'] });
    expect(commandOf(['--pin-file=pin', 'sign'])?.word).toBe('sign');
    expect(commandOf(['--json'])).toBeUndefined();
    expect(commandOf(['--', 'sign'])).toBeUndefined();
  });

  it('starts the HSM host only for commands that will use it', () => {
    for (const argv of [['tokens'], ['--token', 'T', 'sign', '--key', 'k'], ['key', 'list'], ['token', 'caps'], ['login', '--so']]) {
      expect(needsHsm(argv), argv.join(' ')).toBe(true);
    }
    expect(needsHsm(['shares', 'unseal', '--in', 'e.json'])).toBe(true);
    expect(needsHsm(['shares', 'seal', '--to-key', 'custodian'])).toBe(true);
    expect(needsHsm(['shares', 'seal', '--to-public-key', 'k.pem'])).toBe(false);
    expect(needsHsm(['shares', 'combine', '--sealed', 'e.json'])).toBe(true);
    expect(needsHsm(['shares', 'combine', '--record', 'r.json'])).toBe(false);
    expect(needsHsm(['shares', 'split', '--threshold', '2', '--shares', '3'])).toBe(false);
    expect(needsHsm(['components', 'combine', '--count', '2', '--import'])).toBe(true);
    expect(needsHsm(['components', 'combine', '--count', '2'])).toBe(false);
    expect(needsHsm(['archive', 'add', '--archive', 'a'])).toBe(true);
    expect(needsHsm(['archive', 'search', '--archive', 'a'])).toBe(false);
    expect(needsHsm(['archive', 'verify', '--archive', 'a', '--no-hsm'])).toBe(false);
    expect(needsHsm(['audit', 'verify', '--archive', 'a'])).toBe(false);
    expect(needsHsm(['--version'])).toBe(false);
    expect(needsHsm(['no-such-command'])).toBe(false);
  });

  it('knows `--version` alone, and the data folder the command will use', () => {
    expect(versionOnly(['--version'])).toBe(true);
    expect(versionOnly(['--json', '-V'])).toBe(true);
    expect(versionOnly(['--data-dir', '--version'])).toBe(false);
    expect(versionOnly(['sign', '--version'])).toBe(false);
    expect(optionValue(['--data-dir', '/a', 'tokens'], '--data-dir')).toBe('/a');
    expect(optionValue(['tokens', '--data-dir=/b'], '--data-dir')).toBe('/b');
    expect(optionValue(['tokens'], '--data-dir')).toBeUndefined();
  });
});
