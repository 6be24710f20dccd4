import { Compile, parse } from 'velocityjs';

/**
 * A Java String as API Gateway's VTL engine sees it: `replaceAll` takes a regular expression and
 * `length()` is a method. velocityjs passes string literals through verbatim, as Velocity does.
 */
class JavaString {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  replaceAll(regex: string, replacement: string): JavaString {
    return new JavaString(this.value.replace(new RegExp(regex, 'g'), () => replacement));
  }
  length(): number {
    return this.value.length;
  }
  toString(): string {
    return this.value;
  }
}

const hex = (code: number, width: number) => code.toString(16).toUpperCase().padStart(width, '0');

/** Java commons-lang escapeJavaScript, as API Gateway's `$util.escapeJavaScript`. */
export function escapeJavaScript(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const ch = text[i] as string;
    if (code > 0x7f) out += `\\u${hex(code, 4)}`;
    else if (code < 32) {
      const named: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };
      out += named[code] ?? `\\u${hex(code, 4)}`;
    } else if (ch === "'" || ch === '"' || ch === '\\' || ch === '/') out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/** The JSONPath subset our templates use: `$` and `$.a.b`. */
function select(json: unknown, path: string): unknown {
  if (!/^\$(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(path))
    throw new Error(`unsupported JSONPath in template: ${path}`);
  return path
    .split('.')
    .slice(1)
    .reduce<unknown>(
      (node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined),
      json,
    );
}

export interface VtlRequest {
  body: string;
  headers?: Record<string, string>;
  /** The route's path parameters (`modelId`), decoded as API Gateway decodes them. */
  pathParameters?: Record<string, string> | undefined;
  requestId: string;
  requestTimeEpoch: number;
  /** `$context.identity.userArn`: the SigV4 caller (absent in the local stack). */
  userArn?: string | undefined;
  /** `$context.authorizer.*`: what the Lambda authorizer returned as context. */
  authorizer?: Record<string, string> | undefined;
}

export interface VtlResult {
  body: string;
  status?: number | undefined;
  headers: Record<string, string>;
}

/**
 * Render an API Gateway mapping template with the `$input`, `$util` and `$context` that API
 * Gateway provides (the parts our templates use), including `$context.responseOverride`.
 */
const asts = new Map<string, ReturnType<typeof parse>>();

/** A template's syntax tree, parsed (and checked) once: the gateway renders the same few templates. */
function parsed(template: string): ReturnType<typeof parse> {
  let ast = asts.get(template);
  if (!ast) {
    assertVelocityCompatible(template);
    ast = parse(template);
    asts.set(template, ast);
  }
  return ast;
}

export function renderTemplate(template: string, request: VtlRequest): VtlResult {
  const responseOverride: { status?: number; header: Record<string, string> } = { header: {} };
  const parsedBody = () => {
    try {
      return JSON.parse(request.body) as unknown;
    } catch {
      return undefined;
    }
  };
  const context = {
    input: {
      body: new JavaString(request.body),
      path: (path: string) => {
        const result = select(parsedBody(), path);
        return typeof result === 'string' ? new JavaString(result) : result;
      },
      json: (path: string) => JSON.stringify(select(parsedBody(), path) ?? null),
      // `$input.params('name')`: a path parameter, else a header (names match in any case), '' when absent.
      params: (name?: string) => {
        if (name === undefined) return { header: new Map(Object.entries(request.headers ?? {})) };
        const path = request.pathParameters?.[name];
        if (path !== undefined) return new JavaString(path);
        const found = Object.entries(request.headers ?? {}).find(
          ([key]) => key.toLowerCase() === name.toLowerCase(),
        );
        return new JavaString(found?.[1] ?? '');
      },
    },
    util: {
      escapeJavaScript: (value: unknown) => new JavaString(escapeJavaScript(String(value ?? ''))),
      parseJson: (value: unknown) => JSON.parse(String(value)) as unknown,
    },
    context: {
      requestId: request.requestId,
      requestTimeEpoch: request.requestTimeEpoch,
      identity: request.userArn ? { userArn: request.userArn } : {},
      authorizer: { ...request.authorizer },
      responseOverride,
    },
  };
  const body = new Compile(parsed(template), { escape: false }).render(context);
  return {
    body,
    status: responseOverride.status === undefined ? undefined : Number(responseOverride.status),
    headers: { ...responseOverride.header },
  };
}

/**
 * velocityjs decodes `\\"` inside a string literal; API Gateway's Velocity keeps the backslash.
 * A template relying on either would render differently here and on AWS, so it is refused.
 */
export function assertVelocityCompatible(template: string): void {
  const literal = /[(=,]\s*"[^"\n]*\\"/.exec(template);
  if (literal)
    throw new Error(`a VTL string literal holds an escaped quote, which Velocity keeps: ${literal[0]}`);
}
