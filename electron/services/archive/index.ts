// The archive service's public face (docs/ARCHITECTURE.md "The archive service"): the door both
// front ends open archives through, the open archive (ArchiveService), bundles, and the app's
// handlers. Code outside archive/ imports from here.
export { actorName, ARCHIVE_FILE, ArchiveDoor, type FrontEnd } from './door';
export { archiveHandlers, type ArchiveHandlerDeps } from './handlers';
export { ArchiveService, type AddItem, type AddResult, type ArchiveOpenOptions, type RestoreTemplate } from './service';
export { exportBundle, importBundle, readBundle, trustWorkstation } from './bundle/index';
export { refFromSelector } from './hsmkeys';
export { refuseDestroyOutsideCeremony } from './transitions';
