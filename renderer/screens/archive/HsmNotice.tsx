import { useApp } from '../../stores/app';
import type { HsmReadiness } from '../../stores/archive';
import { slotKey, useTokens } from '../../stores/tokens';

/**
 * Says which token to log in to for a step that needs the archive's keys, and takes the user there.
 * Renders nothing when the token is logged in.
 */
export function HsmNotice({ hsm, toDo, testId }: { hsm: HsmReadiness; toDo: string; testId?: string }) {
  const go = useApp((s) => s.go);
  if (hsm.state === 'ready') return null;
  if (hsm.state === 'unknown') {
    return (
      <div className="notice notice-warn" role="status" data-testid={testId}>
        <p>The archive does not record which token holds its keys, so Custos cannot {toDo} from here.</p>
      </div>
    );
  }
  if (hsm.state === 'absent') {
    return (
      <div className="notice notice-warn" role="status" data-testid={testId}>
        <p>
          To {toDo}, connect token <strong>“{hsm.label}”</strong>, which holds the archive’s keys, and log in to it as user.
        </p>
        <button type="button" onClick={() => go('tokens')}>
          Go to Tokens
        </button>
      </div>
    );
  }
  const slot = hsm.slot;
  return (
    <div className="notice notice-warn" role="status" data-testid={testId}>
      <p>
        To {toDo}, log in to token <strong>“{hsm.label}”</strong> as user: it holds the archive’s keys.
      </p>
      <button
        type="button"
        className="primary"
        onClick={() => {
          useTokens.getState().select(slotKey(slot));
          go('tokens', { login: true });
        }}
      >
        Log in to “{hsm.label}”
      </button>
    </div>
  );
}

/** A state as a badge: its name in words, coloured calmly by what it means. */
export function StateBadge({ name, tone }: { name: string; tone: string }) {
  return <span className={`badge state-badge state-${tone}`}>{name}</span>;
}
