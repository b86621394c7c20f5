// Row ids of the archive: UUID version 7 (RFC 9562 §5.7): 48 bits of Unix time in milliseconds,
// then 12 bits used as a counter within the millisecond (RFC 9562 §6.2, "fixed bit-length dedicated
// counter", seeded at random each new millisecond), then 62 random bits.
//
// Why not version 4: ids are keys of the archive's indexes (key_versions.id, the audit log's
// by-object and by-key indexes). Random ids put every insert — and every audit entry of a pass over
// the archive in table order, such as the Archive KEK rotation — on a random page of a large index,
// and each such page is written to the WAL whole. Time-ordered ids keep neighbouring rows on
// neighbouring index pages. The time in the id is already in the row (created_at); nothing secret.
// Ids of rows created before this change are version 4; readers treat ids as opaque text.
import { randomBytes } from 'node:crypto';

let lastMs = -1;
let counter = 0;

/** A new UUIDv7, strictly greater (as text) than the previous one from this process. */
export function uuidv7(now: number = Date.now()): string {
  const rand = randomBytes(10);
  if (now > lastMs) {
    lastMs = now;
    // Seeded below 0x800 so that at least 2,048 more ids fit in this millisecond.
    counter = ((rand[0]! << 8) | rand[1]!) & 0x7ff;
  } else if (counter < 0xfff) {
    counter += 1;
  } else {
    // 4,096 ids in one millisecond (or the clock went back): borrow the next millisecond.
    lastMs += 1;
    counter = 0;
  }
  const b = Buffer.alloc(16);
  b.writeUIntBE(lastMs, 0, 6);
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 0xff;
  rand.copy(b, 8, 2, 10);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
