import { SFNClient, StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import type { ExecutionInput } from '../shared/rules/types.ts';
import type { SyncExecution } from './proxy.ts';

/**
 * The workflow, started as API Gateway's StartSyncExecution integration starts it for the other
 * routes: named by the request ID, the execution input as JSON.
 */
export class SyncWorkflow {
  readonly #client = new SFNClient({});
  readonly #stateMachineArn: string;

  constructor(stateMachineArn: string) {
    this.#stateMachineArn = stateMachineArn;
  }

  async run(input: ExecutionInput): Promise<SyncExecution> {
    const result = await this.#client.send(
      new StartSyncExecutionCommand({
        stateMachineArn: this.#stateMachineArn,
        name: input.requestId,
        input: JSON.stringify(input),
      }),
    );
    return {
      status: result.status ?? 'FAILED',
      output: result.output,
      error: result.error,
      cause: result.cause,
    };
  }
}
