import type { RunView } from '../../../../shared/ceremony/view';

/** Who takes part, in which roles, with which credential, and who has proved presence. */
export function People({ view }: { view: RunView }) {
  return (
    <section className="panel" aria-labelledby="people-h">
      <h2 id="people-h">People</h2>
      <ul className="plain people-list" data-testid="people">
        {view.participants.map((p) => (
          <li key={p.person} className="people-item">
            <span className="people-name">{p.name}</span>
            <span className="people-roles">{p.roleTitles.join(', ')}</span>
            <span className="hint">
              {p.credential ? (p.credential.kind === 'card' ? 'card' : 'passphrase') : 'not enrolled yet'}
              {p.present ? ' · ✓ present' : ''}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
