// Archive bundles (docs/FORMAT.md "Archive bundle"): records carried between workstations' archives.
export { exportBundle } from './export';
export { importBundle } from './import';
export { readBundle, type CheckedBundle } from './read';
export { trustWorkstation } from './trust';
export type { BundleManifest, BundleRecord } from './format';
