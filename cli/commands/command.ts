import { CliError, type ClientOptions, callApi } from '../client.ts';
import type { Format } from '../format.ts';

/** One call to the sentry: the answer's JSON body, or a CliError describing the API's error. */
export type Api = (
  method: string,
  path: string,
  query?: Record<string, string | undefined>,
  body?: unknown,
) => Promise<Record<string, unknown>>;

/** The parsed command-line options. */
export type Values = Record<string, string | boolean | undefined>;

/** What every command gets: the API, the output format, the options and the positionals after the group. */
export interface CommandContext {
  api: Api;
  format: Format;
  values: Values;
  /** The positionals after the group: a command (`list`, `create`, ...) and its target, or a prompt. */
  args: string[];
}

/** A mistake in the command line: the CLI exits 2. */
export class UsageError extends CliError {}

/** A numeric option's value, or a UsageError naming the option. */
export function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, not '${value}'`);
  return n;
}

/** An option's comma-separated list, trimmed, without empty items. */
export function listOption(values: Values, name: string): string[] | undefined {
  return (values[name] as string | undefined)
    ?.split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

/** An API error as one readable block: code, status, message and each detail. */
export function describeError(status: number, body: unknown, retryAfter?: number): string {
  const error = (
    body as {
      error?: { code?: string; message?: string; details?: Array<{ path: string; message: string }> };
    }
  )?.error;
  if (!error) return `the sentry answered HTTP ${status}`;
  const details = (error.details ?? []).map((d) => `\n  ${d.path}: ${d.message}`).join('');
  const retry = retryAfter === undefined ? '' : `\n  Retry-After: ${retryAfter} seconds`;
  return `${error.code} (HTTP ${status}): ${error.message}${details}${retry}`;
}

/** The API as the commands call it: an error answer becomes a CliError. */
export function apiOf(client: ClientOptions): Api {
  return async (method, path, query, body) => {
    const answer = await callApi(client, method, path, query, body);
    if (answer.status >= 400)
      throw new CliError(describeError(answer.status, answer.body, answer.retryAfter));
    return answer.body as Record<string, unknown>;
  };
}
