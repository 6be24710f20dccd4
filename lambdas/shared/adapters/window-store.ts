import type { CounterKey, RateLimits, WindowFigures } from '../rules/budget.ts';
import { EXPIRES_AT, n, windowFiguresOf } from '../rules/budget-items.ts';
import { type CounterItems, holds } from './counter-items.ts';
import type { Item } from './dynamo.ts';

/**
 * The per-minute rate windows: one item per scope and minute, counting requests and tokens.
 * A hold adds to both under the limits' condition; settling gives back what was not used.
 */
export class DynamoWindowStore {
  readonly #items: CounterItems;

  constructor(items: CounterItems) {
    this.#items = items;
  }

  async reserveWindow(
    key: CounterKey,
    requestId: string,
    tokens: number,
    limits: RateLimits,
    expiresAt: Date,
  ): Promise<{ reserved: boolean; figures: WindowFigures }> {
    const conditions = ['attribute_not_exists(#r)'];
    const values: Item = {
      ':held': n(tokens),
      ':one': n(1),
      ':exp': n(Math.ceil(expiresAt.getTime() / 1000)),
    };
    if (limits.requestsPerMinute !== undefined) {
      conditions.push('(attribute_not_exists(requests) OR requests < :maxR)');
      values[':maxR'] = n(limits.requestsPerMinute);
    }
    if (limits.tokensPerMinute !== undefined) {
      if (tokens > limits.tokensPerMinute) {
        return { reserved: false, figures: windowFiguresOf(await this.#items.get(key)) };
      }
      conditions.push('(attribute_not_exists(tokens) OR tokens <= :maxT)');
      values[':maxT'] = n(limits.tokensPerMinute - tokens);
    }
    const { applied, item } = await this.#items.updateReservation(key, requestId, {
      update: `SET #r = :held, ${EXPIRES_AT} = :exp ADD requests :one, tokens :held`,
      condition: conditions.join(' AND '),
      values,
    });
    return { reserved: holds(applied, item, requestId), figures: windowFiguresOf(item) };
  }

  async settleWindow(
    key: CounterKey,
    requestId: string,
    heldTokens: number,
    usedTokens: number | undefined,
  ): Promise<boolean> {
    const { applied } = await this.#items.updateReservation(key, requestId, {
      update: 'REMOVE #r ADD requests :dr, tokens :dt',
      condition: 'attribute_exists(#r)',
      values: {
        ':dr': n(usedTokens === undefined ? -1 : 0),
        ':dt': n((usedTokens ?? 0) - heldTokens),
      },
    });
    return applied;
  }

  async getWindow(key: CounterKey): Promise<WindowFigures> {
    return windowFiguresOf(await this.#items.get(key));
  }
}
