import { useId, useState, type FormEvent } from 'react';
import { KEY_STATES, type KeyState } from '../../../shared/archive/lifecycle';
import { PURPOSES, type Purpose } from '../../../shared/archive/policy';
import { ErrorNotice } from '../../components/ErrorNotice';
import { PAGE_SIZE, useArchive, type ArchiveQuery } from '../../stores/archive';
import { StateBadge } from './HsmNotice';
import { RetrieveButton } from './RetrieveLead';
import { rotationOverdue } from './RotateLead';
import { ALGORITHMS, algorithmName, day, identityOf, PURPOSE_WORDS, STATE_WORDS, when } from './words';

type DateField = 'created' | 'activated' | 'deactivated' | 'rotationDue';
const DATE_FIELDS: Array<{ id: DateField; text: string }> = [
  { id: 'activated', text: 'Activated' },
  { id: 'deactivated', text: 'Deactivated' },
  { id: 'rotationDue', text: 'Rotation due' },
  { id: 'created', text: 'Archived' },
];
const SORTS: Array<{ id: NonNullable<ArchiveQuery['sort']>; text: string }> = [
  { id: 'label', text: 'Label' },
  { id: 'activation', text: 'Activation date' },
  { id: 'rotation-due', text: 'Rotation due' },
  { id: 'created', text: 'Date archived' },
];

/** The day after a YYYY-MM-DD date (search ranges end before their "to" date; people mean "up to and including"). */
function dayAfter(d: string): string {
  const t = new Date(`${d}T00:00:00.000Z`);
  t.setUTCDate(t.getUTCDate() + 1);
  return t.toISOString().slice(0, 10);
}

/** Search: the old-data question first, then filters, then the results with paging. */
export function SearchView() {
  return (
    <>
      <OldDataQuestion />
      <Filters />
      <Results />
    </>
  );
}

function OldDataQuestion() {
  const [date, setDate] = useState('');
  const [time, setTime] = useState('');
  const [purpose, setPurpose] = useState<Purpose>('data-encryption');
  const ids = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!date) return;
    const on = time ? `${date}T${time}:00.000Z` : `${date}T00:00:00.000Z`;
    const words = `Which ${PURPOSE_WORDS[purpose].toLowerCase()} key protected data written on ${date}${time ? ` at ${time} UTC` : ''}?`;
    void useArchive.getState().search({ activeFor: { purpose, on } }, words);
  };
  return (
    <section className="panel panel-question" aria-labelledby={`${ids}-h`}>
      <h2 id={`${ids}-h`}>Find the key that protected data written on a given day</h2>
      <p className="panel-intro muted">The archive answers with the version that was active for that purpose then — the one that can decrypt that data.</p>
      <form className="question" aria-label="Find the key that protected old data" onSubmit={submit}>
        <div className="field">
          <label htmlFor={`${ids}-date`}>Data written on</label>
          <input id={`${ids}-date`} type="date" required value={date} min="1970-01-01" max="2999-12-31" onChange={(e) => setDate(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-time`}>At (UTC, optional)</label>
          <input id={`${ids}-time`} type="time" value={time} aria-describedby={`${ids}-time-hint`} onChange={(e) => setTime(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-purpose`}>Protected by a key for</label>
          <select id={`${ids}-purpose`} value={purpose} onChange={(e) => setPurpose(e.target.value as Purpose)}>
            {PURPOSES.map((p) => (
              <option key={p} value={p}>
                {PURPOSE_WORDS[p]}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="primary">
          Find the key
        </button>
      </form>
      <p id={`${ids}-time-hint`} className="hint">
        Give the time too if the key was rotated that day; without it, the start of the day (00:00 UTC) is used.
      </p>
    </section>
  );
}

function Filters() {
  const ids = useId();
  const [label, setLabel] = useState('');
  const [tag, setTag] = useState('');
  const [algorithm, setAlgorithm] = useState('');
  const [state, setState] = useState<KeyState | ''>('');
  const [purpose, setPurpose] = useState<Purpose | ''>('');
  const [dateField, setDateField] = useState<DateField>('activated');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [sort, setSort] = useState<NonNullable<ArchiveQuery['sort']>>('label');
  const [order, setOrder] = useState<'asc' | 'desc'>('asc');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const q: ArchiveQuery = { sort, order };
    const words: string[] = [];
    if (label.trim()) {
      q.label = label.trim();
      words.push(label.trim().endsWith('*') ? `label starts with “${label.trim().slice(0, -1)}”` : `label “${label.trim()}”`);
    }
    if (tag.trim()) {
      q.tags = tag
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean);
      words.push(`tagged ${q.tags.join(', ')}`);
    }
    if (algorithm) {
      q.algorithm = [algorithm];
      words.push(algorithmName(algorithm));
    }
    if (state) {
      q.state = [state];
      words.push(STATE_WORDS[state].name.toLowerCase());
    }
    if (purpose) {
      q.purpose = [purpose];
      words.push(`for ${PURPOSE_WORDS[purpose].toLowerCase()}`);
    }
    if (from || to) {
      q[dateField] = { ...(from ? { from } : {}), ...(to ? { to: dayAfter(to) } : {}) };
      const f = DATE_FIELDS.find((d) => d.id === dateField)!.text.toLowerCase();
      words.push(`${f} ${from ? `from ${from}` : ''}${from && to ? ' ' : ''}${to ? `up to ${to}` : ''}`);
    }
    void useArchive.getState().search(q, `Search: ${words.length ? words.join(', ') : 'all versions'}.`);
  };
  const clear = () => {
    setLabel('');
    setTag('');
    setAlgorithm('');
    setState('');
    setPurpose('');
    setFrom('');
    setTo('');
  };

  return (
    <section className="panel" aria-labelledby={`${ids}-h`}>
      <h2 id={`${ids}-h`}>Search the archive</h2>
      <form className="filters" aria-label="Search the archive" onSubmit={submit}>
        <div className="field">
          <label htmlFor={`${ids}-label`}>Label</label>
          <input id={`${ids}-label`} value={label} maxLength={129} aria-describedby={`${ids}-label-hint`} onChange={(e) => setLabel(e.target.value)} />
          <p id={`${ids}-label-hint`} className="hint">
            The exact label; end with * to match its start (Pay*).
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-tag`}>Tags</label>
          <input id={`${ids}-tag`} value={tag} maxLength={200} aria-describedby={`${ids}-tag-hint`} onChange={(e) => setTag(e.target.value)} />
          <p id={`${ids}-tag-hint`} className="hint">
            Separated by commas; all must be present.
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-alg`}>Algorithm</label>
          <select id={`${ids}-alg`} value={algorithm} onChange={(e) => setAlgorithm(e.target.value)}>
            <option value="">Any</option>
            {ALGORITHMS.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-state`}>State</label>
          <select id={`${ids}-state`} value={state} onChange={(e) => setState(e.target.value as KeyState | '')}>
            <option value="">Any</option>
            {KEY_STATES.map((s) => (
              <option key={s} value={s}>
                {STATE_WORDS[s].name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-purpose`}>Purpose</label>
          <select id={`${ids}-purpose`} value={purpose} onChange={(e) => setPurpose(e.target.value as Purpose | '')}>
            <option value="">Any</option>
            {PURPOSES.map((p) => (
              <option key={p} value={p}>
                {PURPOSE_WORDS[p]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-sort`}>Sort by</label>
          <select id={`${ids}-sort`} value={sort} onChange={(e) => setSort(e.target.value as typeof sort)}>
            {SORTS.map((s) => (
              <option key={s.id} value={s.id}>
                {s.text}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-order`}>Order</label>
          <select id={`${ids}-order`} value={order} onChange={(e) => setOrder(e.target.value as 'asc' | 'desc')}>
            <option value="asc">{sort === 'label' ? 'A to Z' : 'Oldest first'}</option>
            <option value="desc">{sort === 'label' ? 'Z to A' : 'Newest first'}</option>
          </select>
        </div>
        <fieldset className="daterange">
          <legend>Dates (UTC)</legend>
          <label className="sr-only" htmlFor={`${ids}-df`}>
            Which date
          </label>
          <select id={`${ids}-df`} value={dateField} onChange={(e) => setDateField(e.target.value as DateField)}>
            {DATE_FIELDS.map((d) => (
              <option key={d.id} value={d.id}>
                {d.text}
              </option>
            ))}
          </select>
          <label htmlFor={`${ids}-from`}>from</label>
          <input id={`${ids}-from`} type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
          <label htmlFor={`${ids}-to`}>to</label>
          <input id={`${ids}-to`} type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </fieldset>
        <div className="toolbar filters-actions">
          <button type="submit" className="primary">
            Search
          </button>
          <button type="button" onClick={clear}>
            Clear the filters
          </button>
        </div>
      </form>
    </section>
  );
}

function Results() {
  const { page, query, queryWords, searchError, searching, open, page_ } = useArchive();
  const ids = useId();
  if (searchError) return <ErrorNotice error={searchError} title="The search did not run" />;
  if (!page || !query) {
    return searching ? (
      <p role="status" className="status-busy">
        Searching…
      </p>
    ) : null;
  }
  const first = page.items.length ? page.offset + 1 : 0;
  const last = page.offset + page.items.length;
  const oldData = query.activeFor;
  const only = oldData && page.items.length === 1 && page.offset === 0 ? page.items[0]! : null;
  return (
    <section className="panel" aria-labelledby={`${ids}-h`} aria-busy={searching} data-testid="archive-results">
      <div className="panel-head">
        <h2 id={`${ids}-h`} tabIndex={-1}>
          Results <span className="muted count">({page.total ?? page.items.length})</span>
        </h2>
        <span className="muted" role="status">
          {searching ? 'Searching…' : page.items.length ? `Showing ${first}–${last}${page.total !== undefined ? ` of ${page.total}` : ''}` : ''}
        </span>
      </div>
      <p className="results-for">{queryWords}</p>
      {oldData && page.items.length === 0 ? (
        <p className="answer" data-testid="old-data-answer">
          No archived version was active for {PURPOSE_WORDS[oldData.purpose].toLowerCase()} on {when(oldData.on)}.
        </p>
      ) : null}
      {only ? (
        <>
          <p className="answer" data-testid="old-data-answer">
            Version {only.version} of “{only.label}” was the active {PURPOSE_WORDS[oldData!.purpose].toLowerCase()} key on {when(oldData!.on)}: it is the key that can
            decrypt that data.
          </p>
          {only.hasMaterial ? (
            <div className="toolbar answer-action" data-testid="old-data-retrieve">
              <RetrieveButton v={only} />
              <span className="hint">Brings it back into the HSM with the retrieval ceremony: a stated purpose, the custodians’ approvals, a witness.</span>
            </div>
          ) : (
            <p className="hint answer-action">Its material was destroyed: it can no longer be retrieved.</p>
          )}
        </>
      ) : null}
      {!oldData && page.items.length === 0 ? <p>No archived version matches.</p> : null}
      {page.items.length > 0 ? (
        <div className="table-wrap">
          <table className="table results">
            <thead>
              <tr>
                <th scope="col">Key and version</th>
                <th scope="col">State</th>
                <th scope="col">Purpose</th>
                <th scope="col">Algorithm</th>
                <th scope="col">Active from</th>
                <th scope="col">Deactivated</th>
                <th scope="col">Rotation due</th>
                <th scope="col">Check value / fingerprint</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((v) => (
                <tr key={v.versionId} className={rotationOverdue(v) ? 'row-overdue' : ''}>
                  <td>
                    <button type="button" className="link" onClick={() => void open(v.versionId)}>
                      {v.label} <span className="nowrap">— version {v.version}</span>
                    </button>
                    {v.tags.length ? <span className="muted tags">{v.tags.join(', ')}</span> : null}
                  </td>
                  <td>
                    <StateBadge name={STATE_WORDS[v.state].name} tone={STATE_WORDS[v.state].tone} />
                  </td>
                  <td>{PURPOSE_WORDS[v.purpose]}</td>
                  <td>{algorithmName(v.algorithm)}</td>
                  <td className="nowrap">{day(v.activationDate)}</td>
                  <td className="nowrap">{day(v.deactivationDate)}</td>
                  <td className="nowrap">
                    {day(v.rotationDue)}
                    {rotationOverdue(v) ? (
                      <>
                        {' '}
                        <StateBadge name="Overdue" tone="warn" />
                      </>
                    ) : null}
                  </td>
                  <td className="mono nowrap">{identityOf(v)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {page.offset > 0 || page.hasMore ? (
        <div className="toolbar pager" role="group" aria-label="Pages">
          <button type="button" disabled={page.offset === 0 || searching} onClick={() => void page_(Math.max(0, page.offset - PAGE_SIZE))}>
            ← Previous {PAGE_SIZE}
          </button>
          <button type="button" disabled={!page.hasMore || searching} onClick={() => void page_(page.offset + PAGE_SIZE)}>
            Next {PAGE_SIZE} →
          </button>
        </div>
      ) : null}
    </section>
  );
}
