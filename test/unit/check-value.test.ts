// One way to write a check value wherever a holder compares it (shared/check-value.ts): groups of
// five, a three-byte legacy value whole; the screen's ceremony facts use it.
import { describe, expect, it } from 'vitest';
import { outcomeFacts } from '../../renderer/screens/ceremonies/words';
import { checkValueText } from '../../shared/check-value';

describe('check value text', () => {
  it('groups a 5-byte CMAC value in fives, keeps a 3-byte legacy value whole, and ignores case and spacing', () => {
    expect(checkValueText('7ad386c376')).toBe('7AD38 6C376');
    expect(checkValueText('7AD3 86C3 76')).toBe('7AD38 6C376');
    expect(checkValueText('08d7b4')).toBe('08D7B4');
    expect(checkValueText('0123456789abcdef')).toBe('01234 56789 ABCDE F');
    expect(checkValueText('')).toBe('');
  });

  it('the ceremony screen shows the key’s and each component’s check value that way', () => {
    const facts = outcomeFacts({ checkValue: '7AD386C376', checkMethod: 'AES-CMAC, X9.24-1:2017', components: [{ index: 1, name: 'Ann Archer', checkValue: 'A1B2C3D4E5' }] });
    expect(facts.find((f) => f.label.startsWith('Check value'))!.value).toBe('7AD38 6C376');
    expect(facts.find((f) => f.label === 'Component check values')!.value).toBe('1. Ann Archer: A1B2C 3D4E5');
  });
});
