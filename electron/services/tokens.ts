import { existsSync, realpathSync, statSync } from 'node:fs';
import type { ModuleEntry, SlotEntry, TokenFlags, TokenListing } from '../../shared/contract';
import { DEMO_TOKEN_LABEL } from '../../shared/demo';
import { checkPinLength, type PinLimits } from '../../shared/pin-length';
import { matchesSelector, parsePkcs11Uri, tokenUri, UriError } from '../../shared/pkcs11-uri';
import { CustosError, fail, type AppError } from '../../shared/result';
import type { HsmClient } from '../hsm/client';
import type { RawSlot } from '../hsm/protocol';
import type { ConfigStore } from './config';
import { prepareDemoFiles, type DemoEnvironment } from './demo';
import { discoverP11KitModules } from './discovery';
import { loginWarned } from './pin-login';

// PKCS#11 v2.40 §3.2 CK_TOKEN_INFO flags and §3.1 CK_SLOT_INFO flags.
const F = {
  CKF_TOKEN_PRESENT: 0x1,
  CKF_REMOVABLE_DEVICE: 0x2,
  CKF_HW_SLOT: 0x4,
  CKF_RNG: 0x1,
  CKF_WRITE_PROTECTED: 0x2,
  CKF_LOGIN_REQUIRED: 0x4,
  CKF_USER_PIN_INITIALIZED: 0x8,
  CKF_PROTECTED_AUTHENTICATION_PATH: 0x100,
  CKF_TOKEN_INITIALIZED: 0x400,
  CKF_USER_PIN_COUNT_LOW: 0x10000,
  CKF_USER_PIN_FINAL_TRY: 0x20000,
  CKF_USER_PIN_LOCKED: 0x40000,
  CKF_USER_PIN_TO_BE_CHANGED: 0x80000,
  CKF_SO_PIN_COUNT_LOW: 0x100000,
  CKF_SO_PIN_FINAL_TRY: 0x200000,
  CKF_SO_PIN_LOCKED: 0x400000,
};

export function decodeTokenFlags(flags: number): TokenFlags {
  const has = (bit: number) => (flags & bit) !== 0;
  return {
    rng: has(F.CKF_RNG),
    writeProtected: has(F.CKF_WRITE_PROTECTED),
    loginRequired: has(F.CKF_LOGIN_REQUIRED),
    userPinInitialized: has(F.CKF_USER_PIN_INITIALIZED),
    protectedAuthenticationPath: has(F.CKF_PROTECTED_AUTHENTICATION_PATH),
    initialized: has(F.CKF_TOKEN_INITIALIZED),
    userPinCountLow: has(F.CKF_USER_PIN_COUNT_LOW),
    userPinFinalTry: has(F.CKF_USER_PIN_FINAL_TRY),
    userPinLocked: has(F.CKF_USER_PIN_LOCKED),
    userPinToBeChanged: has(F.CKF_USER_PIN_TO_BE_CHANGED),
    soPinCountLow: has(F.CKF_SO_PIN_COUNT_LOW),
    soPinFinalTry: has(F.CKF_SO_PIN_FINAL_TRY),
    soPinLocked: has(F.CKF_SO_PIN_LOCKED),
  };
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return a === b;
  }
}

/**
 * Refuses a token selector that is a malformed PKCS#11 URI (RFC 7512 §2.3: the attributes it defines,
 * each once, values percent-encoded UTF-8) with INVALID_INPUT, before anything is asked of a module.
 * A plain label is always well-formed.
 */
export function checkTokenSelector(selector: string): void {
  if (!selector.toLowerCase().startsWith('pkcs11:')) return;
  try {
    parsePkcs11Uri(selector);
  } catch (e) {
    if (!(e instanceof UriError)) throw e;
    fail('INVALID_INPUT', `The token URI is not valid: ${e.message}.`, 'Copy the token URI from `custos tokens`, or name the token by its label.', { uri: selector.slice(0, 200) });
  }
}

const asError = (e: unknown): AppError =>
  e instanceof CustosError
    ? e.appError
    : { code: 'INTERNAL', message: 'Unexpected failure while talking to the module.', action: 'Try again; if it repeats, restart the app.' };

export class TokenService {
  constructor(
    private readonly hsm: HsmClient,
    private readonly config: ConfigStore,
    private readonly demo: DemoEnvironment,
  ) {}

  /** Modules this app loads: those configured, plus the demo module once the demo token exists. */
  enabledModules(): Array<{ path: string; source: 'configured' | 'demo' }> {
    const c = this.config.read();
    const out: Array<{ path: string; source: 'configured' | 'demo' }> = c.modules.map((path) => ({ path, source: 'configured' }));
    if (c.demo && this.demo.module && !out.some((m) => sameFile(m.path, this.demo.module!))) {
      out.push({ path: this.demo.module, source: 'demo' });
    }
    return out;
  }

  private isDemoModule(path: string): boolean {
    return this.demo.available && this.demo.module !== null && sameFile(path, this.demo.module) && this.config.read().demo;
  }

  describeRawSlot(module: string, raw: RawSlot): SlotEntry {
    const demo = this.isDemoModule(module);
    return {
      module,
      slotId: raw.slotId,
      slotDescription: raw.description,
      slotManufacturer: raw.manufacturer,
      removable: (raw.flags & F.CKF_REMOVABLE_DEVICE) !== 0,
      hardware: (raw.flags & F.CKF_HW_SLOT) !== 0,
      token: raw.token
        ? {
            label: raw.token.label,
            manufacturer: raw.token.manufacturer,
            model: raw.token.model,
            serial: raw.token.serial,
            uri: tokenUri(raw.token),
            flags: decodeTokenFlags(raw.token.flags),
            minPinLength: raw.token.minPinLength,
            maxPinLength: raw.token.maxPinLength,
            loggedIn: raw.token.loggedIn,
            demo: demo && raw.token.label === DEMO_TOKEN_LABEL,
          }
        : null,
    };
  }

  async listing(): Promise<TokenListing> {
    const modules: ModuleEntry[] = [];
    const slots: SlotEntry[] = [];
    const enabled = this.enabledModules();
    for (const { path, source } of enabled) {
      const name = source === 'demo' ? 'SoftHSM2 (demo token)' : path.split('/').pop() ?? path;
      try {
        const library = await this.hsm.call('load', { path });
        const raw = await this.hsm.call('slots', { path });
        modules.push({ path, name, source, enabled: true, status: 'loaded', library });
        // SoftHSM always offers one empty, uninitialised token for C_InitToken; hide it.
        for (const s of raw) if (!(source === 'demo' && s.token && (s.token.flags & F.CKF_TOKEN_INITIALIZED) === 0)) slots.push(this.describeRawSlot(path, s));
      } catch (e) {
        modules.push({ path, name, source, enabled: true, status: 'error', error: asError(e) });
      }
    }
    for (const d of discoverP11KitModules()) {
      if (enabled.some((m) => sameFile(m.path, d.path))) continue;
      modules.push({ path: d.path, name: d.name, source: 'p11-kit', enabled: false, status: 'not-loaded' });
    }
    return { modules, slots };
  }

  /**
   * The listing for modules named for one command only (the CLI's --module): nothing is read from
   * or written to the configuration, and a module that fails to load is an error, not an entry.
   */
  async listingOf(paths: readonly string[]): Promise<TokenListing> {
    const modules: ModuleEntry[] = [];
    const slots: SlotEntry[] = [];
    for (const path of paths) {
      const library = await this.hsm.call('load', { path });
      modules.push({ path, name: path.split('/').pop() ?? path, source: 'configured', enabled: true, status: 'loaded', library });
      for (const raw of await this.hsm.call('slots', { path })) slots.push(this.describeRawSlot(path, raw));
    }
    return { modules, slots };
  }

  async addModule(path: string): Promise<ModuleEntry> {
    if (!existsSync(path)) {
      fail('MODULE_NOT_FOUND', `There is no file at ${path}.`, "Check the path of the vendor's PKCS#11 library (.so), or install the vendor's package.", { path });
    }
    if (!statSync(path).isFile()) {
      fail('MODULE_INVALID', `${path} is not a file.`, "Choose the vendor's PKCS#11 library file (.so).", { path });
    }
    const library = await this.hsm.call('load', { path });
    this.config.update((c) => (c.modules.some((p) => sameFile(p, path)) ? c : { ...c, modules: [...c.modules, path] }));
    return { path, name: path.split('/').pop() ?? path, source: 'configured', enabled: true, status: 'loaded', library };
  }

  async removeModule(path: string): Promise<{ removed: boolean }> {
    let removed = false;
    this.config.update((c) => {
      removed = c.modules.includes(path);
      return { ...c, modules: c.modules.filter((m) => m !== path) };
    });
    if (removed) await this.hsm.call('unload', { path });
    return { removed };
  }

  /** Runs work for the window only on a configured module (the renderer must not load libraries). */
  withConfigured<T>(module: string, work: () => Promise<T>): Promise<T> {
    this.requireEnabled(module);
    return work();
  }

  private requireEnabled(module: string): void {
    if (!this.enabledModules().some((m) => sameFile(m.path, module))) {
      fail('MODULE_NOT_CONFIGURED', 'That PKCS#11 module is not configured in Custos.', 'Add the module first (Tokens → Add module), then try again.', { module });
    }
  }

  async createDemo(soPin: string, userPin: string): Promise<SlotEntry> {
    const demo = this.demo;
    if (!demo.available || !demo.module) {
      fail('DEMO_UNAVAILABLE', 'The demo token cannot be created on this computer.', demo.reason ?? 'Install SoftHSM2.');
    }
    const module = demo.module!;
    prepareDemoFiles(demo);
    // Look at the token folder itself, not only at config.json: a crash between creating the token
    // and saving the configuration must not lead to a second demo token.
    const existing = (await this.hsm.call('slots', { path: module })).find(
      (s) => s.token?.label === DEMO_TOKEN_LABEL && (s.token.flags & F.CKF_TOKEN_INITIALIZED) !== 0,
    );
    if (existing) {
      this.config.update((c) => ({ ...c, demo: true }));
      if ((existing.token!.flags & F.CKF_USER_PIN_INITIALIZED) === 0) {
        fail('DEMO_UNAVAILABLE', 'A demo token exists but its creation was interrupted before the user PIN was set.', `Delete the folder ${demo.tokenDir} to start again, then create the demo token.`);
      }
      fail('DEMO_UNAVAILABLE', 'The demo token already exists.', 'Use it from the token list; log in with the PIN you chose when you created it.');
    }
    for (const [name, value] of [['SO PIN', soPin], ['User PIN', userPin]] as const) {
      if (value.length < 4) fail('PIN_LEN_RANGE', `The ${name} must have at least 4 characters.`, `Choose a longer ${name}.`);
    }
    const free = (await this.hsm.call('slots', { path: module })).find((s) => s.token && (s.token.flags & F.CKF_TOKEN_INITIALIZED) === 0);
    if (!free) {
      fail('DEMO_UNAVAILABLE', 'SoftHSM2 offered no free slot for the demo token.', 'Restart the app and try again.');
    }
    const created = await this.hsm.call('initToken', { path: module, slotId: free!.slotId, soPin, label: DEMO_TOKEN_LABEL });
    const raw = await this.hsm.call('initUserPin', { path: module, token: tokenUri(created.token!), soPin, userPin });
    this.config.update((c) => ({ ...c, demo: true }));
    return this.describeRawSlot(module, raw);
  }

  /**
   * Logs in. From the window only configured modules may be used (the renderer must not make main
   * load arbitrary libraries); the CLI passes its explicit --module with requireConfigured false.
   */
  async login(module: string, token: string, pin: string, role: 'user' | 'so', requireConfigured = true, limits?: PinLimits): Promise<SlotEntry> {
    if (requireConfigured) this.requireEnabled(module);
    checkTokenSelector(token);
    await this.checkPin(module, token, pin, limits);
    return this.describeRawSlot(module, await loginWarned(this.hsm, { path: module, token, role, pin }));
  }

  /**
   * Checks the PIN's length against the token's ulMinPinLen/ulMaxPinLen before C_Login: on a real
   * card a PIN of the wrong length costs a try (issue #11). Callers that listed the token pass its
   * limits; otherwise they are read from the token info. A token that cannot be found here is left
   * to the login itself, which names the problem.
   */
  private async checkPin(module: string, token: string, pin: string, limits?: PinLimits): Promise<void> {
    let known = limits;
    if (!known) {
      const found = (await this.hsm.call('slots', { path: module })).filter((s) => s.token && matchesSelector(token, s.token));
      if (found.length === 1) known = found[0]!.token!;
    }
    if (known) checkPinLength(pin, known);
  }

  /**
   * Changes the user PIN (or the SO PIN) after logging in with the current one, so that a wrong
   * current PIN gets the same tries-left warnings as any login (PKCS#11 §5.6 C_SetPIN acts on the
   * logged-in role).
   */
  async changePin(module: string, token: string, oldPin: string, newPin: string, role: 'user' | 'so', requireConfigured = true, limits?: PinLimits): Promise<void> {
    // The new PIN is checked first: a PIN the token would refuse is not worth a login.
    if (limits) checkPinLength(newPin, limits, 'This token');
    await this.login(module, token, oldPin, role, requireConfigured, limits);
    if (!limits) await this.checkPin(module, token, newPin);
    await this.hsm.call('changePin', { path: module, token, oldPin, newPin });
  }

  async logout(module: string, token: string, requireConfigured = true): Promise<SlotEntry> {
    if (requireConfigured) this.requireEnabled(module);
    return this.describeRawSlot(module, await this.hsm.call('logout', { path: module, token }));
  }
}
