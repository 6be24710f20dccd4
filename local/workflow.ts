import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';
import { STATE_LIMIT_BYTES } from '../lib/config/schema.ts';
import { ASL_PATH, FUNCTIONS, type FunctionName, substitute } from '../state-machines/definition.ts';

const localArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:cost-sentry-${name}`;

/** The definition with local function ARNs substituted. */
export function localDefinition(): Record<string, unknown> {
  const substitutions = Object.fromEntries(
    Object.entries(FUNCTIONS).map(([key, name]) => [key, localArn(name)]),
  );
  return JSON.parse(substitute(readFileSync(ASL_PATH, 'utf8'), substitutions)) as Record<string, unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: Lambda handlers take and return JSON of any shape
export type LambdaHandler = (event: any) => Promise<unknown>;

/** What StartSyncExecution answers, in the fields the response template reads. */
export interface SyncExecutionResult {
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  output?: string;
  error?: string;
  cause?: string;
}

export interface LocalWorkflowOptions {
  /** Milliseconds to pause before each retry, by state name, instead of the definition's backoff. */
  retryIntervalOverrides?: Record<string, number>;
  /**
   * Told how long each function invocation took, in wall time and in this process's CPU time
   * (user + system), and the error report of one that threw (the benchmark and the cost model
   * read them).
   */
  onInvoke?: (
    functionName: FunctionName,
    milliseconds: number,
    cpuMilliseconds: number,
    errorReport?: string,
  ) => void;
}

interface TaskState {
  Type: string;
  Parameters?: { FunctionName?: string };
}

/**
 * The real state machine definition run by aws-local-stepfunctions, its Lambda tasks served
 * by in-process handlers. Each call is shaped as the Lambda service shapes it: the result comes
 * back under `Payload`, and a thrown error becomes Error = its name and Cause = the JSON the
 * Node.js runtime reports (`errorType`, `errorMessage`, `trace`). A state over 262,144 bytes
 * fails the execution with States.DataLimitExceeded, past every Retry and Catch, as on AWS.
 */
export class LocalWorkflow {
  readonly #machine: StateMachine;
  readonly #overrides: Record<string, (input: unknown) => Promise<unknown>>;
  readonly #options: LocalWorkflowOptions;

  constructor(handlers: Record<FunctionName, LambdaHandler>, options: LocalWorkflowOptions = {}) {
    const definition = localDefinition();
    this.#machine = new StateMachine(definition as never, {
      validationOptions: { checkArn: true, checkPaths: true },
    });
    this.#options = options;
    const byArn = new Map(
      (Object.entries(handlers) as Array<[FunctionName, LambdaHandler]>).map(([name, handler]) => [
        localArn(name),
        { name, handler },
      ]),
    );
    this.#overrides = {};
    const states = (definition.States ?? {}) as Record<string, TaskState>;
    for (const [stateName, state] of Object.entries(states)) {
      if (state.Type !== 'Task') continue;
      const target = byArn.get(state.Parameters?.FunctionName ?? '');
      if (!target) throw new Error(`state ${stateName} names a function with no local handler`);
      const { name: functionName, handler } = target;
      this.#overrides[stateName] = async (input) => {
        // Every task passes the whole state as its payload, so this is the state the previous
        // step (or Catch) left; SettleUsage's result is the execution's output.
        // One JSON text each way, as Lambda passes it: sized once and parsed once.
        const payload = JSON.stringify((input as { Payload?: unknown }).Payload ?? null);
        assertStateFits(payload);
        const started = performance.now();
        const cpu = options.onInvoke ? process.cpuUsage() : undefined;
        let output: string;
        let failure: Error | undefined;
        try {
          output = await invokeLikeLambda(handler, payload);
        } catch (error) {
          failure = error as Error;
          throw error;
        } finally {
          if (cpu) {
            const used = process.cpuUsage(cpu);
            const cpuMs = (used.user + used.system) / 1000;
            options.onInvoke?.(functionName, performance.now() - started, cpuMs, failure?.message);
          }
        }
        assertStateFits(output);
        return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: JSON.parse(output) };
      };
    }
  }

  /** Run one execution to its end, like StartSyncExecution (which refuses an input over the limit). */
  async run(input: unknown): Promise<SyncExecutionResult> {
    if (stateBytes(input) > STATE_LIMIT_BYTES) {
      throw new Error(`the execution input is over the ${STATE_LIMIT_BYTES}-byte limit`);
    }
    const execution = this.#machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: this.#overrides as never,
        ...(this.#options.retryIntervalOverrides
          ? { retryIntervalOverrides: this.#options.retryIntervalOverrides }
          : {}),
      },
    });
    try {
      const output = await execution.result;
      return { status: 'SUCCEEDED', output: JSON.stringify(output) };
    } catch (error) {
      // The library wraps the failure in an ExecutionError whose cause is the Fail state's error.
      const err =
        (error as Error).name === 'ExecutionError' ? ((error as Error).cause as Error) : (error as Error);
      if (err.name === 'ExecutionTimeoutError') return { status: 'TIMED_OUT' };
      return { status: 'FAILED', error: err.name, cause: err.message };
    }
  }
}

const stateBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');

/**
 * Fail as Step Functions does when a state passes the limit: States.DataLimitExceeded, a
 * terminal error that neither Retry nor Catch (not even States.ALL) matches.
 */
function assertStateFits(json: string): void {
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes <= STATE_LIMIT_BYTES) return;
  const error = new Error(`The state has ${bytes} bytes, over the ${STATE_LIMIT_BYTES}-byte limit.`);
  error.name = 'States.DataLimitExceeded';
  // aws-local-stepfunctions reads these to skip Retry and Catch, as it does for States.Runtime.
  throw Object.assign(error, { isRetryable: false, isCatchable: false });
}

/** Call a handler as the Lambda service does: it gets the payload parsed from JSON and answers JSON. */
async function invokeLikeLambda(handler: LambdaHandler, payload: string): Promise<string> {
  try {
    // JSON both ways: a Lambda sees and returns JSON, never shared objects.
    return JSON.stringify((await handler(JSON.parse(payload))) ?? null);
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    // As the Node.js runtime reports it: the trace is the stack, whose first line repeats the message.
    const trace = (err.stack ?? `${err.name}: ${err.message}`).split('\n');
    const failure = new Error(JSON.stringify({ errorType: err.name, errorMessage: err.message, trace }));
    failure.name = err.name;
    throw failure;
  }
}
