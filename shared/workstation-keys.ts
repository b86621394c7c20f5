// The labels of the workstation's own keys: the archive's KEK, MAC and audit keys (archive/init.ts)
// and a backup ceremony's short-lived Backup Key. The key screens and `custos key` refuse to destroy
// or relabel them (electron/services/key-checks.ts); only the destruction ceremony destroys them,
// under the custodians' quorum and a witness (issue #10 part 5). Shared so the Keys screen offers
// the ceremony instead of the plain destroy.
export const WORKSTATION_KEY = /^custos-(archive-kek|archive-mac|audit|backup-key)\//;

export const isWorkstationKey = (label: string): boolean => WORKSTATION_KEY.test(label);
