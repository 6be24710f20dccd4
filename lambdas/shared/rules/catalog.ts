import { z } from 'zod';
import { callerSchema } from './callers.ts';
import { usdToPico } from './money.ts';

import { TAG_VALUE } from './tags.ts';

export { TAG_VALUE };

const usdPer1k = z.number().finite().nonnegative();

export const modelPriceSchema = z
  .object({
    inputPer1k: usdPer1k,
    outputPer1k: usdPer1k,
    cacheReadPer1k: usdPer1k,
    cacheWritePer1k: usdPer1k,
  })
  .strict();

export const priceVersionSchema = z
  .object({
    version: z.string().min(1),
    effectiveFrom: z.iso.date(),
    models: z.record(z.string().min(1), modelPriceSchema),
  })
  .strict();

/** How a model takes top_k: Converse has no field for it, so it goes in additionalModelRequestFields. */
export const topKStyleSchema = z.enum(['none', 'anthropic', 'nova']);

/**
 * A model's Bedrock lifecycle. A Legacy model still answers, with a warning that names its end
 * of life; a retired one is no model at all (see `retiredModels`).
 */
export const lifecycleSchema = z
  .object({
    status: z.enum(['active', 'legacy']),
    /** Legacy models: the date Bedrock stops serving it. */
    endOfLife: z.iso.date().optional(),
    /** Legacy models: the alias to move to. */
    replacement: z.string().optional(),
  })
  .strict()
  .refine((l) => l.status === 'active' || l.endOfLife !== undefined, {
    message: 'a Legacy model needs its endOfLife date',
  });

/** What a system-defined cross-region inference profile ID starts with: `us.`, `eu.`, `global.` ... */
export const PROFILE_PREFIX = /^(us|us-gov|eu|apac|au|jp|ca|global)\./;

/** Whether a model ID is a system-defined (geographic or global) inference profile ID. */
export function isSystemProfileId(modelId: string): boolean {
  return PROFILE_PREFIX.test(modelId);
}

/** The foundation model behind a model ID or a system-defined inference profile ID. */
export function foundationModelOf(modelId: string): string {
  return modelId.replace(PROFILE_PREFIX, '');
}

export const modelSchema = z
  .object({
    /** The ID Converse is called with: a foundation model ID, or a `us.`/`eu.`/`global.` profile ID. */
    modelId: z.string().min(1),
    maxOutputTokens: z.number().int().positive(),
    inferenceProfileArn: z.string().startsWith('arn:').optional(),
    topK: topKStyleSchema.default('none'),
    lifecycle: lifecycleSchema.default({ status: 'active' }),
    /** The most input tokens one image can count (the model's published maximum); absent: no images. */
    imageTokenBound: z.number().int().positive().optional(),
    /** The tokens the model's tool-use system prompt adds; absent: the sentry refuses tools for it. */
    toolOverheadTokens: z.number().int().positive().optional(),
  })
  .strict();

/** An alias whose model Bedrock has retired: requests naming it are refused with its replacement. */
export const retiredModelSchema = z
  .object({
    modelId: z.string().min(1),
    replacement: z.string().min(1),
    /** When Bedrock retired it (end of life), where known. */
    retiredOn: z.iso.date().optional(),
  })
  .strict();

export const limitsSchema = z
  .object({
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .max(250_000, 'must stay below the 256 KB Step Functions payload limit')
      .default(204_800),
    maxMessages: z.number().int().positive().default(100),
    /** Characters in one message or the system prompt. */
    maxContentChars: z.number().int().positive().default(100_000),
  })
  .strict();

/** What every Lambda needs at run time: models, prices, environments, limits. */
export const catalogSchema = z
  .object({
    models: z.record(z.string().regex(TAG_VALUE, 'model aliases follow the tag value rule'), modelSchema),
    /** Aliases of retired models, kept so that their callers learn the replacement. @default none */
    retiredModels: z.record(z.string(), retiredModelSchema).default({}),
    prices: z.array(priceVersionSchema).min(1),
    environments: z
      .array(z.string().regex(TAG_VALUE))
      .min(1)
      .default(['dev', 'test', 'staging', 'production']),
    limits: limitsSchema.default({ maxBodyBytes: 204_800, maxMessages: 100, maxContentChars: 100_000 }),
    /** IAM principals and the tags each may charge (the IAM invoke mode). */
    callers: z.array(callerSchema).default([]),
  })
  .strict()
  .superRefine((catalog, ctx) => {
    for (const version of catalog.prices) {
      for (const [alias, model] of Object.entries(catalog.models)) {
        if (!version.models[model.modelId]) {
          ctx.addIssue({
            code: 'custom',
            path: ['prices', version.version, 'models'],
            message: `price version ${version.version} has no price for ${model.modelId} (alias ${alias})`,
          });
        }
      }
    }
    for (const [alias, retired] of Object.entries(catalog.retiredModels)) {
      if (Object.hasOwn(catalog.models, alias)) {
        ctx.addIssue({
          code: 'custom',
          path: ['retiredModels', alias],
          message: 'is also a live model alias',
        });
      }
      if (!Object.hasOwn(catalog.models, retired.replacement)) {
        ctx.addIssue({
          code: 'custom',
          path: ['retiredModels', alias, 'replacement'],
          message: `names no model alias (${retired.replacement})`,
        });
      }
    }
    for (const [alias, model] of Object.entries(catalog.models)) {
      const replacement = model.lifecycle.replacement;
      if (replacement !== undefined && !Object.hasOwn(catalog.models, replacement)) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', alias, 'lifecycle', 'replacement'],
          message: `names no model alias (${replacement})`,
        });
      }
    }
    const versions = catalog.prices.map((p) => p.version);
    if (new Set(versions).size !== versions.length) {
      ctx.addIssue({ code: 'custom', path: ['prices'], message: 'price versions must be unique' });
    }
  });

export type Catalog = z.infer<typeof catalogSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type TopKStyle = z.infer<typeof topKStyleSchema>;

/** Prices of one model in pico-USD per 1,000 tokens. */
export interface ModelPricePico {
  input: bigint;
  output: bigint;
  cacheRead: bigint;
  cacheWrite: bigint;
}

export interface ResolvedModel {
  alias: string;
  modelId: string;
  /** What Converse is called with: the inference profile ARN when there is one, else the model ID. */
  invokeModelId: string;
  maxOutputTokens: number;
  topK: TopKStyle;
  /** The most input tokens one image can count; absent when the model takes no images here. */
  imageTokenBound?: number | undefined;
  /** The tokens its tool-use system prompt adds; absent when the sentry takes no tools for it. */
  toolOverheadTokens?: number | undefined;
  /** For a Legacy model: the end-of-life warning the answer carries. */
  warning?: string;
}

/** Resolve an alias, or a raw model ID that the catalog lists, to its model. */
export function resolveModel(catalog: Catalog, name: string): ResolvedModel | undefined {
  const byAlias = Object.hasOwn(catalog.models, name) ? catalog.models[name] : undefined;
  const entry = byAlias
    ? ([name, byAlias] as const)
    : Object.entries(catalog.models).find(([, model]) => model.modelId === name);
  if (!entry) return undefined;
  const [alias, model] = entry;
  const { lifecycle } = model;
  return {
    alias,
    modelId: model.modelId,
    invokeModelId: model.inferenceProfileArn ?? model.modelId,
    maxOutputTokens: model.maxOutputTokens,
    topK: model.topK,
    ...(model.imageTokenBound !== undefined ? { imageTokenBound: model.imageTokenBound } : {}),
    ...(model.toolOverheadTokens !== undefined ? { toolOverheadTokens: model.toolOverheadTokens } : {}),
    ...(lifecycle.status === 'legacy'
      ? {
          warning:
            `${alias} is a Legacy model on Amazon Bedrock and reaches its end of life on ${lifecycle.endOfLife}` +
            (lifecycle.replacement ? `; move to ${lifecycle.replacement}.` : '.'),
        }
      : {}),
  };
}

/** The retired model an alias (or a retired model ID) names, with its replacement; undefined otherwise. */
export function retiredModel(
  catalog: Catalog,
  name: string,
): { alias: string; replacement: string; retiredOn?: string | undefined } | undefined {
  const entry = Object.hasOwn(catalog.retiredModels, name)
    ? ([name, catalog.retiredModels[name]] as const)
    : Object.entries(catalog.retiredModels).find(([, retired]) => retired.modelId === name);
  if (!entry?.[1]) return undefined;
  return { alias: entry[0], replacement: entry[1].replacement, retiredOn: entry[1].retiredOn };
}

/** The price version in force at `at`: the latest whose effective date has come. */
export function priceVersionAt(catalog: Catalog, at: Date): string {
  const day = at.toISOString().slice(0, 10);
  const inForce = catalog.prices
    .filter((p) => p.effectiveFrom <= day)
    .sort((a, b) => a.effectiveFrom.localeCompare(b.effectiveFrom));
  const chosen =
    inForce.at(-1) ?? [...catalog.prices].sort((a, b) => a.effectiveFrom.localeCompare(b.effectiveFrom))[0];
  if (!chosen) throw new Error('the price catalog is empty');
  return chosen.version;
}

/** The prices of a model in one price version, in pico-USD per 1,000 tokens. */
export function priceOf(catalog: Catalog, version: string, modelId: string): ModelPricePico {
  const price = catalog.prices.find((p) => p.version === version)?.models[modelId];
  if (!price) throw new Error(`no price for ${modelId} in version ${version}`);
  return {
    input: usdToPico(price.inputPer1k),
    output: usdToPico(price.outputPer1k),
    cacheRead: usdToPico(price.cacheReadPer1k),
    cacheWrite: usdToPico(price.cacheWritePer1k),
  };
}

/** Parse the catalog from its JSON text (an environment variable at run time). */
export function parseCatalog(json: string): Catalog {
  return catalogSchema.parse(JSON.parse(json));
}
