// The app's ceremony.* handlers: thin, over the ceremony service. The window may use configured
// PKCS#11 modules only (withConfigured); the card modules a person names are checked the same way.
import type { BundleVerdictView, DefinitionView } from '../../../shared/ceremony/contract';
import { resolveSteps } from '../../../shared/ceremony/definition';
import type { Handlers } from '../../ipc/handle';
import type { CeremonyAction, CeremonyService } from './service';

type CeremonyHandlers = Pick<Handlers, 'ceremony.record' | 'ceremony.definitions' | 'ceremony.list' | 'ceremony.view' | 'ceremony.plan' | 'ceremony.act' | 'ceremony.bundle' | 'ceremony.cancel'>;

export function ceremonyHandlers(x: { ceremonies: CeremonyService; withConfigured<T>(module: string, work: () => Promise<T>): Promise<T> }): CeremonyHandlers {
  const c = x.ceremonies;
  /** The workstation module, and a card's module when the action names one, must be configured. */
  const guarded = async <T>(modules: string[], work: () => Promise<T>): Promise<T> => {
    let run = work;
    for (const m of [...new Set(modules)].reverse()) {
      const inner = run;
      run = () => x.withConfigured(m, inner);
    }
    return run();
  };
  return {
    'ceremony.record': () => c.status(),
    'ceremony.definitions': async (): Promise<DefinitionView[]> =>
      c.definitions().map((d) => ({
        id: d.id,
        revision: d.revision,
        type: d.type,
        title: d.title,
        summary: d.summary,
        steps: resolveSteps(d.definition, () => 1).map((s) => ({ id: s.id, kind: s.kind, title: s.title })),
      })),
    'ceremony.list': () => c.list(),
    'ceremony.view': ({ run }) => c.view(run),
    'ceremony.plan': ({ module, token, definition, params, participants }) =>
      // A restore may name another token's module: the window may load no library that is not configured.
      guarded([module, ...destinationModule(params)], async () => c.plan({ module, token }, { definition: typeof definition === 'string' ? definition : await c.parseDefinition(definition.text), params, participants })),
    'ceremony.act': ({ module, token, run, by, action }) => {
      const card = 'proof' in action && 'card' in action.proof ? [action.proof.card.module] : 'card' in action ? [action.card.module] : [];
      return guarded([module, ...card], async () => {
        const r = await c.act({ module, token }, run, action as CeremonyAction, by);
        // A sealed hand-over: the window is told where the share went; the envelope is saved by main (files.save).
        if (!r.sealed) return r;
        const { envelope: _e, ...sealed } = r.sealed;
        void _e;
        return { ...r, sealed };
      });
    },
    'ceremony.cancel': async ({ run }) => ({ cancelled: c.cancel(run) }),
    'ceremony.bundle': async ({ run }): Promise<BundleVerdictView> => {
      const v = await c.view(run);
      if (!v.bundle) return { ok: false, path: '', hash: null, pinned: false, checks: [{ check: 'the ceremony has an evidence bundle', ok: false }] };
      const verdict = await c.verifyBundle(c.bundlePath(v.bundle.name));
      return { ok: verdict.ok, path: verdict.path, hash: verdict.hash, pinned: verdict.pinned, checks: verdict.checks };
    },
  };
}

/** The module of a restore's destination token, when the parameters name one (the service checks the rest). */
function destinationModule(params: Record<string, unknown>): string[] {
  const d = params.destination;
  if (d && typeof d === 'object' && 'module' in d && typeof d.module === 'string') return [d.module];
  return [];
}
