import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AuthorizerEvent, AuthorizerResult } from '../lambdas/authorize-key/core.ts';
import type { ProxyEvent, ProxyResult } from '../lambdas/budget-admin/handler.ts';
import { DynamoBudgetStore } from '../lambdas/shared/adapters/budget-store.ts';
import type { BudgetStore } from '../lambdas/shared/rules/budget.ts';
import { ENV } from '../lambdas/shared/wiring/env.ts';
import { budgetDefinitions, type CostSentryConfig, catalogOf } from '../lib/config/schema.ts';
import { BEDROCK_TIMEOUT_MS } from '../lib/timeouts.ts';
import { FUNCTIONS, type FunctionName } from '../state-machines/definition.ts';
import { type BedrockSimulator, startBedrockSimulator } from './bedrock-simulator.ts';
import { type EmbeddedDynamo, ensureTable, startDynalite } from './dynamo.ts';
import { loadStreamHandler } from './stream-route.ts';
import { type LambdaHandler, LocalWorkflow, type LocalWorkflowOptions } from './workflow.ts';

export const LOCAL_TABLE = 'cost-sentry';

export interface LocalRuntimeOptions extends LocalWorkflowOptions {
  config: CostSentryConfig;
  /** Keep DynamoDB data on disk in this folder; in memory when absent. */
  dataPath?: string | undefined;
  /** `simulator` (default) or `aws` for real Bedrock with the normal credential chain. */
  bedrock?: 'simulator' | 'aws';
  bedrockTimeoutMs?: number;
  /**
   * `open`: no authentication, anonymous callers may use any tags (loopback only). `apikey`: the
   * invoke route needs an API key, checked by the same authorizer as on AWS. @default open
   */
  auth?: 'open' | 'apikey';
  /** How often the reservation sweeper runs; 0 turns it off. @default 60000 */
  sweepIntervalMs?: number;
  /** Route the handlers' DynamoDB calls through another endpoint in front of the embedded one (tests inject faults there). */
  interposeDynamo?: (endpoint: string) => Promise<string>;
}

export interface LocalRuntime {
  workflow: LocalWorkflow;
  /** The admin API's Lambda handler. */
  admin: (event: ProxyEvent) => Promise<ProxyResult>;
  /** The API-key authorizer's Lambda handler. */
  authorizer: (event: AuthorizerEvent) => Promise<AuthorizerResult>;
  /** Run the reservation sweeper once, as its schedule does. */
  sweep: () => Promise<unknown>;
  store: DynamoBudgetStore;
  dynamo: EmbeddedDynamo;
  simulator?: BedrockSimulator | undefined;
  close(): Promise<void>;
}

/**
 * Everything behind the gateway, on one machine: dynalite, the Bedrock simulator, and the real
 * state machine with the real handlers. The handlers read their settings from the environment
 * at import, as on Lambda, so one runtime runs per process.
 */
export async function startRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const dynamo = await startDynalite({ path: options.dataPath });
  // The simulator serves the catalog's models only, as Bedrock serves no retired one.
  const simulator =
    options.bedrock === 'aws'
      ? undefined
      : await startBedrockSimulator({
          models: new Set(
            Object.values(options.config.models).map((m) => m.inferenceProfileArn ?? m.modelId),
          ),
        });

  process.env.AWS_REGION ??= 'us-east-1';
  if (simulator) {
    process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = simulator.endpoint;
    process.env.AWS_ACCESS_KEY_ID = 'local';
    process.env.AWS_SECRET_ACCESS_KEY = 'local';
    delete process.env.AWS_SESSION_TOKEN;
  }
  process.env.AWS_ENDPOINT_URL_DYNAMODB = options.interposeDynamo
    ? await options.interposeDynamo(dynamo.endpoint)
    : dynamo.endpoint;
  process.env[ENV.tableName] = LOCAL_TABLE;
  process.env[ENV.catalog] = JSON.stringify(catalogOf(options.config));
  if (options.config.advice) process.env[ENV.advice] = JSON.stringify(options.config.advice);
  process.env[ENV.bedrockTimeoutMs] = String(options.bedrockTimeoutMs ?? BEDROCK_TIMEOUT_MS);
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'CostSentry';
  process.env[ENV.openCallers] = options.auth === 'apikey' ? 'false' : 'true';

  const client = new DynamoDBClient({ endpoint: dynamo.endpoint });
  await ensureTable(client, LOCAL_TABLE);
  const store = new DynamoBudgetStore(client, LOCAL_TABLE);
  await seedBudgets(store, options.config);

  const workflow = new LocalWorkflow(await importHandlers(), options);
  // The streaming Lambda, outside the workflow: the gateway calls it for the streaming routes.
  await loadStreamHandler();
  const { handler: admin } = await import('../lambdas/budget-admin/handler.ts');
  const { handler: sweep } = await import('../lambdas/sweep-reservations/handler.ts');
  const { handler: authorizer } = await import('../lambdas/authorize-key/handler.ts');
  const interval = options.sweepIntervalMs ?? 60_000;
  const timer = interval > 0 ? setInterval(() => void sweep().catch(() => {}), interval) : undefined;
  timer?.unref();
  return {
    workflow,
    admin,
    authorizer,
    sweep,
    store,
    dynamo,
    simulator,
    async close() {
      if (timer) clearInterval(timer);
      client.destroy();
      await simulator?.close();
      await dynamo.close();
    },
  };
}

/** Import each function's handler module, as the Lambda runtime would. */
async function importHandlers(): Promise<Record<FunctionName, LambdaHandler>> {
  const entries = await Promise.all(
    Object.values(FUNCTIONS).map(async (name) => {
      const module = (await import(`../lambdas/${name}/handler.ts`)) as { handler: LambdaHandler };
      return [name, module.handler] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<FunctionName, LambdaHandler>;
}

/**
 * Budgets as code at local start: each budget the config sets is written over whatever is
 * stored for it (an API change to it does not survive a restart); budgets the config does not
 * name, created through the API, are left alone.
 */
export async function seedBudgets(store: BudgetStore, config: CostSentryConfig): Promise<void> {
  for (const budget of budgetDefinitions(config)) await store.putBudget(budget);
}
