'use strict';
// The compiled addon, or null when it was not built (no compiler or no pkcs11.h): the host then
// runs batches through pkcs11js one item at a time, with the same results.
let addon = null;
try {
  addon = require('./build/Release/p11batch.node');
} catch {
  addon = null;
}
module.exports = addon;
