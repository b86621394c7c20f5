import type { TokenFlags as Flags } from '../../shared/contract';

type Tone = 'info' | 'warn' | 'danger';

export function tokenFlagChips(f: Flags): Array<{ text: string; tone: Tone }> {
  const chips: Array<{ text: string; tone: Tone }> = [];
  if (f.userPinLocked) chips.push({ text: 'User PIN locked', tone: 'danger' });
  else if (f.userPinFinalTry) chips.push({ text: 'Final PIN try', tone: 'danger' });
  else if (f.userPinCountLow) chips.push({ text: 'Few PIN tries left', tone: 'warn' });
  if (f.soPinLocked) chips.push({ text: 'SO PIN locked', tone: 'danger' });
  else if (f.soPinFinalTry) chips.push({ text: 'SO PIN: final try', tone: 'danger' });
  else if (f.soPinCountLow) chips.push({ text: 'SO PIN: few tries left', tone: 'warn' });
  if (f.userPinToBeChanged) chips.push({ text: 'PIN must be changed', tone: 'warn' });
  if (!f.initialized) chips.push({ text: 'Not initialised', tone: 'warn' });
  else if (!f.userPinInitialized) chips.push({ text: 'No user PIN set', tone: 'warn' });
  if (f.loginRequired) chips.push({ text: 'Login required', tone: 'info' });
  if (f.protectedAuthenticationPath) chips.push({ text: 'PIN pad', tone: 'info' });
  if (f.writeProtected) chips.push({ text: 'Write-protected', tone: 'info' });
  return chips;
}

export function TokenFlags({ flags }: { flags: Flags }) {
  return (
    <ul className="chips" aria-label="Token status">
      {tokenFlagChips(flags).map((c) => (
        <li key={c.text} className={`chip chip-${c.tone}`}>
          {c.text}
        </li>
      ))}
    </ul>
  );
}
