import { useEffect, useState } from 'react';
import type { VersionSummary } from '../../../shared/archive/types';
import { api, call } from '../../api';
import { useCeremony } from '../../stores/ceremony';
import { StateBadge } from '../archive/HsmNotice';
import { planRotation, rotationOverdue } from '../archive/RotateLead';
import { algorithmName, day, PURPOSE_WORDS } from '../archive/words';

/** How far ahead "due soon" looks: a rotation is a ceremony with several people, planned weeks ahead. */
const AHEAD_DAYS = 90;

/**
 * Beside the drills: the managed keys whose active version is past, or within 90 days of, the end of
 * its originator-usage period (SP 800-57 Pt 1 §5.3: rotation due). An overdue key says so in words
 * as well as in colour, and "Rotate…" leads to the rotation's plan with the key chosen. The archive
 * answers the question (archive.search, the same query as `custos archive search --due 90`).
 */
export function RotationDashboard() {
  const record = useCeremony((s) => s.record);
  const [due, setDue] = useState<VersionSummary[] | null>(null);
  useEffect(() => {
    if (!record?.exists) return;
    let live = true;
    const to = new Date(Date.now() + AHEAD_DAYS * 86_400_000).toISOString();
    void call(api['archive.search']({ state: ['active'], rotationDue: { to }, sort: 'rotation-due', order: 'asc', limit: 200 })).then((r) => {
      if (live) setDue(r.ok ? r.value.items : []);
    });
    return () => {
      live = false;
    };
  }, [record?.exists]);
  if (!record?.exists || !due || due.length === 0) return null;
  const overdue = due.filter((v) => rotationOverdue(v)).length;
  return (
    <section className="panel drills" aria-labelledby="rotations-h" data-testid="rotation-dashboard">
      <div className="panel-head">
        <h2 id="rotations-h">Keys due for rotation</h2>
        {overdue > 0 ? (
          <span className="drills-summary overdue">
            {overdue} of {due.length} {due.length === 1 ? 'key is' : 'keys are'} overdue
          </span>
        ) : (
          <span className="drills-summary muted">None overdue; due within {AHEAD_DAYS} days</span>
        )}
      </div>
      <p className="hint panel-intro">
        Each key’s active version may protect data only for its cryptoperiod. Rotating makes a new version in the HSM and deactivates the old one, which keeps decrypting old data.
      </p>
      <div className="table-wrap">
        <table className="table drills-table">
          <caption className="sr-only">Keys whose rotation is due, soonest first</caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Active version</th>
              <th scope="col">Rotation due</th>
              <th scope="col">
                <span className="sr-only">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {due.map((v) => {
              const late = rotationOverdue(v);
              return (
                <tr key={v.versionId} className={late ? 'row-overdue' : ''} data-testid="rotation-row">
                  <th scope="row">
                    {v.label}
                    <span className="hint">
                      {algorithmName(v.algorithm)} · {PURPOSE_WORDS[v.purpose]}
                    </span>
                  </th>
                  <td className="nowrap">
                    version {v.version}, active since {day(v.activationDate)}
                  </td>
                  <td className="nowrap">
                    {late ? (
                      <>
                        <StateBadge name="Overdue" tone="warn" /> <span className="overdue">was due {day(v.rotationDue)}</span>
                      </>
                    ) : (
                      <>due {day(v.rotationDue)}</>
                    )}
                  </td>
                  <td>
                    <button type="button" className={`nowrap ${late ? 'primary' : ''}`} aria-label={`Rotate ${v.label}…`} onClick={() => planRotation(v)}>
                      Rotate…
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
