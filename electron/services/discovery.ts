import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';

// p11-kit module files (p11-kit "Module Configuration"): one file per module, a `module:` line with
// an absolute path, or a name relative to p11-kit's module directory.

export const P11KIT_CONFIG_DIRS = ['/usr/share/p11-kit/modules', '/etc/pkcs11/modules'];
const P11KIT_MODULE_DIRS = [
  '/usr/lib/x86_64-linux-gnu/pkcs11',
  '/usr/lib/aarch64-linux-gnu/pkcs11',
  '/usr/lib64/pkcs11',
  '/usr/lib/pkcs11',
];

export const SOFTHSM_CANDIDATES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib64/pkcs11/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
];

export function findSoftHsm(): string | null {
  if (process.env.CUSTOS_SOFTHSM_MODULE) return process.env.CUSTOS_SOFTHSM_MODULE;
  return SOFTHSM_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

export interface DiscoveredModule {
  name: string;
  path: string;
  file: string;
}

export function discoverP11KitModules(dirs = [...P11KIT_CONFIG_DIRS, join(homedir(), '.config/pkcs11/modules')]): DiscoveredModule[] {
  const out: DiscoveredModule[] = [];
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries.filter((e) => e.endsWith('.module')).sort()) {
      const file = join(dir, entry);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      const line = /^\s*module:\s*(.+?)\s*$/m.exec(text)?.[1];
      if (!line) continue;
      const path = isAbsolute(line) ? line : (P11KIT_MODULE_DIRS.map((d) => join(d, line)).find((p) => existsSync(p)) ?? null);
      if (!path || !existsSync(path)) continue;
      if (out.some((m) => m.path === path)) continue;
      out.push({ name: basename(entry, '.module'), path, file });
    }
  }
  return out;
}
