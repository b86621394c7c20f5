import { useApp } from '../../stores/app';
import { useCeremony } from '../../stores/ceremony';
import { presentSlots, useTokens } from '../../stores/tokens';
import { RUN_STATUS } from './words';

export const SETUP_DEFINITION = 'custos/workstation-setup';

/**
 * No workstation record yet: the one thing to do is the set-up ceremony. Says what it does, who
 * must be in the room and what they bring, before anyone starts.
 */
export function SetupLanding() {
  const show = useCeremony((s) => s.show);
  const openRun = useCeremony((s) => s.openRun);
  const runs = useCeremony((s) => s.runs);
  const go = useApp((s) => s.go);
  const listing = useTokens((s) => s.listing);
  const loggedIn = presentSlots(listing).filter((s) => s.token?.loggedIn === 'user');
  const inProgress = (runs ?? []).filter((r) => r.type === 'workstation-setup' && r.status === 'running');

  return (
    <section className="panel panel-question landing" aria-labelledby="landing-h" data-testid="setup-landing">
      <h2 id="landing-h">This workstation is not set up yet</h2>
      <div className="prose">
        <p>
          Before any key ceremony, the workstation needs its <strong>record</strong>: the register of the people who take part, the
          quorum policy, and the archive’s own keys, made inside the workstation HSM. The <strong>workstation set-up ceremony</strong>{' '}
          creates it, step by step, with everyone in the room.
        </p>
      </div>
      {inProgress.length > 0 ? (
        <div className="notice notice-warn" role="status">
          <p>
            A set-up ceremony is already in progress ({RUN_STATUS.running.name.toLowerCase()}, started {inProgress[0]!.startedAt.slice(11, 16)} UTC).
          </p>
          <button type="button" className="primary" onClick={() => void openRun(inProgress[0]!.run)}>
            Continue the set-up
          </button>
        </div>
      ) : null}
      <div className="landing-grid">
        <div>
          <h3>What will happen</h3>
          <ol className="landing-list">
            <li>The administrator reads each name and role aloud; the witness vouches for who is in the room.</li>
            <li>The operator confirms the workstation HSM is logged in.</li>
            <li>Custos creates the record and the archive’s keys (Archive KEK, MAC key, audit signing key) inside the HSM.</li>
            <li>Each person, in turn, inserts their own card and enters its PIN: a key pair is made inside the card.</li>
            <li>Everyone reads the ceremony fingerprint aloud; two custodians approve the quorum policy with their cards.</li>
            <li>The witness signs off with their card; Custos writes a signed evidence bundle.</li>
          </ol>
        </div>
        <div>
          <h3>What you need</h3>
          <ul className="landing-list">
            <li>
              <strong>The people:</strong> an administrator, an operator, at least two custodians and a witness (the witness is not a
              custodian).
            </li>
            <li>
              <strong>Their cards:</strong> each person’s own smartcard and its PIN (or, where allowed, a passphrase they choose).
            </li>
            <li>
              <strong>The workstation token, logged in as user:</strong>{' '}
              {loggedIn.length > 0 ? (
                <span className="status-ok">“{loggedIn[0]!.token!.label}” is logged in.</span>
              ) : (
                <>
                  no token is logged in yet.{' '}
                  <button type="button" className="link" onClick={() => go('tokens')}>
                    Go to Tokens to log in
                  </button>
                </>
              )}
            </li>
          </ul>
        </div>
      </div>
      <div className="toolbar">
        <button type="button" className="primary" onClick={() => show({ kind: 'plan', definition: SETUP_DEFINITION })}>
          Plan the workstation set-up…
        </button>
      </div>
    </section>
  );
}
