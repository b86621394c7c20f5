// The bookkeeping behind the renderer's useAction hook (renderer/hooks/action.ts): busy while a
// request is out, the typed error kept, double submits ignored, nothing published after unmount.
import { describe, expect, it } from 'vitest';
import type { AppError, Result } from '../../shared/result';
import { createAction, type ActionView } from '../../renderer/hooks/action';

const locked: AppError = { code: 'PIN_LOCKED', message: 'The PIN is locked.', action: 'Ask the security officer to unlock it.' };

/** A request that answers when the test says so. */
function pending<T>() {
  let answer!: (r: Result<T>) => void;
  const promise = new Promise<Result<T>>((resolve) => (answer = resolve));
  return { promise, answer };
}

function setup() {
  const views: ActionView[] = [];
  const runner = createAction((v) => views.push(v));
  return { views, runner };
}

describe('createAction', () => {
  it('is busy while the request is out, and keeps the typed error', async () => {
    const { views, runner } = setup();
    const p = pending<number>();
    const done = runner.run(() => p.promise);
    expect(views).toEqual([{ busy: true, error: null }]);
    p.answer({ ok: false, error: locked });
    expect(await done).toEqual({ ok: false, error: locked });
    expect(views.at(-1)).toEqual({ busy: false, error: locked });
  });

  it('clears the error when the next run starts and when it succeeds', async () => {
    const { views, runner } = setup();
    await runner.run(async () => ({ ok: false, error: locked }));
    const r = await runner.run(async () => ({ ok: true, value: 7 }));
    expect(r).toEqual({ ok: true, value: 7 });
    expect(views.slice(2)).toEqual([
      { busy: true, error: null },
      { busy: false, error: null },
    ]);
  });

  it('ignores a second run while the first is out, and runs again afterwards', async () => {
    const { runner } = setup();
    const p = pending<string>();
    let calls = 0;
    const first = runner.run(() => {
      calls++;
      return p.promise;
    });
    const second = await runner.run(async () => {
      calls++;
      return { ok: true, value: 'twice' };
    });
    expect(second).toBeNull();
    p.answer({ ok: true, value: 'once' });
    expect(await first).toEqual({ ok: true, value: 'once' });
    expect(calls).toBe(1);
    expect(await runner.run(async () => ({ ok: true, value: 'again' }))).toEqual({ ok: true, value: 'again' });
  });

  it('publishes nothing once the form has gone, but still answers (the stores must learn what main did)', async () => {
    const { views, runner } = setup();
    const p = pending<number>();
    const done = runner.run(() => p.promise);
    runner.detach();
    p.answer({ ok: true, value: 1 });
    expect(await done).toEqual({ ok: true, value: 1 });
    expect(views).toEqual([{ busy: true, error: null }]);
  });

  it('is live again after a remount (StrictMode mounts twice)', async () => {
    const { views, runner } = setup();
    runner.detach();
    runner.attach();
    await runner.run(async () => ({ ok: false, error: locked }));
    expect(views.at(-1)).toEqual({ busy: false, error: locked });
  });

  it('reset forgets the error, and publishes only when there was one', async () => {
    const { views, runner } = setup();
    runner.reset();
    expect(views).toEqual([]);
    await runner.run(async () => ({ ok: false, error: locked }));
    runner.reset();
    expect(views.at(-1)).toEqual({ busy: false, error: null });
  });

  it('a run whose work throws leaves the form usable', async () => {
    const { views, runner } = setup();
    await expect(runner.run(() => Promise.reject(new Error('bridge')))).rejects.toThrow('bridge');
    expect(views.at(-1)).toEqual({ busy: false, error: null });
    expect(await runner.run(async () => ({ ok: true, value: 1 }))).toEqual({ ok: true, value: 1 });
  });
});
