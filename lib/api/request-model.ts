/**
 * The shape API Gateway's request validator checks before anything runs: a JSON object with
 * `model` and `prompt`, and `tags` as an object when given (an API key bound to one cost center,
 * application and environment may leave them out). ValidateRequest checks everything else, with details. The local
 * gateway applies the same model, so both answer alike.
 */
export const INVOKE_REQUEST_MODEL = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  title: 'InvokeRequest',
  type: 'object',
  required: ['model', 'prompt'],
  properties: {
    model: { type: 'string' },
    prompt: { type: 'object' },
    tags: { type: 'object' },
  },
} as const;

type JsonType = 'string' | 'object';

const typeOf = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;

/** Does the body satisfy the model (the draft-04 subset it uses: type, required, properties' types)? */
export function matchesInvokeModel(body: string): boolean {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return false;
  }
  if (typeOf(json) !== INVOKE_REQUEST_MODEL.type) return false;
  const object = json as Record<string, unknown>;
  if (!INVOKE_REQUEST_MODEL.required.every((key) => Object.hasOwn(object, key))) return false;
  return Object.entries(INVOKE_REQUEST_MODEL.properties).every(
    ([key, rule]) => !Object.hasOwn(object, key) || typeOf(object[key]) === (rule.type as JsonType),
  );
}

/** The 400 answer for a body the model refuses. */
export const INVALID_BODY_MESSAGE =
  'The request body must be a JSON object with model, prompt and tags (an object); see the API reference.';
