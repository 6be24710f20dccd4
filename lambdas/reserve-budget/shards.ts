import {
  type Amount,
  type BudgetDefinition,
  type BudgetStore,
  type CounterFigures,
  type CounterKey,
  type HoldDetail,
  type PeakLimits,
  type ShardPin,
  type ShardWrite,
  UNLIMITED,
  ZERO_FIGURES,
} from '../shared/rules/budget.ts';
import { StoreError } from '../shared/rules/errors.ts';
import { periodKey } from '../shared/rules/period.ts';
import { type BudgetReservedScope, scopeOf } from '../shared/rules/settlement.ts';
import { knownPin, rememberPin, shardKeys } from '../shared/rules/sharded-counter.ts';
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
  /** The clock (epoch milliseconds), for this process's memory of the pin. */
  now: number;
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
 * with it. A limit lowered below the highest the period ran under sends the rest of the period
 * through the first shard (see {@link holdFunneled}).
 */
export async function holdOnBudget(args: HoldArgs): Promise<BudgetHold> {
  const home = keys.counter(args.budget, periodKey(args.budget.period, args.at));
  const wanted = args.budget.shards ?? 1;
  let pin = knownPin(home, args.now);
  // Unknown, or a limit above the known peak: read (and raise) the pin before writing under it.
  if (pin ? raised(args.budget, pin) : wanted > 1) pin = await pinOf(args, home, pin?.count ?? wanted);
  // A recount, or a funnel put on or taken off meanwhile, starts again from the pin.
  for (let pass = 0; pass < 4; pass++) {
    const outcome = await holdOnShards(args, pin ?? UNSHARDED, home);
    if (!('recount' in outcome)) return outcome;
    pin = await pinOf(args, home, outcome.recount);
  }
  // The pinned count cannot change within a period, and the funnel settles within a pass or two:
  // more than that is a broken store.
  throw new StoreError();
}

/** An unsharded budget's period: one item, its limit checked by each write as it is now. */
const UNSHARDED: ShardPin = { count: 1, peak: {} };

const limitsOf = (budget: BudgetDefinition) => ({ pico: budget.limitPico, tokens: budget.limitTokens });

/** Pin (or read) the period's shard count and peak limits, and remember them for a second. */
async function pinOf(args: HoldArgs, home: CounterKey, count: number): Promise<ShardPin> {
  const pin = await args.store.pinShards(home, count, limitsOf(args.budget));
  rememberPin(home, pin, args.now);
  return pin;
}

/**
 * A limit above the period's peak, or removed: the peak must be raised (to the limit, or to
 * `UNLIMITED`) before shards fill to shares of a higher limit, or without one.
 */
function raised(budget: BudgetDefinition, pin: ShardPin): boolean {
  const above = <T extends bigint | number>(limit: T | undefined, peak: T | undefined, unlimited: T) =>
    peak !== undefined && peak !== unlimited && (limit === undefined || limit > peak);
  return (
    pin.count > 1 &&
    (above(budget.limitPico, pin.peak.pico, BigInt(UNLIMITED)) ||
      above(budget.limitTokens, pin.peak.tokens, UNLIMITED))
  );
}

/**
 * A limit below the period's peak (or set where the period ran without one). Shards may already
 * hold shares of the peak, so shares of the lower limit could add up past it.
 */
const lowered = (budget: BudgetDefinition, pin: ShardPin) =>
  pin.count > 1 &&
  ((budget.limitPico !== undefined &&
    (pin.peak.pico === undefined ||
      pin.peak.pico === BigInt(UNLIMITED) ||
      budget.limitPico < pin.peak.pico)) ||
    (budget.limitTokens !== undefined &&
      (pin.peak.tokens === undefined ||
        pin.peak.tokens === UNLIMITED ||
        budget.limitTokens < pin.peak.tokens)));

/**
 * How long a funnel begun under lower limits than the current ones leaves the other shards room
 * for their shares: a process reads the pin again at most 1 s after it last did, and a reserve
 * lands within its Lambda's timeout (ReserveBudget 4 s, StreamModel 110 s); the rest is margin
 * for clocks.
 */
export const FUNNEL_SETTLE_MS = 120_000;

/**
 * Whether a funnel began under lower limits than the budget's now, in either limit. After a
 * lowering, every process with the current definition funnels itself, and only requests with
 * an older one (allowed to overshoot by their own amount) write per share; after a raise, a
 * request with the older, lower definition can begin a funnel that processes with the current
 * one do not see for up to a second, and they write per share meanwhile.
 */
function beganLower(budget: BudgetDefinition, began: PeakLimits | undefined): boolean {
  if (!began) return false;
  const lower = <T extends bigint | number>(limit: T | undefined, start: T | undefined, unlimited: T) =>
    start !== undefined && start !== unlimited && (limit === undefined || limit > start);
  return (
    lower(budget.limitPico, began.pico, BigInt(UNLIMITED)) ||
    lower(budget.limitTokens, began.tokens, UNLIMITED)
  );
}

/** A shard's figures counted as at least its share, as per-share writes could still make them. */
const atLeastShare = (figures: CounterFigures, share: BudgetDefinition): CounterFigures => ({
  ...figures,
  allocatedPico:
    share.limitPico !== undefined && figures.allocatedPico < share.limitPico
      ? share.limitPico
      : figures.allocatedPico,
  allocatedTokens:
    share.limitTokens !== undefined && figures.allocatedTokens < share.limitTokens
      ? share.limitTokens
      : figures.allocatedTokens,
});

/** Whether a shard holds no more than its share, in both limits. */
const withinShare = (share: BudgetDefinition, figures: CounterFigures) =>
  (share.limitPico === undefined || figures.allocatedPico <= share.limitPico) &&
  (share.limitTokens === undefined || figures.allocatedTokens <= share.limitTokens);

/**
 * A sharded period whose limit was lowered (or raised again after): every shard read, and the
 * request held on the first shard, capped at the limit less what the other shards hold.
 * Nothing is written to the other shards while funneled, so what they hold only goes down, and
 * the cap only errs low: the sum stays within the limit, exactly, at the throughput of one item.
 * Once every shard holds no more than its share of the limit (requests settled, or the limit
 * raised), the first shard is taken off the funnel by one conditional write, which checks its own
 * figures, and the period goes back to per-share caps.
 */
async function holdFunneled(args: HoldArgs, count: number): Promise<BudgetHold | { recount: number }> {
  const { store, budget, at, requestId, amount, detail, attempted } = args;
  const key = periodKey(budget.period, at);
  const home = keys.counter(budget, key);
  const all = await store.getCounters(shardKeys(budget, key, count));
  const [first = ZERO_FIGURES, ...others] = all;
  // Taken off the funnel meanwhile: start again from the pin.
  const token = first.funnel;
  if (!token) return { recount: count };
  if (all.every((figures, shard) => withinShare(shareOf(budget, shard, count), figures))) {
    const firstShare = shareOf(budget, 0, count);
    const share = { pico: firstShare.limitPico, tokens: firstShare.limitTokens };
    if (await store.unfunnel(home, token, limitsOf(budget), share)) return { recount: count };
  }
  // A new funnel begun under lower limits than this request's (by a request that read the
  // definition before a raise): processes that have not seen it may still write to the other
  // shards, up to their shares of the higher limit, so the first shard leaves that room.
  const settling =
    first.funnelSince !== undefined &&
    args.now - first.funnelSince < FUNNEL_SETTLE_MS &&
    beganLower(budget, first.funnelLimits);
  const rest = sumFigures(
    others.map((figures, index) =>
      settling ? atLeastShare(figures, shareOf(budget, index + 1, count)) : figures,
    ),
  );
  const max = {
    pico: budget.limitPico === undefined ? undefined : budget.limitPico - rest.allocatedPico,
    tokens: budget.limitTokens === undefined ? undefined : budget.limitTokens - rest.allocatedTokens,
  };
  attempted.push(home);
  // Only within the funnel this request read: another one would have read other shards.
  const result = await store.reserve(home, requestId, amount, max, at, detail, { count, funnel: token });
  if (result.reserved) return { held: scopeOf(budget, at, 0, count) };
  attempted.pop();
  if (result.figures.shards !== undefined && result.figures.shards !== count) {
    return { recount: result.figures.shards };
  }
  if (result.figures.funnel !== token) return { recount: count };
  const figures = sumFigures([result.figures, ...others]);
  return { refused: { scope: scopeOf(budget, at, 0, count), figures, shares: [{ budget, figures }] } };
}

async function holdOnShards(
  args: HoldArgs,
  pin: ShardPin,
  home: CounterKey,
): Promise<BudgetHold | { recount: number }> {
  const { count } = pin;
  if (pin.funnel) return holdFunneled(args, count);
  if (lowered(args.budget, pin)) {
    // Funneled (if the peaks stored on the first shard agree), until every shard is within its
    // share again, even if the limit goes back up meanwhile.
    const token = await args.store.funnel(home, limitsOf(args.budget), args.now);
    if (token) {
      rememberPin(home, { ...pin, funnel: token }, args.now);
      return holdFunneled(args, count);
    }
    // This process's pin was out of date: the period was taken off a funnel since.
    return { recount: count };
  }
  const { store, budget, at, requestId, amount, detail, attempted } = args;
  const key = periodKey(budget.period, at);
  // The shards whose write was refused, and the figures the refusal answered (none when sharded).
  const tried = new Map<number, CounterFigures>();

  const tryShard = async (
    shard: number,
    readOnRefusal: boolean,
  ): Promise<'held' | 'full' | 'unread' | { recount: number }> => {
    const counter = keys.counter(budget, key, shard);
    const share = shareOf(budget, shard, count);
    const max = { pico: share.limitPico, tokens: share.limitTokens };
    // The count is the period's, as pinned: the write may create the shard's item. The first
    // shard refuses per-share writes while the period is funneled.
    const write: ShardWrite = {
      count,
      ...(shard === 0 && count > 1 ? { funnel: false } : {}),
      ...(readOnRefusal ? {} : { readOnRefusal: false }),
    };
    attempted.push(counter);
    const result = await store.reserve(counter, requestId, amount, max, at, detail, write);
    if (result.reserved) return 'held';
    // Not read again: whether it went through after all (a lost answer) is not known yet, so the
    // key stays with the writes to give back until the next read says.
    if (!readOnRefusal) return 'unread';
    attempted.pop();
    const pinned = result.figures.shards;
    if (pinned !== undefined && pinned !== count) return { recount: pinned };
    if (result.figures.funnel) return { recount: count };
    tried.set(shard, result.figures);
    return 'full';
  };

  const heldOn = (shard: number): BudgetHold => ({ held: scopeOf(budget, at, shard, count) });
  const first = firstShardOf(requestId, count);
  // Sharded, a refusal of the first write is not read again: every shard is read next.
  const outcome = await tryShard(first, count === 1);
  if (outcome === 'held') return heldOn(first);
  if (typeof outcome === 'object') return outcome;
  if (count === 1) {
    const figures = tried.get(0) ?? ZERO_FIGURES;
    return { refused: { scope: scopeOf(budget, at), figures, shares: [{ budget, figures }] } };
  }
  // Its shard is full: read every shard and try the roomiest the request fits, if any.
  const read = await store.getCounters(shardKeys(budget, key, count), requestId);
  // The write went through after all (its answer was lost, and the SDK's retry was refused).
  if (read[first]?.holding) return heldOn(first);
  attempted.pop();
  const pinned = read[0] ?? ZERO_FIGURES;
  // Pinned to another count, or funneled, since this process read the pin: start again from it.
  if (pinned.shards !== undefined && pinned.shards !== count) return { recount: pinned.shards };
  if (pinned.funnel) return { recount: count };
  const shares = read.map((figures, shard) => ({ shard, budget: shareOf(budget, shard, count), figures }));
  const [best] = shares
    .filter((share) => share.shard !== first && fitsShare(amount, share.budget, share.figures))
    .sort((a, b) => (roomOf(b) > roomOf(a) ? 1 : roomOf(b) < roomOf(a) ? -1 : 0));
  if (best) {
    const second = await tryShard(best.shard, true);
    if (second === 'held') return heldOn(best.shard);
    if (typeof second === 'object') return second;
    best.figures = tried.get(best.shard) ?? best.figures;
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
