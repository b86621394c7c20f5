import { channelOf, contract, METHOD_NAMES, type MethodInput, type MethodName, type MethodOutput } from '../../shared/contract';
import { err, ok, toAppError, type Result } from '../../shared/result';

export interface CallContext {
  /** URL of the frame that sent the request, as the shell reports it. */
  senderUrl: string;
}

export type Handlers = {
  [M in MethodName]: (input: MethodInput<M>, ctx: CallContext) => Promise<MethodOutput<M>>;
};

const METHOD_BY_CHANNEL = new Map(METHOD_NAMES.map((m) => [channelOf(m), m]));

export interface DispatchOptions {
  isTrustedSender(ctx: CallContext): boolean;
  log?(line: string): void;
}

/**
 * The one handle() wrapper: sender check, schema check, Result wrapping. Both shells (Electron's
 * ipcMain and the preview shell's Playwright binding) call requests through it, so no handler can
 * skip a check. Payloads are `unknown` until the contract's schema accepts them.
 */
export function createDispatcher(handlers: Handlers, options: DispatchOptions) {
  return async function dispatch(channel: unknown, payload: unknown, ctx: CallContext): Promise<Result<unknown>> {
    const method = typeof channel === 'string' ? METHOD_BY_CHANNEL.get(channel) : undefined;
    if (!method) {
      return err({ code: 'UNKNOWN_METHOD', message: 'The window asked for an operation that does not exist.', action: 'Restart the app; if it repeats, report it.' });
    }
    if (!options.isTrustedSender(ctx)) {
      options.log?.(`refused ${method} from untrusted frame`);
      return err({ code: 'UNTRUSTED_SENDER', message: 'A request came from a page that is not part of Custos and was refused.', action: 'Restart the app.' });
    }
    const parsed = contract[method].input.safeParse(payload);
    if (!parsed.success) {
      // Name the fields and the rule broken, never the values: a value may be a PIN.
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`);
      return err({
        code: 'INVALID_INPUT',
        message: `The request was not accepted: ${problems.slice(0, 3).join('; ')}.`,
        action: 'Correct the highlighted fields and try again.',
        details: { method },
      });
    }
    try {
      const handler = handlers[method] as (input: unknown, ctx: CallContext) => Promise<unknown>;
      return ok(await handler(parsed.data, ctx));
    } catch (e) {
      const error = toAppError(e);
      options.log?.(`${method} failed: ${error.code}${error.details?.ckr ? ` (${String(error.details.ckr)})` : ''}`);
      return err(error);
    }
  };
}

export type Dispatch = ReturnType<typeof createDispatcher>;
// Defined in shared/result.ts (the CLI maps errors without loading the contract's schemas).
export { toAppError };
