import { CfnOutput, Duration, Names, Stack, type StackProps } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnSamplingRule } from 'aws-cdk-lib/aws-xray';
import type { Construct } from 'constructs';
import { foundationModelOf, isSystemProfileId } from '../lambdas/shared/rules/catalog.ts';
import { ENV } from '../lambdas/shared/wiring/env.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../lambdas/shared/wiring/powertools.ts';
import { budgetDefinitions, type CostSentryConfig, catalogOf } from './config/schema.ts';
import { AlertTopic } from './constructs/alert-topic.ts';
import { BudgetTable } from './constructs/budget-table.ts';
import { FinanceDashboard } from './constructs/finance-dashboard.ts';
import { InferenceProfiles } from './constructs/inference-profiles.ts';
import { ProxyApi } from './constructs/proxy-api.ts';
import { ProxyStateMachine } from './constructs/proxy-state-machine.ts';
import { SentryFunction } from './constructs/sentry-function.ts';
import { BEDROCK_TIMEOUT_MS, LAMBDA_TIMEOUTS } from './timeouts.ts';

/** Props of the Cost Sentry stack. */
export interface CostSentryStackProps extends StackProps {
  config: CostSentryConfig;
}

/** How often the sweeper returns stale reservations on AWS. */
export const SWEEP_EVERY_MINUTES = 5;

/** The share of API requests X-Ray traces (a sampling rule on the stage, no reservoir). */
export const TRACE_SAMPLING_RATE = 0.05;

/** InvokeModel's memory: it waits for the model, and a wait costs in proportion to memory. */
export const INVOKE_MODEL_MEMORY_MB = 128;

/** Lambda environment variables share 4 KB; the catalog must leave room for the rest. */
export const MAX_CATALOG_ENV_BYTES = 3_500;

/** Wires the table, the functions, the state machine, the API, alerts and the dashboard. No resource details here. */
export class CostSentryStack extends Stack {
  constructor(scope: Construct, id: string, props: CostSentryStackProps) {
    super(scope, id, props);
    const { config } = props;
    const catalogJson = JSON.stringify(catalogOf(config));
    if (Buffer.byteLength(catalogJson) > MAX_CATALOG_ENV_BYTES) {
      throw new Error(
        `the model catalog is ${Buffer.byteLength(catalogJson)} bytes as JSON; Lambda environment ` +
          `variables allow ${MAX_CATALOG_ENV_BYTES} for it. Remove unused models or price versions.`,
      );
    }
    const logRetention = config.deployment.logRetentionDays as RetentionDays;
    const profiles = new InferenceProfiles(this, 'InferenceProfiles', {
      costCenters: Object.entries(config.budgets)
        .filter(([, budget]) => budget.inferenceProfiles)
        .map(([costCenter]) => costCenter),
      models: config.models,
      environment: config.deployment.environment,
    });
    const budgets = new BudgetTable(this, 'Budgets', { budgets: budgetDefinitions(config) });
    const alerts = new AlertTopic(this, 'Alerts', { emails: config.alerts.emails });

    const environment = {
      [ENV.catalog]: catalogJson,
      [ENV.tableName]: budgets.table.tableName,
      [ENV.alertTopicArn]: alerts.topic.topicArn,
      [ENV.profiles]: this.toJsonString(profiles.ids),
      [ENV.profileArnPrefix]: this.formatArn({
        service: 'bedrock',
        resource: 'application-inference-profile',
        resourceName: '',
      }),
      [ENV.bedrockTimeoutMs]: String(BEDROCK_TIMEOUT_MS),
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    };
    const fn = (id: string, entry: keyof typeof LAMBDA_TIMEOUTS, memorySize?: number) =>
      new SentryFunction(this, id, {
        entry,
        timeout: Duration.seconds(LAMBDA_TIMEOUTS[entry]),
        environment,
        logRetention,
        ...(memorySize ? { memorySize } : {}),
      });
    const validate = fn('ValidateRequest', 'validate-request');
    const claim = fn('ClaimIdempotencyKey', 'claim-idempotency-key');
    const reserve = fn('ReserveBudget', 'reserve-budget');
    // InvokeModel mostly waits for the model: a wait costs in proportion to memory, and the
    // bundle fits in 128 MB (npm run cost-model prints the trade-off).
    const invoke = fn('InvokeModel', 'invoke-model', INVOKE_MODEL_MEMORY_MB);
    const settle = fn('SettleUsage', 'settle-usage');
    const handleFailure = fn('HandleFailure', 'handle-failure');
    const admin = fn('BudgetAdmin', 'budget-admin');
    if (config.advice) admin.fn.addEnvironment(ENV.advice, JSON.stringify(config.advice));
    // The streaming routes' Lambda runs the request path's cores in process (no workflow).
    const stream = fn('StreamModel', 'stream-model');
    budgets.grantRequestPath(stream.role);
    budgets.grantIdempotency(stream.role);
    alerts.topic.grantPublish(stream.role);
    for (const budgetFn of [reserve, settle, handleFailure]) budgets.grantRequestPath(budgetFn.role);
    // Claiming a key; SettleUsage records the response, HandleFailure drops a failed claim.
    for (const idempotent of [claim, settle, handleFailure]) budgets.grantIdempotency(idempotent.role);
    budgets.grantAdmin(admin.role);
    const keyAuthorizer = config.auth.invoke === 'apikey' ? fn('AuthorizeKey', 'authorize-key') : undefined;
    if (keyAuthorizer) budgets.grantKeyReads(keyAuthorizer.role);
    const sweeper = fn('SweepReservations', 'sweep-reservations');
    budgets.grantSweep(sweeper.role);
    // A swept reservation is charged, and may cross an alert threshold.
    alerts.topic.grantPublish(sweeper.role);
    new Rule(this, 'SweepSchedule', {
      description: 'Cost Sentry: return reservations whose execution died',
      schedule: Schedule.rate(Duration.minutes(SWEEP_EVERY_MINUTES)),
      targets: [new LambdaFunction(sweeper.fn, { retryAttempts: 2 })],
    });
    // Settling (and a failure charged after Bedrock worked) may cross an alert threshold.
    for (const alerting of [settle, handleFailure]) alerts.topic.grantPublish(alerting.role);

    // bedrock:InvokeModel (what Converse needs) on exactly the configured models and profiles.
    invoke.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['bedrock:InvokeModel'],
        resources: [...bedrockResources(this, config), ...profiles.arns],
      }),
    );
    for (const statement of marketplaceStatements(config)) invoke.role.addToPrincipalPolicy(statement);
    // ConverseStream needs bedrock:InvokeModelWithResponseStream, on exactly the same ARNs.
    stream.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['bedrock:InvokeModelWithResponseStream'],
        resources: [...bedrockResources(this, config), ...profiles.arns],
      }),
    );
    for (const statement of marketplaceStatements(config)) stream.role.addToPrincipalPolicy(statement);

    const machine = new ProxyStateMachine(this, 'Workflow', {
      functions: {
        ValidateRequestFunctionArn: validate.fn,
        ClaimIdempotencyKeyFunctionArn: claim.fn,
        ReserveBudgetFunctionArn: reserve.fn,
        InvokeModelFunctionArn: invoke.fn,
        SettleUsageFunctionArn: settle.fn,
        HandleFailureFunctionArn: handleFailure.fn,
      },
      logRetention,
      logLevel: config.deployment.stateMachineLogLevel,
    });
    // Chat Completions without `stream: true` runs the workflow from the streaming Lambda.
    stream.fn.addEnvironment(ENV.stateMachineArn, machine.stateMachine.stateMachineArn);
    machine.stateMachine.grantStartSyncExecution(stream.role);
    const api = new ProxyApi(this, 'Proxy', {
      stateMachine: machine.stateMachine,
      adminFunction: admin.fn,
      streamFunction: stream.fn,
      keyAuthorizer: keyAuthorizer?.fn,
      maxBodyBytes: config.limits.maxBodyBytes,
      limits: config.limits,
      logRetention,
      throttle: config.deployment.throttle,
      waf: config.deployment.waf,
    });

    // Attach these to the roles of callers and of platform engineers.
    const stage = api.api.deploymentStage.stageName;
    const invokePolicy = new ManagedPolicy(this, 'InvokePolicy', {
      description:
        'Cost Sentry: may call the model routes (seed format, Converse, ConverseStream, Chat Completions)',
      statements: [
        new PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: [
            api.api.arnForExecuteApi('POST', '/v1/invoke', stage),
            api.api.arnForExecuteApi('POST', '/model/*/converse', stage),
            api.api.arnForExecuteApi('POST', '/model/*/converse-stream', stage),
            api.api.arnForExecuteApi('POST', '/v1/chat/completions', stage),
          ],
        }),
      ],
    });
    const adminPolicy = new ManagedPolicy(this, 'AdminPolicy', {
      description: 'Cost Sentry: may manage budgets and read usage',
      statements: [
        new PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: [
            api.api.arnForExecuteApi('GET', '/v1/budgets', stage),
            api.api.arnForExecuteApi('*', '/v1/budgets/*', stage),
            api.api.arnForExecuteApi('GET', '/v1/usage', stage),
            api.api.arnForExecuteApi('GET', '/v1/report', stage),
            api.api.arnForExecuteApi('GET', '/v1/advice', stage),
            api.api.arnForExecuteApi('GET', '/v1/keys', stage),
            api.api.arnForExecuteApi('POST', '/v1/keys', stage),
            api.api.arnForExecuteApi('DELETE', '/v1/keys/*', stage),
          ],
        }),
      ],
    });

    const finance = new FinanceDashboard(this, 'Finance', {
      topic: alerts.topic,
      stateMachine: machine.stateMachine,
      api: api.api,
      budgets: budgetDefinitions(config).filter((b) => !b.applicationId),
    });

    // Trace a fixed 5% of the API's requests, with no per-second reservoir: X-Ray costs the same
    // small share at any rate instead of every request at a low rate (npm run cost-model).
    new CfnSamplingRule(this, 'TraceSampling', {
      samplingRule: {
        ruleName: `cost-sentry-${Names.uniqueId(this).slice(-20)}`,
        priority: 1000,
        fixedRate: TRACE_SAMPLING_RATE,
        reservoirSize: 0,
        serviceName: '*',
        serviceType: '*',
        host: '*',
        httpMethod: '*',
        urlPath: '*',
        resourceArn: api.api.deploymentStage.stageArn,
        version: 1,
      },
    });

    new CfnOutput(this, 'DashboardName', { value: finance.dashboard.dashboardName });
    new CfnOutput(this, 'ApiUrl', { value: api.api.url });
    new CfnOutput(this, 'InvokeUrl', { value: api.api.urlForPath('/v1/invoke') });
    new CfnOutput(this, 'InvokePolicyArn', { value: invokePolicy.managedPolicyArn });
    new CfnOutput(this, 'AdminPolicyArn', { value: adminPolicy.managedPolicyArn });
    new CfnOutput(this, 'AlertTopicArn', { value: alerts.topic.topicArn });
    new CfnOutput(this, 'TableName', { value: budgets.table.tableName });
    new CfnOutput(this, 'StateMachineArn', { value: machine.stateMachine.stateMachineArn });
  }
}

/**
 * What InvokeModel may call, exactly: each configured model in the stack's region; for a model
 * behind a system-defined inference profile (a `us.`/`global.` model ID, or `inferenceProfileArn`)
 * the profile and its foundation model in each region the profile routes to (`profileRegions`;
 * a global profile's destinations are the region-less foundation-model ARN, as AWS documents).
 */
export function bedrockResources(stack: Stack, config: CostSentryConfig): string[] {
  const arns = new Set<string>();
  const foundationModel = (region: string, modelId: string) =>
    stack.formatArn({
      service: 'bedrock',
      region: region === 'global' ? '' : region,
      account: '',
      resource: 'foundation-model',
      resourceName: modelId,
    });
  for (const model of Object.values(config.models)) {
    const base = foundationModelOf(model.modelId);
    arns.add(foundationModel(stack.region, base));
    const profile =
      model.inferenceProfileArn ??
      (isSystemProfileId(model.modelId)
        ? stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: model.modelId })
        : undefined);
    if (!profile) continue;
    arns.add(profile);
    const global = model.modelId.startsWith('global.') || profile.includes('/global.');
    for (const region of model.profileRegions ?? (global ? ['global'] : [])) {
      arns.add(foundationModel(region, base));
    }
  }
  return [...arns];
}

/**
 * The one-time AWS Marketplace subscription Bedrock makes on an account's first call to a
 * third-party model, on behalf of the caller: only through Bedrock, and only for the configured
 * products (AWS documents ProductId for Subscribe alone).
 */
export function marketplaceStatements(config: CostSentryConfig): PolicyStatement[] {
  const products = [
    ...new Set(
      Object.values(config.models)
        .map((m) => m.marketplaceProductId)
        .filter((id): id is string => id !== undefined),
    ),
  ];
  if (products.length === 0) return [];
  const viaBedrock = { StringEquals: { 'aws:CalledViaLast': 'bedrock.amazonaws.com' } };
  return [
    new PolicyStatement({
      actions: ['aws-marketplace:Subscribe'],
      resources: ['*'],
      conditions: { ...viaBedrock, 'ForAnyValue:StringEquals': { 'aws-marketplace:ProductId': products } },
    }),
    new PolicyStatement({
      actions: ['aws-marketplace:ViewSubscriptions'],
      resources: ['*'],
      conditions: viaBedrock,
    }),
  ];
}
