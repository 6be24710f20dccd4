import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { adviceSettingsSchema } from '../../lambdas/shared/rules/advice.ts';
import type { BudgetDefinition } from '../../lambdas/shared/rules/budget.ts';
import {
  type BudgetInput,
  budgetDefinitionOf,
  budgetInputObject,
  budgetInputSchema,
  needsALimit,
} from '../../lambdas/shared/rules/budget-input.ts';
import { callerSchema } from '../../lambdas/shared/rules/callers.ts';
import {
  type Catalog,
  catalogSchema,
  isSystemProfileId,
  modelSchema,
  TAG_VALUE,
} from '../../lambdas/shared/rules/catalog.ts';

/** A budget as code: a cost center's limit per period (at least one limit), and its applications'. */
export const budgetConfigSchema = needsALimit(
  budgetInputObject.extend({
    /** Give this cost center its own application inference profile per model (AWS only). @default false */
    inferenceProfiles: z.boolean().default(false),
    applications: z
      .record(z.string().regex(TAG_VALUE, 'application IDs follow the tag value rule'), budgetInputSchema)
      .optional(),
  }),
);

/** The Express execution log levels a deployment may choose. */
export const STATE_MACHINE_LOG_LEVELS = ['ERROR', 'ALL'] as const;
export type StateMachineLogLevel = (typeof STATE_MACHINE_LOG_LEVELS)[number];

export const deploymentSchema = z
  .object({
    /** Days CloudWatch keeps the Lambda, Step Functions and API logs. @default 30 */
    logRetentionDays: z
      .union([z.literal(1), z.literal(3), z.literal(5), z.literal(7), z.literal(14), z.literal(30)])
      .or(z.union([z.literal(60), z.literal(90), z.literal(180), z.literal(365), z.literal(731)]))
      .default(30),
    /** API Gateway stage throttling. @default 100 requests per second, bursts of 200 */
    throttle: z
      .object({ rateLimit: z.number().positive(), burstLimit: z.number().int().positive() })
      .strict()
      .default({ rateLimit: 100, burstLimit: 200 }),
    /** The Environment cost allocation tag of this deployment's inference profiles. @default production */
    environment: z.string().regex(TAG_VALUE).default('production'),
    /** An AWS WAF web ACL on the stage, blocking an IP over this many requests in 5 minutes. @default none */
    waf: z
      .object({ rateLimitPer5Minutes: z.number().int().min(10).max(2_000_000_000) })
      .strict()
      .optional(),
    /**
     * Which Express execution events are logged: ERROR (failures only) or ALL (every state's
     * events, about 4 KB a request, for debugging). Execution data is never logged. @default ERROR
     */
    stateMachineLogLevel: z.enum(STATE_MACHINE_LOG_LEVELS).default('ERROR'),
  })
  .strict();

/** A model as the config gives it: what the Lambdas need, plus what only deployment needs. */
export const deployedModelSchema = modelSchema
  .extend({
    /**
     * Where a geographic inference profile (a `us.`/`eu.`... model ID or `inferenceProfileArn`)
     * routes calls: IAM allows the foundation model in exactly these regions. `global` stands for
     * a global profile's destinations. Global profile IDs need none.
     */
    profileRegions: z
      .array(z.union([z.literal('global'), z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region')]))
      .min(1)
      .optional(),
    /** The AWS Marketplace product of a third-party model, for its one-time subscription on first use. */
    marketplaceProductId: z
      .string()
      .regex(/^prod-[a-z0-9]+$/)
      .optional(),
    /** Where the model's ID, lifecycle and prices were read. */
    source: z.string().optional(),
  })
  .strict()
  .superRefine((model, ctx) => {
    const geographic =
      (isSystemProfileId(model.modelId) && !model.modelId.startsWith('global.')) ||
      (model.inferenceProfileArn !== undefined && !model.inferenceProfileArn.includes('/global.'));
    if (geographic && !model.profileRegions) {
      ctx.addIssue({
        code: 'custom',
        path: ['profileRegions'],
        message:
          'a geographic inference profile needs the regions it routes to (the model card\'s "Geo inference details"), so IAM allows exactly those',
      });
    }
  });

/** The whole Cost Sentry configuration: the run-time catalog plus what only deployment needs. */
export const configSchema = z
  .object({
    $schema: z.string().optional(),
    /** Where and when the catalog's facts were read. */
    catalogSources: z
      .object({ readOn: z.iso.date(), pages: z.array(z.string()) })
      .strict()
      .optional(),
    models: z.record(
      z.string().regex(TAG_VALUE, 'model aliases follow the tag value rule'),
      deployedModelSchema,
    ),
    retiredModels: catalogSchema.shape.retiredModels,
    prices: catalogSchema.shape.prices,
    /** The advisor's dated thresholds and prices (`cost-sentry advise`, GET /v1/advice). */
    advice: adviceSettingsSchema.optional(),
    environments: catalogSchema.shape.environments,
    limits: catalogSchema.shape.limits,
    budgets: z.record(
      z.string().regex(TAG_VALUE, 'cost center names follow the tag value rule'),
      budgetConfigSchema,
    ),
    auth: z
      .object({
        /** How callers of POST /v1/invoke authenticate on AWS: IAM (SigV4) or API keys. @default iam */
        invoke: z.enum(['iam', 'apikey']).default('iam'),
        /** IAM mode: each principal and the tags it may charge; a principal not listed may charge nothing. */
        callers: z.array(callerSchema).default([]),
      })
      .strict()
      .default({ invoke: 'iam', callers: [] }),
    alerts: z
      .object({
        /** Addresses subscribed to the stack's alert topic (each must confirm the subscription). */
        emails: z.array(z.email()).default([]),
      })
      .strict()
      .default({ emails: [] }),
    deployment: deploymentSchema.default({
      logRetentionDays: 30,
      throttle: { rateLimit: 100, burstLimit: 200 },
      environment: 'production',
      stateMachineLogLevel: 'ERROR',
    }),
  })
  .strict();

export type CostSentryConfig = z.infer<typeof configSchema>;

/** A configuration error with every problem on its own line, path first. */
export class ConfigError extends Error {
  constructor(source: string, issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>) {
    super(
      `invalid Cost Sentry config (${source}):\n${issues
        .map((i) => `  - ${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
        .join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** What a Step Functions state may hold. */
export const STATE_LIMIT_BYTES = 262_144;
/** A generous bound of the bytes one output token takes in the state (UTF-8, JSON-escaped). */
const BYTES_PER_OUTPUT_TOKEN = 8;
/** Room for everything else the state carries: model, tags, estimate, reservation, usage. */
const STATE_OVERHEAD_BYTES = 16_384;

/** Validate a parsed configuration; the catalog's own cross-checks run too. */
export function parseConfig(raw: unknown, source = 'config'): CostSentryConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(source, parsed.error.issues);
  const catalog = catalogSchema.safeParse(catalogOf(parsed.data));
  if (!catalog.success) throw new ConfigError(source, catalog.error.issues);
  // The prompt and the answer travel together in the state after InvokeModel; a state over the
  // limit fails the execution in a way no Catch can handle, so refuse such a config up front.
  for (const [alias, model] of Object.entries(parsed.data.models)) {
    const worst =
      parsed.data.limits.maxBodyBytes + model.maxOutputTokens * BYTES_PER_OUTPUT_TOKEN + STATE_OVERHEAD_BYTES;
    if (worst > STATE_LIMIT_BYTES) {
      throw new ConfigError(source, [
        {
          path: ['limits', 'maxBodyBytes'],
          message:
            `a ${parsed.data.limits.maxBodyBytes}-character body and a ${model.maxOutputTokens}-token answer from ` +
            `${alias} may not fit the ${STATE_LIMIT_BYTES}-byte Step Functions state; lower maxBodyBytes or maxOutputTokens`,
        },
      ]);
    }
  }
  const unknownModels = policyModelProblems(parsed.data);
  if (unknownModels.length > 0) throw new ConfigError(source, unknownModels);
  return parsed.data;
}

/** A budget policy must name models of the catalog: a typo would never match (or never serve). */
function policyModelProblems(config: CostSentryConfig): Array<{ path: string[]; message: string }> {
  const known = new Set(Object.entries(config.models).flatMap(([alias, m]) => [alias, m.modelId]));
  const problems: Array<{ path: string[]; message: string }> = [];
  const check = (path: string[], policies: BudgetInput['policies']) =>
    policies?.forEach((policy, i) => {
      const named = policy.action === 'downgrade' ? [policy.from, policy.to] : policy.models;
      for (const model of named.filter((m) => !known.has(m))) {
        problems.push({
          path: [...path, 'policies', String(i)],
          message: `names '${model}', which is not in models`,
        });
      }
    });
  for (const [costCenter, budget] of Object.entries(config.budgets)) {
    check(['budgets', costCenter], budget.policies);
    for (const [app, appBudget] of Object.entries(budget.applications ?? {})) {
      check(['budgets', costCenter, 'applications', app], appBudget.policies);
    }
  }
  return problems;
}

/** Read and validate a JSON config file. */
export function loadConfig(path: string): CostSentryConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(path, [{ path: [], message: `cannot read JSON: ${(error as Error).message}` }]);
  }
  return parseConfig(raw, path);
}

/** The part of the config the Lambdas need at run time. */
export function catalogOf(config: CostSentryConfig): Catalog {
  return {
    models: Object.fromEntries(
      Object.entries(config.models).map(([alias, m]) => [
        alias,
        {
          modelId: m.modelId,
          maxOutputTokens: m.maxOutputTokens,
          topK: m.topK,
          lifecycle: m.lifecycle,
          ...(m.imageTokenBound !== undefined ? { imageTokenBound: m.imageTokenBound } : {}),
          ...(m.toolOverheadTokens !== undefined ? { toolOverheadTokens: m.toolOverheadTokens } : {}),
          ...(m.inferenceProfileArn ? { inferenceProfileArn: m.inferenceProfileArn } : {}),
        },
      ]),
    ),
    retiredModels: config.retiredModels,
    prices: config.prices,
    environments: config.environments,
    limits: config.limits,
    callers: config.auth.callers,
  };
}

/** The config's budgets as stored definitions: each cost center, then its applications. */
export function budgetDefinitions(config: CostSentryConfig): BudgetDefinition[] {
  return Object.entries(config.budgets).flatMap(([costCenter, b]) => [
    budgetDefinitionOf({ costCenter }, b, 'config'),
    ...Object.entries(b.applications ?? {}).map(([applicationId, a]) =>
      budgetDefinitionOf({ costCenter, applicationId }, a, 'config'),
    ),
  ]);
}
