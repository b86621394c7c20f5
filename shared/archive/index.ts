// The archive's pure domain: lifecycle, cryptoperiod policy, canonical encoding, shapes for the UI.
export * from './audit-key';
export * from './canonical';
export * from './lifecycle';
export * from './policy';
export * from './types';
export * from './validate';
