import type {
  Amount,
  BudgetDefinition,
  BudgetStore,
  CounterFigures,
  CounterKey,
  HoldDetail,
} from '../shared/rules/budget.ts';
import { ZERO_FIGURES } from '../shared/rules/budget.ts';
import { StoreError } from '../shared/rules/errors.ts';
import { periodKey } from '../shared/rules/period.ts';
import { type BudgetReservedScope, scopeOf } from '../shared/rules/settlement.ts';
import { knownShards, rememberShards, shardKeys } from '../shared/rules/sharded-counter.ts';
import { firstShardOf, shareOf, sumFigures } from '../shared/rules/shards.ts';
import { keys } from '../shared/rules/table.ts';

/** One shard's share of the budget and its figures, as a refusal found them. */
export interface ShardShare {
  budget: BudgetDefinition;
  figures: CounterFigures;
}

/**
 * The outcome of holding a request on one budget: the scope it is held on, or a refusal with the
 * budget's figures (its shards summed) and each shard's share and figures, for the clamp and the
 * held-or-spent decision.
 */
export type BudgetHold =
  | { held: BudgetReservedScope }
  | { refused: { scope: BudgetReservedScope; figures: CounterFigures; shares: ShardShare[] } };

interface HoldArgs {
  store: BudgetStore;
  budget: BudgetDefinition;
  at: Date;
  requestId: string;
  amount: Amount;
  detail: HoldDetail;
  /** Keys written to whose outcome is a hold or unknown (a lost answer): what to give back on a way out. */
  attempted: CounterKey[];
}

const fitsShare = (amount: Amount, share: BudgetDefinition, figures: CounterFigures) =>
  (share.limitPico === undefined || figures.allocatedPico + amount.pico <= share.limitPico) &&
  (share.limitTokens === undefined || figures.allocatedTokens + amount.tokens <= share.limitTokens);

/** What a shard has left: USD first, tokens when the budget has no USD limit. */
const roomOf = ({ budget, figures }: ShardShare): bigint =>
  budget.limitPico !== undefined
    ? budget.limitPico - figures.allocatedPico
    : BigInt((budget.limitTokens ?? 0) - figures.allocatedTokens);

/** The share with the most room left (the clamp fits a request to it). */
export function roomiest(shares: readonly ShardShare[]): ShardShare {
  return shares.reduce((best, share) => (roomOf(share) > roomOf(best) ? share : best));
}

/**
 * Hold a request's worst case on one budget. Unsharded: one conditional write. Sharded (N
 * items, each capped at its share): the shard picked from the request's ID; when that one is
 * full, one read of every shard and a second try on the one with the most room. So a request is
 * refused only when no shard had room for it as read, and the cap holds per shard. The period's
 * shard count is the one pinned on its first shard; a request that finds another starts again
 * with it.
 */
export async function holdOnBudget(args: HoldArgs): Promise<BudgetHold> {
  const home = keys.counter(args.budget, periodKey(args.budget.period, args.at));
  let count = knownShards(home) ?? (await pinnedCount(args.store, home, args.budget.shards ?? 1));
  for (let pass = 0; pass < 2; pass++) {
    const outcome = await holdOnShards(args, count);
    if (!('recount' in outcome)) return outcome;
    count = outcome.recount;
    rememberShards(home, count);
  }
  // The pinned count cannot change within a period: finding it change twice is a broken store.
  throw new StoreError();
}

/**
 * The period's shard count, when this process does not know it yet: a sharded budget pins its
 * count on the first shard (or finds the one pinned there) with one write; an unsharded budget
 * writes nothing more, its reserve finding any count pinned by a budget sharded earlier.
 */
async function pinnedCount(store: BudgetStore, home: CounterKey, wanted: number): Promise<number> {
  if (wanted <= 1) return 1;
  const count = await store.pinShards(home, wanted);
  rememberShards(home, count);
  return count;
}

async function holdOnShards(args: HoldArgs, count: number): Promise<BudgetHold | { recount: number }> {
  const { store, budget, at, requestId, amount, detail, attempted } = args;
  const key = periodKey(budget.period, at);
  const seen = new Map<number, CounterFigures>();

  const tryShard = async (shard: number): Promise<'held' | 'full' | { recount: number }> => {
    const counter = keys.counter(budget, key, shard);
    const share = shareOf(budget, shard, count);
    const max = { pico: share.limitPico, tokens: share.limitTokens };
    // The count is the period's, as pinned: the write may create the shard's item.
    attempted.push(counter);
    const result = await store.reserve(counter, requestId, amount, max, at, detail, count);
    if (!result.reserved) {
      attempted.pop();
      const pinned = result.figures.shards;
      if (pinned !== undefined && pinned !== count) return { recount: pinned };
    }
    seen.set(shard, result.figures);
    return result.reserved ? 'held' : 'full';
  };

  const heldOn = (shard: number): BudgetHold => ({ held: scopeOf(budget, at, shard, count) });
  const first = firstShardOf(requestId, count);
  const outcome = await tryShard(first);
  if (outcome === 'held') return heldOn(first);
  if (outcome !== 'full') return outcome;
  if (count === 1) {
    const figures = seen.get(0) ?? ZERO_FIGURES;
    return { refused: { scope: scopeOf(budget, at), figures, shares: [{ budget, figures }] } };
  }
  // Its shard is full: read every shard and try the roomiest the request fits, if any.
  const shares = (await store.getCounters(shardKeys(budget, key, count))).map((read, shard) => ({
    shard,
    budget: shareOf(budget, shard, count),
    figures: seen.get(shard) ?? read,
  }));
  const [best] = shares
    .filter((share) => !seen.has(share.shard) && fitsShare(amount, share.budget, share.figures))
    .sort((a, b) => (roomOf(b) > roomOf(a) ? 1 : roomOf(b) < roomOf(a) ? -1 : 0));
  if (best) {
    const second = await tryShard(best.shard);
    if (second === 'held') return heldOn(best.shard);
    if (second !== 'full') return second;
    best.figures = seen.get(best.shard) ?? best.figures;
  }
  const figures = shares.map((share) => share.figures);
  return {
    refused: {
      scope: scopeOf(budget, at, 0, count),
      figures: sumFigures(figures),
      shares,
    },
  };
}
