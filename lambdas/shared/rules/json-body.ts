import type { z } from 'zod';
import { type ErrorDetail, InvalidRequestError } from './errors.ts';
import { jsonShapeProblem } from './json-shape.ts';

/**
 * Turn zod issues into details: a path and a message each. Paths name only the schema's own
 * fields (every schema is strict), and no message quotes the input: unknown keys are counted,
 * never listed, since a key may be anything a client sent (a card number, a token).
 */
export function detailsOf(error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({
    path: formatPath(issue.path),
    message:
      issue.code === 'unrecognized_keys'
        ? `has ${issue.keys.length} unknown field${issue.keys.length === 1 ? '' : 's'}; unknown fields are refused`
        : issue.message,
  }));
}

/**
 * Fields whose keys are the client's own (tag metadata, tool JSON, JSON schemas): a path stops at
 * them, so an error never quotes a key the client chose (a card number, a token).
 */
const CLIENT_KEYED = new Set(['requestMetadata', 'metadata', 'json', 'input', 'logit_bias']);
const clientKeyed = (path: ReadonlyArray<PropertyKey>, i: number) =>
  CLIENT_KEYED.has(String(path[i])) || (path[i] === 'parameters' && path[i - 1] === 'function');

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  const cut = path.findIndex((_key, i) => i > 0 && clientKeyed(path, i - 1));
  const shown = cut < 0 ? path : path.slice(0, cut);
  return shown.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  );
}

/** The paths of the strings (and keys) in a parsed value that are not well-formed UTF-16. */
function illFormedPaths(value: unknown, path: PropertyKey[] = []): string[] {
  if (typeof value === 'string') return value.isWellFormed() ? [] : [formatPath(path)];
  if (Array.isArray(value)) return value.flatMap((item, index) => illFormedPaths(item, [...path, index]));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) =>
    key.isWellFormed() ? illFormedPaths(item, [...path, key]) : [formatPath(path)],
  );
}

/**
 * Parse a JSON request body, the one way every route does: not empty, no key twice in one
 * object, not nested too deep, valid JSON, the schema, and well-formed text in every string
 * (JSON escapes such as "\ud800" give lone surrogates that JSON.parse lets through). Anything
 * wrong is an InvalidRequestError whose details never quote the body. `subject` names the
 * body in the schema message ("The budget").
 */
export function parseJsonBody<S extends z.ZodType>(
  body: string | null | undefined,
  schema: S,
  subject: string,
): z.output<S> {
  if (body == null || body.trim() === '') throw new InvalidRequestError('The request body is empty.');
  const shape = jsonShapeProblem(body);
  if (shape) throw new InvalidRequestError(`The request body is refused: ${shape}.`);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidRequestError('The request body is not valid JSON.');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidRequestError(`${subject} does not match the schema.`, detailsOf(parsed.error));
  }
  const illFormed = illFormedPaths(parsed.data);
  if (illFormed.length > 0) {
    throw new InvalidRequestError(
      'The request body holds text that is not well-formed Unicode.',
      illFormed.map((path) => ({ path, message: 'must be well-formed Unicode text' })),
    );
  }
  return parsed.data;
}
