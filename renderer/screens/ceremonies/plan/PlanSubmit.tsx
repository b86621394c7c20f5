import type { AppError } from '../../../../shared/result';
import { ErrorNotice } from '../../../components/ErrorNotice';

/** The plan's submit row and main's answer, the same in every form. */
export function PlanSubmit({ busy, error, disabled, why, text }: { busy: boolean; error: AppError | null; disabled?: boolean; why?: string | null; text: string }) {
  return (
    <div className="plan-submit">
      {error ? <ErrorNotice error={error} title="The ceremony was not planned" /> : null}
      <div className="toolbar">
        <button type="submit" className="primary" disabled={busy || disabled}>
          {busy ? 'Planning… (main checks every value before the HSM is touched)' : text}
        </button>
        {why ? <span className="hint">{why}</span> : null}
      </div>
    </div>
  );
}
