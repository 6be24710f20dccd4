import { randomUUID } from 'node:crypto';
import {
  type Amount,
  type BudgetDefinition,
  type BudgetScope,
  type BudgetStore,
  type CounterFigures,
  type CounterKey,
  type HoldDetail,
  type IdleCounter,
  type PeakLimits,
  type RateLimits,
  type ShardPin,
  type ShardWrite,
  type StaleReservation,
  UNLIMITED,
  type UsageAggregate,
  type WindowFigures,
  ZERO_FIGURES,
} from '../../lambdas/shared/rules/budget.ts';
import type { SystemPromptUse } from '../../lambdas/shared/rules/system-prompts.ts';

/** One request's hold on a counter, as the store's reservation marker records it. */
interface Hold {
  amount: Amount;
  heldSince: Date;
  detail?: HoldDetail | undefined;
}

interface Counter {
  figures: CounterFigures;
  holds: Map<string, Hold>;
  /** On the open index: it may hold reservations. */
  open: boolean;
  /** A reservation was ever written to it (DynamoDB: it has `allocatedPico`). */
  written?: boolean;
}

/** One scope's rate window for one minute, as the store's window item records it. */
interface RateWindow {
  figures: WindowFigures;
  holds: Map<string, number>;
  expiresAt?: Date;
}

type Method = keyof BudgetStore;

const scopeId = (scope: BudgetScope) => `${scope.costCenter}\u0000${scope.applicationId ?? ''}`;
const keyId = (key: CounterKey) => `${key.pk}\u0000${key.sk}`;

const withAllocated = (f: Omit<CounterFigures, 'allocatedPico' | 'allocatedTokens'>): CounterFigures => ({
  ...f,
  allocatedPico: f.spentPico + f.reservedPico,
  allocatedTokens: f.spentTokens + f.reservedTokens,
});

/**
 * An in-memory {@link BudgetStore} for core unit tests: the same single-counter semantics as
 * the DynamoDB adapter (a conditional hold per request, idempotent release and settle through
 * the request's marker, alerts claimed once), no AWS. `failOn` makes a method throw, as a store
 * failure would, after a number of calls that succeed.
 */
export class MemoryBudgetStore implements BudgetStore {
  readonly budgets = new Map<string, BudgetDefinition>();
  readonly counters = new Map<string, Counter & { key: CounterKey }>();
  readonly usage: UsageAggregate[] = [];
  readonly systemPrompts: Array<SystemPromptUse & { day: string }> = [];
  /** Rate windows by key: their figures and each request's worst-case tokens. */
  readonly windows = new Map<string, RateWindow>();
  /** Cached answers by key, expired ones kept (as DynamoDB's TTL keeps them a while). */
  readonly cached = new Map<string, { answer: string; expiresAt: Date }>();
  readonly #failures = new Map<Method, number>();

  constructor(budgets: BudgetDefinition[] = []) {
    for (const budget of budgets) this.budgets.set(scopeId(budget), budget);
  }

  /** Make `method` throw from its call number `after + 1` on. */
  failOn(method: Method, after = 0): this {
    this.#failures.set(method, after);
    return this;
  }

  /** Make `method` work again. */
  recover(method: Method): this {
    this.#failures.delete(method);
    return this;
  }

  /** A counter's figures, or zero for one never written. */
  figures(key: CounterKey): CounterFigures {
    return this.counters.get(keyId(key))?.figures ?? ZERO_FIGURES;
  }

  /** The request IDs holding a reservation on a counter. */
  holders(key: CounterKey): string[] {
    return [...(this.counters.get(keyId(key))?.holds.keys() ?? [])];
  }

  /** Put a hold on a counter, as a reservation written at `heldSince` would have. */
  hold(key: CounterKey, requestId: string, amount: Amount, heldSince: Date, detail?: HoldDetail): void {
    const counter = this.#counter(key);
    counter.holds.set(requestId, { amount, heldSince, detail });
    counter.open = true;
    counter.written = true;
    counter.figures = withAllocated({
      ...counter.figures,
      reservedPico: counter.figures.reservedPico + amount.pico,
      reservedTokens: counter.figures.reservedTokens + amount.tokens,
    });
  }

  /** Whether a counter is on the open index. */
  isOpen(key: CounterKey): boolean {
    return this.counters.get(keyId(key))?.open ?? false;
  }

  #call(method: Method): void {
    const left = this.#failures.get(method);
    if (left === undefined) return;
    if (left > 0) this.#failures.set(method, left - 1);
    else throw new Error(`store failure in ${method}`);
  }

  #counter(key: CounterKey): Counter {
    const id = keyId(key);
    let counter = this.counters.get(id);
    if (!counter) {
      counter = { key, figures: { ...ZERO_FIGURES, alerted: [] }, holds: new Map(), open: false };
      this.counters.set(id, counter);
    }
    return counter;
  }

  async getBudgets(scope: BudgetScope) {
    this.#call('getBudgets');
    const costCenter = this.budgets.get(scopeId({ costCenter: scope.costCenter }));
    const application = scope.applicationId ? this.budgets.get(scopeId(scope)) : undefined;
    return { ...(costCenter ? { costCenter } : {}), ...(application ? { application } : {}) };
  }

  async putBudget(budget: BudgetDefinition): Promise<void> {
    this.#call('putBudget');
    this.budgets.set(scopeId(budget), budget);
  }

  async deleteBudget(scope: BudgetScope): Promise<boolean> {
    this.#call('deleteBudget');
    const existed = this.budgets.delete(scopeId(scope));
    if (!scope.applicationId) {
      for (const [id, budget] of this.budgets) {
        if (budget.costCenter === scope.costCenter) this.budgets.delete(id);
      }
    }
    return existed;
  }

  async listBudgets(): Promise<BudgetDefinition[]> {
    this.#call('listBudgets');
    return [...this.budgets.values()];
  }

  async reserve(
    key: CounterKey,
    requestId: string,
    amount: Amount,
    max: { pico?: bigint | undefined; tokens?: number | undefined },
    at: Date,
    detail?: HoldDetail,
    shards?: ShardWrite,
  ): Promise<{ reserved: boolean; figures: CounterFigures }> {
    this.#call('reserve');
    const counter = this.#counter(key);
    // As DynamoDB's: a request already holding is held, whatever else the condition says.
    if (counter.holds.has(requestId)) return { reserved: true, figures: counter.figures };
    const { funnel } = counter.figures;
    // As the adapter: a refusal not read again answers no figures.
    const refused = {
      reserved: false,
      figures: shards?.readOnRefusal === false ? { ...ZERO_FIGURES } : counter.figures,
    };
    if (
      shards &&
      (!this.#pinAllows(counter, shards.count) ||
        (shards.funnel !== undefined && (shards.funnel || undefined) !== funnel))
    ) {
      return refused;
    }
    const { allocatedPico, allocatedTokens } = counter.figures;
    const fits =
      (max.pico === undefined || allocatedPico + amount.pico <= max.pico) &&
      (max.tokens === undefined || allocatedTokens + amount.tokens <= max.tokens);
    if (!fits) return refused;
    this.hold(key, requestId, amount, at, detail);
    if (shards) counter.figures = { ...counter.figures, shards: shards.count };
    return { reserved: true, figures: counter.figures };
  }

  /** The DynamoDB adapter's condition on a counter's pinned shard count. */
  #pinAllows(counter: Counter, count: number): boolean {
    const pinned = counter.figures.shards;
    if (pinned !== undefined) return pinned === count;
    return count === 1 || !counter.written;
  }

  /** Each first shard's peak limits, as the DynamoDB adapter keeps them on the item. */
  readonly peaks = new Map<string, PeakLimits>();

  async pinShards(key: CounterKey, count: number, limits: PeakLimits = {}): Promise<ShardPin> {
    this.#call('pinShards');
    const counter = this.#counter(key);
    if (counter.figures.shards === undefined) {
      if (count > 1 && counter.written) return { count: 1, peak: {} };
      counter.figures = { ...counter.figures, shards: count };
    }
    const before = this.peaks.get(keyId(key)) ?? {
      pico: limits.pico ?? BigInt(UNLIMITED),
      tokens: limits.tokens ?? UNLIMITED,
    };
    // As the adapter: raised to a higher limit, or to UNLIMITED when the limit is gone.
    const raised = <T extends bigint | number>(was: T, now: T | undefined, unlimited: T): T => {
      if (was === unlimited) return was;
      if (now === undefined) return unlimited;
      return now > was ? now : was;
    };
    const peak = {
      pico: raised(before.pico ?? BigInt(UNLIMITED), limits.pico, BigInt(UNLIMITED)),
      tokens: raised(before.tokens ?? UNLIMITED, limits.tokens, UNLIMITED),
    };
    this.peaks.set(keyId(key), peak);
    const { funnel } = counter.figures;
    return { count: counter.figures.shards ?? count, peak, ...(funnel ? { funnel } : {}) };
  }

  async funnel(key: CounterKey, limits: PeakLimits, now: number): Promise<string | undefined> {
    this.#call('funnel');
    const counter = this.#counter(key);
    if (counter.figures.funnel) return counter.figures.funnel;
    const peak = this.peaks.get(keyId(key)) ?? {};
    const below = <T extends bigint | number>(limit: T | undefined, stored: T | undefined, unlimited: T) =>
      limit !== undefined && stored !== undefined && (stored === unlimited || stored > limit);
    if (!below(limits.pico, peak.pico, BigInt(UNLIMITED)) && !below(limits.tokens, peak.tokens, UNLIMITED)) {
      return undefined;
    }
    const token = randomUUID();
    const funnelLimits = { pico: limits.pico ?? BigInt(UNLIMITED), tokens: limits.tokens ?? UNLIMITED };
    counter.figures = { ...counter.figures, funnel: token, funnelSince: now, funnelLimits };
    return token;
  }

  async unfunnel(
    key: CounterKey,
    token: string,
    limits: PeakLimits,
    firstShare: PeakLimits,
  ): Promise<boolean> {
    this.#call('unfunnel');
    const counter = this.#counter(key);
    const { funnel, allocatedPico, allocatedTokens } = counter.figures;
    const within =
      (firstShare.pico === undefined || allocatedPico <= firstShare.pico) &&
      (firstShare.tokens === undefined || allocatedTokens <= firstShare.tokens);
    if (funnel !== token || !within) return false;
    const { funnel: _gone, funnelSince: _since, funnelLimits: _limits, ...rest } = counter.figures;
    counter.figures = rest;
    this.peaks.set(keyId(key), {
      pico: limits.pico ?? BigInt(UNLIMITED),
      tokens: limits.tokens ?? UNLIMITED,
    });
    return true;
  }

  async getCounters(keys: CounterKey[], requestId?: string): Promise<CounterFigures[]> {
    this.#call('getCounters');
    if (requestId !== undefined) {
      return keys.map((key) => ({
        ...this.figures(key),
        ...(this.holders(key).includes(requestId) ? { holding: true } : {}),
      }));
    }
    return keys.map((key) => this.figures(key));
  }

  async reserveWindow(
    key: CounterKey,
    requestId: string,
    tokens: number,
    limits: RateLimits,
    expiresAt: Date,
  ): Promise<{ reserved: boolean; figures: WindowFigures }> {
    this.#call('reserveWindow');
    const window = this.#window(key);
    if (window.holds.has(requestId)) return { reserved: true, figures: { ...window.figures } };
    const { requests, tokens: counted } = window.figures;
    const fits =
      (limits.requestsPerMinute === undefined || requests + 1 <= limits.requestsPerMinute) &&
      (limits.tokensPerMinute === undefined || counted + tokens <= limits.tokensPerMinute);
    if (!fits) return { reserved: false, figures: { ...window.figures } };
    window.holds.set(requestId, tokens);
    window.expiresAt = expiresAt;
    window.figures = { requests: requests + 1, tokens: counted + tokens };
    return { reserved: true, figures: { ...window.figures } };
  }

  async settleWindow(
    key: CounterKey,
    requestId: string,
    heldTokens: number,
    usedTokens: number | undefined,
  ): Promise<boolean> {
    this.#call('settleWindow');
    const window = this.#window(key);
    if (!window.holds.delete(requestId)) return false;
    window.figures = {
      requests: window.figures.requests - (usedTokens === undefined ? 1 : 0),
      tokens: window.figures.tokens - heldTokens + (usedTokens ?? 0),
    };
    return true;
  }

  /** A rate window's figures, or zero for one never written. */
  windowFigures(key: CounterKey): WindowFigures {
    return { ...(this.windows.get(keyId(key))?.figures ?? { requests: 0, tokens: 0 }) };
  }

  async getWindow(key: CounterKey): Promise<WindowFigures> {
    this.#call('getWindow');
    return this.windowFigures(key);
  }

  #window(key: CounterKey): RateWindow {
    const id = keyId(key);
    let window = this.windows.get(id);
    if (!window) {
      window = { figures: { requests: 0, tokens: 0 }, holds: new Map() };
      this.windows.set(id, window);
    }
    return window;
  }

  async release(key: CounterKey, requestId: string): Promise<{ released: boolean; figures: CounterFigures }> {
    this.#call('release');
    const counter = this.#counter(key);
    const hold = counter.holds.get(requestId);
    if (!hold) return { released: false, figures: counter.figures };
    return { released: true, figures: this.#close(counter, requestId, hold.amount, { pico: 0n, tokens: 0 }) };
  }

  async settle(
    key: CounterKey,
    requestId: string,
    reserved: Amount,
    used: Amount,
  ): Promise<{ settled: boolean; figures: CounterFigures }> {
    this.#call('settle');
    const counter = this.#counter(key);
    if (!counter.holds.has(requestId)) return { settled: false, figures: counter.figures };
    return { settled: true, figures: this.#close(counter, requestId, reserved, used) };
  }

  #close(counter: Counter, requestId: string, reserved: Amount, used: Amount): CounterFigures {
    counter.holds.delete(requestId);
    const f = counter.figures;
    counter.figures = withAllocated({
      ...f,
      reservedPico: f.reservedPico - reserved.pico,
      reservedTokens: f.reservedTokens - reserved.tokens,
      spentPico: f.spentPico + used.pico,
      spentTokens: f.spentTokens + used.tokens,
    });
    return counter.figures;
  }

  async getCounter(key: CounterKey): Promise<CounterFigures> {
    this.#call('getCounter');
    return this.figures(key);
  }

  async markAlert(key: CounterKey, threshold: number): Promise<boolean> {
    this.#call('markAlert');
    const counter = this.#counter(key);
    if (counter.figures.alerted.includes(threshold)) return false;
    counter.figures = { ...counter.figures, alerted: [...counter.figures.alerted, threshold] };
    return true;
  }

  async addUsage(usage: UsageAggregate): Promise<void> {
    this.#call('addUsage');
    this.usage.push(usage);
  }

  async findStaleReservations(heldBefore: Date): Promise<{ stale: StaleReservation[]; idle: IdleCounter[] }> {
    this.#call('findStaleReservations');
    const stale: StaleReservation[] = [];
    const idle: IdleCounter[] = [];
    for (const counter of this.counters.values()) {
      if (!counter.open) continue;
      const { shards } = counter.figures;
      if (counter.holds.size === 0)
        idle.push(shards === undefined ? counter.key : { ...counter.key, shards });
      for (const [requestId, hold] of counter.holds) {
        if (hold.heldSince < heldBefore) stale.push({ key: counter.key, requestId, ...hold });
      }
    }
    return { stale, idle };
  }

  async forgetIdleCounter(key: CounterKey): Promise<void> {
    this.#call('forgetIdleCounter');
    const counter = this.#counter(key);
    if (counter.holds.size === 0) counter.open = false;
  }

  async getCachedAnswer(key: CounterKey): Promise<{ answer: string; expiresAt: Date } | undefined> {
    this.#call('getCachedAnswer');
    return this.cached.get(keyId(key));
  }

  async putCachedAnswer(key: CounterKey, answer: string, expiresAt: Date): Promise<void> {
    this.#call('putCachedAnswer');
    this.cached.set(keyId(key), { answer, expiresAt });
  }

  async addSystemPromptUse(
    use: SystemPromptUse & { day: string; shard?: number | undefined },
  ): Promise<void> {
    this.#call('addSystemPromptUse');
    this.systemPrompts.push(use);
  }

  async querySystemPrompts(costCenter: string, period: string): Promise<SystemPromptUse[]> {
    this.#call('querySystemPrompts');
    return this.systemPrompts
      .filter((u) => u.costCenter === costCenter && u.day.startsWith(period))
      .map(({ day: _day, ...use }) => use);
  }

  async queryUsage(costCenter: string, period: string): Promise<UsageAggregate[]> {
    this.#call('queryUsage');
    return this.usage.filter((u) => u.costCenter === costCenter && u.day.startsWith(period));
  }
}
