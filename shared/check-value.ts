// How a check value is written wherever a person compares one with another (the screen, a printed
// component sheet or record, the CLI's text): upper-case hex in groups of five, so the 10-digit
// AES-CMAC value of X9.24-1:2017 reads "ABCDE 12345" everywhere; a six-digit legacy TDES value stays
// whole ("ABCDEF"), as payment HSMs print it. One function, so the sheet and the screen cannot drift.
export const CHECK_VALUE_GROUP = 5;

export function checkValueText(hex: string): string {
  const up = hex.replace(/\s+/g, '').toUpperCase();
  if (up.length <= 6) return up;
  return (up.match(new RegExp(`.{1,${CHECK_VALUE_GROUP}}`, 'g')) ?? []).join(' ');
}
