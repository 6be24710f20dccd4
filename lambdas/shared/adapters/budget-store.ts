import {
  BatchGetItemCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type {
  Amount,
  BudgetDefinition,
  BudgetScope,
  BudgetStore,
  CounterFigures,
  CounterKey,
  HoldDetail,
  IdleCounter,
  PeakLimits,
  ShardPin,
  ShardWrite,
  StaleReservation,
  UsageAggregate,
  WindowFigures,
} from '../rules/budget.ts';
import {
  ALERT_PREFIX,
  budgetItem,
  cachedAnswerOf,
  cacheItem,
  definitionOf,
  FUNNELED,
  figuresOf,
  keyOf,
  markerOf,
  n,
  RESERVATION_PREFIX,
  SHARDS,
} from '../rules/budget-items.ts';
import { StoreError } from '../rules/errors.ts';
import type { SystemPromptUse } from '../rules/system-prompts.ts';
import { keys, OPEN_INDEX, REGISTRY_INDEX } from '../rules/table.ts';
import { CounterItems, holds, pinCondition } from './counter-items.ts';
import { failClosed, type Item, registryItems } from './dynamo.ts';
import { OpenCounters } from './open-counters.ts';
import { UsageStore } from './usage-store.ts';
import { DynamoWindowStore } from './window-store.ts';

/**
 * The DynamoDB budget store. Every counter change is one conditional UpdateItem on one item, so
 * it works on DynamoDB and on the embedded dynalite alike. Any store failure other than a failed
 * condition becomes a StoreError: the request is refused, never let through unmetered.
 */
export class DynamoBudgetStore implements BudgetStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #items: CounterItems;
  readonly #windows: DynamoWindowStore;
  readonly #open: OpenCounters;
  readonly #usage: UsageStore;

  constructor(client: DynamoDBClient, table: string) {
    this.#client = client;
    this.#table = table;
    this.#items = new CounterItems(client, table);
    this.#windows = new DynamoWindowStore(this.#items);
    this.#open = new OpenCounters(client, table, this.#items);
    this.#usage = new UsageStore(client, table);
  }

  async getBudgets(
    scope: BudgetScope,
  ): Promise<{ costCenter?: BudgetDefinition; application?: BudgetDefinition }> {
    const wanted = [keys.budget({ costCenter: scope.costCenter })];
    if (scope.applicationId) wanted.push(keys.budget(scope));
    const result = await failClosed(
      this.#client.send(
        new BatchGetItemCommand({
          RequestItems: { [this.#table]: { Keys: wanted.map(keyOf), ConsistentRead: true } },
        }),
      ),
    );
    if (Object.keys(result.UnprocessedKeys ?? {}).length > 0) {
      // Throttled inside the batch: fail closed rather than decide on half the budgets.
      throw new StoreError();
    }
    const found = (result.Responses?.[this.#table] ?? []).map(definitionOf);
    const costCenter = found.find((b) => !b.applicationId);
    const application = found.find((b) => b.applicationId);
    return { ...(costCenter ? { costCenter } : {}), ...(application ? { application } : {}) };
  }

  async putBudget(budget: BudgetDefinition): Promise<void> {
    await failClosed(
      this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: budgetItem(budget, new Date().toISOString()),
        }),
      ),
    );
  }

  async deleteBudget(scope: BudgetScope): Promise<boolean> {
    const targets = [keys.budget(scope)];
    if (!scope.applicationId) {
      const apps = (await this.listBudgets()).filter(
        (b) => b.costCenter === scope.costCenter && b.applicationId,
      );
      targets.push(...apps.map((b) => keys.budget(b)));
    }
    let deleted = false;
    for (const key of targets) {
      const result = await failClosed(
        this.#client.send(
          new DeleteItemCommand({ TableName: this.#table, Key: keyOf(key), ReturnValues: 'ALL_OLD' }),
        ),
      );
      if (key === targets[0]) deleted = result.Attributes !== undefined;
    }
    return deleted;
  }

  async listBudgets(): Promise<BudgetDefinition[]> {
    return (await registryItems(this.#client, this.#table, REGISTRY_INDEX.value)).map(definitionOf);
  }

  markAlert(key: CounterKey, threshold: number): Promise<boolean> {
    return this.#items.setOnce(key, `${ALERT_PREFIX}${threshold}`, { S: new Date().toISOString() });
  }

  addUsage(usage: UsageAggregate): Promise<void> {
    return this.#usage.addUsage(usage);
  }

  addSystemPromptUse(use: SystemPromptUse & { day: string; shard?: number | undefined }): Promise<void> {
    return this.#usage.addSystemPromptUse(use);
  }

  querySystemPrompts(costCenter: string, period: string): Promise<SystemPromptUse[]> {
    return this.#usage.querySystemPrompts(costCenter, period);
  }

  findStaleReservations(heldBefore: Date): Promise<{ stale: StaleReservation[]; idle: IdleCounter[] }> {
    return this.#open.findStaleReservations(heldBefore);
  }

  forgetIdleCounter(key: CounterKey): Promise<void> {
    return this.#open.forgetIdleCounter(key);
  }

  async getCachedAnswer(key: CounterKey): Promise<{ answer: string; expiresAt: Date } | undefined> {
    // Eventually consistent: half a read unit, and an answer a moment old is as good.
    const result = await failClosed(
      this.#client.send(new GetItemCommand({ TableName: this.#table, Key: keyOf(key) })),
    );
    return cachedAnswerOf(result.Item);
  }

  async putCachedAnswer(key: CounterKey, answer: string, expiresAt: Date): Promise<void> {
    await failClosed(
      this.#client.send(
        new PutItemCommand({ TableName: this.#table, Item: cacheItem(key, answer, expiresAt) }),
      ),
    );
  }

  queryUsage(costCenter: string, period: string): Promise<UsageAggregate[]> {
    return this.#usage.queryUsage(costCenter, period);
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
    const maxPico = max.pico === undefined ? undefined : max.pico - amount.pico;
    const maxTokens = max.tokens === undefined ? undefined : max.tokens - amount.tokens;
    if ((maxPico !== undefined && maxPico < 0n) || (maxTokens !== undefined && maxTokens < 0)) {
      // Nothing can fit, but a retry of a reservation that already went through still holds.
      const item = await this.#items.get(key);
      return { reserved: holds(false, item, requestId), figures: figuresOf(item) };
    }
    const conditions = ['attribute_not_exists(#r)'];
    const values: Item = {
      ':r': { M: markerOf(amount, at, detail) },
      ':p': n(amount.pico),
      ':t': n(amount.tokens),
      ':open': { S: OPEN_INDEX.value },
    };
    if (maxPico !== undefined) {
      conditions.push('(attribute_not_exists(allocatedPico) OR allocatedPico <= :maxP)');
      values[':maxP'] = n(maxPico);
    }
    if (maxTokens !== undefined) {
      conditions.push('(attribute_not_exists(allocatedTokens) OR allocatedTokens <= :maxT)');
      values[':maxT'] = n(maxTokens);
    }
    const names: Record<string, string> = {};
    if (shards) {
      conditions.push(pinCondition(shards.count));
      values[':n'] = n(shards.count);
      names['#n'] = SHARDS;
      if (shards.funnel !== undefined) {
        conditions.push(shards.funnel ? '#f = :funnel' : 'attribute_not_exists(#f)');
        names['#f'] = FUNNELED;
        if (shards.funnel) values[':funnel'] = { S: shards.funnel };
      }
    }
    const { applied, item } = await this.#items.updateReservation(key, requestId, {
      update:
        `SET #r = :r, ${OPEN_INDEX.partitionKey} = :open${shards ? ', #n = :n' : ''} ` +
        'ADD allocatedPico :p, reservedPico :p, allocatedTokens :t, reservedTokens :t',
      condition: conditions.join(' AND '),
      values,
      names,
      ...(shards?.readOnRefusal === false ? { readOnFailure: false } : {}),
    });
    // A retry of a reservation that already went through is not a refusal.
    return {
      reserved: holds(applied, item, requestId),
      figures: figuresOf(item),
    };
  }

  async settle(
    key: CounterKey,
    requestId: string,
    reserved: Amount,
    used: Amount,
  ): Promise<{ settled: boolean; figures: CounterFigures }> {
    const { applied, item } = await this.#items.updateReservation(key, requestId, {
      update:
        'REMOVE #r ADD allocatedPico :dp, reservedPico :rp, spentPico :sp, ' +
        'allocatedTokens :dt, reservedTokens :rt, spentTokens :st, settledRequests :one',
      condition: 'attribute_exists(#r)',
      values: {
        ':dp': n(used.pico - reserved.pico),
        ':rp': n(-reserved.pico),
        ':sp': n(used.pico),
        ':dt': n(used.tokens - reserved.tokens),
        ':rt': n(-reserved.tokens),
        ':st': n(used.tokens),
        ':one': n(1),
      },
    });
    return { settled: applied, figures: figuresOf(item) };
  }

  async release(key: CounterKey, requestId: string): Promise<{ released: boolean; figures: CounterFigures }> {
    const item = await this.#items.get(key);
    const marker = item?.[RESERVATION_PREFIX + requestId]?.M;
    if (!marker) return { released: false, figures: figuresOf(item) };
    // A marker never changes once written, so what was read is what the conditional write removes.
    const held = { pico: BigInt(marker.p?.N ?? '0'), tokens: Number(marker.t?.N ?? '0') };
    const { settled, figures } = await this.settle(key, requestId, held, { pico: 0n, tokens: 0 });
    return { released: settled, figures };
  }

  reserveWindow(...args: Parameters<DynamoWindowStore['reserveWindow']>) {
    return this.#windows.reserveWindow(...args);
  }

  settleWindow(...args: Parameters<DynamoWindowStore['settleWindow']>) {
    return this.#windows.settleWindow(...args);
  }

  getWindow(key: CounterKey): Promise<WindowFigures> {
    return this.#windows.getWindow(key);
  }

  async getCounter(key: CounterKey): Promise<CounterFigures> {
    return figuresOf(await this.#items.get(key));
  }

  async getCounters(wanted: CounterKey[], requestId?: string): Promise<CounterFigures[]> {
    return (await this.#items.getMany(wanted)).map((item) => ({
      ...figuresOf(item),
      ...(requestId !== undefined && holds(false, item, requestId) ? { holding: true } : {}),
    }));
  }

  pinShards(key: CounterKey, count: number, limits?: PeakLimits): Promise<ShardPin> {
    return this.#items.pinShards(key, count, limits);
  }

  funnel(key: CounterKey, limits: PeakLimits, now: number): Promise<string | undefined> {
    return this.#items.funnel(key, limits, now);
  }

  unfunnel(key: CounterKey, token: string, limits: PeakLimits, firstShare: PeakLimits): Promise<boolean> {
    return this.#items.unfunnel(key, token, limits, firstShare);
  }
}
