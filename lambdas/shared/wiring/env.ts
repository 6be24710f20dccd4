import { type AdviceSettings, adviceSettingsSchema } from '../rules/advice.ts';
import { type Catalog, parseCatalog } from '../rules/catalog.ts';

/** Environment variable names shared by the constructs that set them and the handlers that read them. */
export const ENV = {
  catalog: 'COST_SENTRY_CATALOG',
  tableName: 'COST_SENTRY_TABLE',
  bedrockTimeoutMs: 'COST_SENTRY_BEDROCK_TIMEOUT_MS',
  alertTopicArn: 'COST_SENTRY_ALERT_TOPIC_ARN',
  /** Application inference profile IDs by cost center and alias, as JSON. */
  profiles: 'COST_SENTRY_PROFILES',
  /** The ARN of a profile, less its ID. */
  profileArnPrefix: 'COST_SENTRY_PROFILE_ARN_PREFIX',
  /** Set to `true` only by the local stack without authentication: anonymous callers may use any tags. */
  openCallers: 'COST_SENTRY_OPEN_CALLERS',
  /** The advisor's dated thresholds and prices (the admin function only), as JSON. */
  advice: 'COST_SENTRY_ADVICE',
  /** The workflow the streaming Lambda starts for a Chat Completions request that does not stream. */
  stateMachineArn: 'COST_SENTRY_STATE_MACHINE_ARN',
} as const;

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

let catalog: Catalog | undefined;

/** The catalog, parsed once per process; a missing or bad variable fails at init, not mid-request. */
export function catalogFromEnv(): Catalog {
  catalog ??= Object.freeze(parseCatalog(required(ENV.catalog)));
  return catalog;
}

export function tableNameFromEnv(): string {
  return required(ENV.tableName);
}

export function bedrockTimeoutMsFromEnv(): number {
  const value = Number(required(ENV.bedrockTimeoutMs));
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${ENV.bedrockTimeoutMs} must be a positive integer`);
  return value;
}

/** The SNS topic for budget alerts; absent in the local stack, where alerts go to the log. */
export function alertTopicArnFromEnv(): string | undefined {
  return process.env[ENV.alertTopicArn] || undefined;
}

/** The advisor's settings; absent (a function other than the admin API's), the defaults as of today. */
export function adviceFromEnv(): AdviceSettings {
  const raw = process.env[ENV.advice];
  return adviceSettingsSchema.parse(raw ? JSON.parse(raw) : { asOf: new Date().toISOString().slice(0, 10) });
}

export function openCallersFromEnv(): boolean {
  return process.env[ENV.openCallers] === 'true';
}

/** Each cost center's application inference profile ARNs by model alias (none in the local stack). */
export function profilesFromEnv(): Record<string, Record<string, string>> {
  const ids = JSON.parse(process.env[ENV.profiles] || '{}') as Record<string, Record<string, string>>;
  const prefix = process.env[ENV.profileArnPrefix] ?? '';
  return Object.fromEntries(
    Object.entries(ids).map(([costCenter, byAlias]) => [
      costCenter,
      Object.fromEntries(Object.entries(byAlias).map(([alias, id]) => [alias, `${prefix}${id}`])),
    ]),
  );
}
