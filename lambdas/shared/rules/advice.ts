import { z } from 'zod';
import type { UsageAggregate } from './budget.ts';
import { type Catalog, priceOf, priceVersionAt } from './catalog.ts';
import { costOfTokens, picoToUsd } from './money.ts';
import type { SystemPromptUse } from './system-prompts.ts';

/**
 * `cost-sentry advise`: what the seeds' cost levers are worth for this traffic, from the usage
 * aggregates the sentry already keeps. Each recommendation carries its estimated monthly saving
 * (the period's figures scaled to 30 days), its evidence and a one-line action. Pure: the caller
 * reads the aggregates and the catalog.
 */

/** The advisor's settings as the config gives them (`advice`), each with its default. */
export const adviceSettingsSchema = z
  .object({
    asOf: z.iso.date(),
    cheaperTier: z.record(z.string(), z.string()).default({}),
    shortOutputTokens: z.number().int().positive().default(200),
    batchMinRequestsPerDay: z.number().int().positive().default(1000),
    batchDiscount: z.number().gt(0).lt(1).default(0.5),
    cacheMinRepeats: z.number().int().min(2).default(10),
    cacheMinTokens: z.record(z.string(), z.number().int().positive()).default({}),
    maxTokensShare: z.number().gt(0).max(1).default(0.25),
    provisioned: z
      .record(
        z.string(),
        z.object({ unitHourUsd: z.number().positive(), tokensPerMinute: z.number().positive() }).strict(),
      )
      .default({}),
  })
  .strict();

/** The thresholds and prices the advisor uses, dated in the config. */
export interface AdviceSettings {
  /** When these settings were last checked against AWS's pages. */
  asOf: string;
  /** A cheaper model of the same family, by alias (`nova-pro` → `nova-lite`). */
  cheaperTier: Record<string, string>;
  /** Average output tokens at or below which an application's answers are "short". @default 200 */
  shortOutputTokens: number;
  /** Requests a day of non-production traffic from which batch inference is worth it. @default 1000 */
  batchMinRequestsPerDay: number;
  /** Batch inference's discount on on-demand prices. @default 0.5 */
  batchDiscount: number;
  /** Requests with one system prompt from which prompt caching is worth it. @default 10 */
  cacheMinRepeats: number;
  /** The smallest cacheable prefix per model ID (tokens); models absent take no cache points. */
  cacheMinTokens: Record<string, number>;
  /** The share of max_tokens that 95% of answers stay under, below which max_tokens strands budget. @default 0.25 */
  maxTokensShare: number;
  /** Provisioned throughput per model ID: USD per model unit-hour and tokens a minute a unit serves. */
  provisioned: Record<string, { unitHourUsd: number; tokensPerMinute: number }>;
}

/** An aggregate row with what the advisor reads beyond the usage: requested maxima. */
export interface AdviceRow extends UsageAggregate {
  /** Sum of the requests' max_tokens. */
  maxTokens?: number | undefined;
  /** How many answers used each tenth of their max_tokens (index 0: under 10%). */
  outputShareTenths?: number[] | undefined;
}

export type AdviceKind =
  | 'cheaper-tier'
  | 'batch'
  | 'prompt-caching'
  | 'max-tokens'
  | 'legacy-model'
  | 'provisioned';

export interface Recommendation {
  kind: AdviceKind;
  costCenter: string;
  applicationId?: string | undefined;
  environment?: string | undefined;
  modelId: string;
  /** Estimated monthly saving in USD (0 when the lever frees budget rather than money). */
  monthlySavingUsd: number;
  evidence: string;
  action: string;
}

const MONTH_DAYS = 30;

/** The days `rows` have traffic on: a monthly saving is their figures scaled to 30 days. */
export function daysOfData(rows: Pick<AdviceRow, 'day'>[]): number {
  return new Set(rows.map((r) => r.day)).size;
}

/** The advisor's recommendations for `rows` (one period's aggregates), biggest saving first. */
export function advise(
  catalog: Catalog,
  settings: AdviceSettings,
  rows: AdviceRow[],
  systemPrompts: SystemPromptUse[],
  at: Date,
): Recommendation[] {
  const days = Math.max(1, daysOfData(rows));
  const monthly = (pico: bigint) => picoToUsd((pico * BigInt(MONTH_DAYS)) / BigInt(days));
  const version = priceVersionAt(catalog, at);
  const aliasOf = (modelId: string) =>
    Object.entries(catalog.models).find(([, m]) => m.modelId === modelId)?.[0];
  const price = (modelId: string) => priceOf(catalog, version, modelId);
  const repriced = (row: AdviceRow, modelId: string) => {
    const p = price(modelId);
    return (
      costOfTokens(row.inputTokens, p.input) +
      costOfTokens(row.outputTokens, p.output) +
      costOfTokens(row.cacheReadInputTokens, p.cacheRead) +
      costOfTokens(row.cacheWriteInputTokens, p.cacheWrite)
    );
  };
  const out: Recommendation[] = [];
  for (const row of groupRows(rows)) {
    const alias = aliasOf(row.modelId);
    const scope = {
      costCenter: row.costCenter,
      applicationId: row.applicationId,
      environment: row.environment,
      modelId: row.modelId,
    };
    const averageOutput = row.requests > 0 ? row.outputTokens / row.requests : 0;
    const cheaper = alias ? settings.cheaperTier[alias] : undefined;
    const cheaperModel = cheaper ? catalog.models[cheaper] : undefined;
    if (
      cheaper &&
      cheaperModel &&
      (averageOutput <= settings.shortOutputTokens || row.environment !== 'production')
    ) {
      const saving = row.costPico - repriced(row, cheaperModel.modelId);
      if (saving > 0n) {
        out.push({
          kind: 'cheaper-tier',
          ...scope,
          monthlySavingUsd: monthly(saving),
          evidence:
            row.environment !== 'production'
              ? `${row.requests} ${row.environment} requests on ${alias}`
              : `${row.requests} requests averaging ${Math.round(averageOutput)} output tokens on ${alias}`,
          action: `Try ${cheaper} for ${row.applicationId} in ${row.environment}.`,
        });
      }
    }
    if (row.environment !== 'production' && row.requests / days >= settings.batchMinRequestsPerDay) {
      const saving = (row.costPico * BigInt(Math.round(settings.batchDiscount * 1000))) / 1000n;
      out.push({
        kind: 'batch',
        ...scope,
        monthlySavingUsd: monthly(saving),
        evidence: `${Math.round(row.requests / days)} ${row.environment} requests a day`,
        action: `Send ${row.applicationId}'s non-interactive ${row.environment} traffic as Bedrock batch inference jobs.`,
      });
    }
    const share = p95Share(row.outputShareTenths);
    if (share !== undefined && share <= settings.maxTokensShare && row.maxTokens) {
      const suggested = Math.ceil((row.maxTokens / row.requests) * share * 1.5);
      out.push({
        kind: 'max-tokens',
        ...scope,
        monthlySavingUsd: 0,
        evidence: `95% of answers use at most ${Math.round(share * 100)}% of their max_tokens (average ${Math.round(row.maxTokens / row.requests)})`,
        action: `Lower ${row.applicationId}'s max_tokens to about ${suggested}: each request reserves its max_tokens, so budget is held that is never spent.`,
      });
    }
    const legacy = alias ? catalog.models[alias]?.lifecycle : undefined;
    if (legacy?.status === 'legacy' && legacy.replacement) {
      const replacement = catalog.models[legacy.replacement];
      const difference = replacement ? row.costPico - repriced(row, replacement.modelId) : 0n;
      out.push({
        kind: 'legacy-model',
        ...scope,
        monthlySavingUsd: monthly(difference > 0n ? difference : 0n),
        evidence: `${alias} reaches its end of life on ${legacy.endOfLife}; ${row.requests} requests used it`,
        action: `Move ${row.applicationId} to ${legacy.replacement} (${difference >= 0n ? 'saves' : 'costs'} $${monthly(difference >= 0n ? difference : -difference)} a month at this volume).`,
      });
    }
  }
  for (const [modelId, usage] of byModel(rows)) {
    const unit = settings.provisioned[modelId];
    if (!unit) continue;
    const tokensPerMinute = usage.tokens / (days * 24 * 60);
    const units = Math.max(1, Math.ceil(tokensPerMinute / unit.tokensPerMinute));
    const provisionedMonthly = units * unit.unitHourUsd * 24 * MONTH_DAYS;
    const onDemandMonthly = monthly(usage.costPico);
    if (onDemandMonthly > provisionedMonthly) {
      out.push({
        kind: 'provisioned',
        costCenter: '*',
        modelId,
        monthlySavingUsd: round(onDemandMonthly - provisionedMonthly),
        evidence: `${Math.round(tokensPerMinute)} tokens a minute on average cost $${onDemandMonthly} a month on demand; ${units} model unit(s) cost $${round(provisionedMonthly)}`,
        action: `Buy ${units} unit(s) of provisioned throughput for ${modelId}.`,
      });
    }
  }
  for (const use of systemPrompts) {
    const minimum = settings.cacheMinTokens[use.modelId];
    if (minimum === undefined || use.systemTokens < minimum || use.requests < settings.cacheMinRepeats)
      continue;
    const p = price(use.modelId);
    // The first request writes the cache, the others read it instead of paying full input.
    const saving =
      costOfTokens(use.systemTokens * (use.requests - 1), p.input - p.cacheRead) -
      costOfTokens(use.systemTokens, p.cacheWrite - p.input > 0n ? p.cacheWrite - p.input : 0n);
    if (saving <= 0n) continue;
    out.push({
      kind: 'prompt-caching',
      costCenter: use.costCenter,
      applicationId: use.applicationId,
      modelId: use.modelId,
      monthlySavingUsd: monthly(saving),
      evidence: `one system prompt of about ${use.systemTokens} tokens sent ${use.requests} times (hash ${use.systemHash.slice(0, 12)})`,
      action: `Put a cachePoint after ${use.applicationId}'s system prompt.`,
    });
  }
  return out.sort((a, b) => b.monthlySavingUsd - a.monthlySavingUsd);
}

const round = (usd: number) => Math.round(usd * 100) / 100;

/** Rows summed over days, one per (cost center, application, environment, model). */
function groupRows(rows: AdviceRow[]): AdviceRow[] {
  const groups = new Map<string, AdviceRow>();
  for (const row of rows) {
    const key = [row.costCenter, row.applicationId, row.environment, row.modelId].join('\n');
    const group = groups.get(key);
    if (!group) {
      groups.set(key, {
        ...row,
        outputShareTenths: row.outputShareTenths ? [...row.outputShareTenths] : undefined,
      });
      continue;
    }
    group.requests += row.requests;
    group.inputTokens += row.inputTokens;
    group.outputTokens += row.outputTokens;
    group.cacheReadInputTokens += row.cacheReadInputTokens;
    group.cacheWriteInputTokens += row.cacheWriteInputTokens;
    group.costPico += row.costPico;
    if (row.maxTokens !== undefined) group.maxTokens = (group.maxTokens ?? 0) + row.maxTokens;
    if (row.outputShareTenths) {
      group.outputShareTenths = (group.outputShareTenths ?? Array(10).fill(0)).map(
        (n, i) => n + (row.outputShareTenths?.[i] ?? 0),
      );
    }
  }
  return [...groups.values()];
}

function byModel(rows: AdviceRow[]): Map<string, { tokens: number; costPico: bigint }> {
  const models = new Map<string, { tokens: number; costPico: bigint }>();
  for (const row of rows) {
    const m = models.get(row.modelId) ?? { tokens: 0, costPico: 0n };
    m.tokens += row.inputTokens + row.outputTokens + row.cacheReadInputTokens + row.cacheWriteInputTokens;
    m.costPico += row.costPico;
    models.set(row.modelId, m);
  }
  return models;
}

/** The share of max_tokens (upper edge of its tenth) that 95% of answers stay under. */
export function p95Share(tenths: number[] | undefined): number | undefined {
  if (!tenths) return undefined;
  const total = tenths.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  let seen = 0;
  for (const [i, n] of tenths.entries()) {
    seen += n;
    if (seen >= total * 0.95) return (i + 1) / 10;
  }
  return 1;
}

/** Which tenth of max_tokens an answer used (0: under 10%, 9: 90% or more). */
export function outputShareTenth(outputTokens: number, maxTokens: number): number {
  if (maxTokens <= 0) return 9;
  return Math.min(9, Math.floor((outputTokens / maxTokens) * 10));
}
