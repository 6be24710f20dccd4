import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { keyOf, systemPromptUpdate, systemPromptUseOf } from '../rules/budget-items.ts';
import type { SystemPromptUse } from '../rules/system-prompts.ts';
import { keys } from '../rules/table.ts';
import { failClosed, itemsUnder } from './dynamo.ts';

/**
 * The days' uses of each large system prompt, by hash, in the cost center's partition. The
 * table's TTL deletes them after `SYSTEM_PROMPT_DAYS`.
 */
export class SystemPromptStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async addSystemPromptUse(use: SystemPromptUse & { day: string }): Promise<void> {
    await failClosed(
      this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: keyOf(keys.systemPrompt(use)),
          ...systemPromptUpdate(use),
        }),
      ),
    );
  }

  async querySystemPrompts(costCenter: string, period: string): Promise<SystemPromptUse[]> {
    const items = await itemsUnder(
      this.#client,
      this.#table,
      keys.budget({ costCenter }).pk,
      keys.systemPromptPrefix(period),
    );
    return items.map((item) => systemPromptUseOf(item, costCenter));
  }
}
