import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ENV } from '../lambdas/shared/env.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../lambdas/shared/powertools.ts';
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

/** Lambda environment variables share 4 KB; the catalog must leave room for the rest. */
export const MAX_CATALOG_ENV_BYTES = 3_500;

/** Wires the table, the five functions, the state machine and the API. No resource details here. */
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
    const fn = (id: string, entry: keyof typeof LAMBDA_TIMEOUTS) =>
      new SentryFunction(this, id, {
        entry,
        timeout: Duration.seconds(LAMBDA_TIMEOUTS[entry]),
        environment,
        logRetention,
      });
    const validate = fn('ValidateRequest', 'validate-request');
    const claim = fn('ClaimIdempotencyKey', 'claim-idempotency-key');
    const reserve = fn('ReserveBudget', 'reserve-budget');
    const invoke = fn('InvokeModel', 'invoke-model');
    const settle = fn('SettleUsage', 'settle-usage');
    const release = fn('ReleaseReservation', 'release-reservation');
    const admin = fn('BudgetAdmin', 'budget-admin');
    for (const budgetFn of [reserve, settle, release]) budgets.grantRequestPath(budgetFn.role);
    // Claiming a key; SettleUsage records the response, ReleaseReservation drops a failed claim.
    for (const idempotent of [claim, settle, release]) budgets.grantIdempotency(idempotent.role);
    budgets.grantAdmin(admin.role);
    const keyAuthorizer = config.auth.invoke === 'apikey' ? fn('AuthorizeKey', 'authorize-key') : undefined;
    if (keyAuthorizer) budgets.grantKeyReads(keyAuthorizer.role);
    const sweeper = fn('SweepReservations', 'sweep-reservations');
    budgets.grantSweep(sweeper.role);
    new Rule(this, 'SweepSchedule', {
      description: 'Cost Sentry: return reservations whose execution died',
      schedule: Schedule.rate(Duration.minutes(SWEEP_EVERY_MINUTES)),
      targets: [new LambdaFunction(sweeper.fn, { retryAttempts: 2 })],
    });
    // Settling (and a failure charged after Bedrock worked) may cross an alert threshold.
    for (const alerting of [settle, release]) alerts.topic.grantPublish(alerting.role);

    // bedrock:InvokeModel (what Converse needs) on exactly the configured models and profiles.
    invoke.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['bedrock:InvokeModel'],
        resources: [...bedrockResources(this, config), ...profiles.arns],
      }),
    );

    const machine = new ProxyStateMachine(this, 'Workflow', {
      functions: {
        ValidateRequestFunctionArn: validate.fn,
        ClaimIdempotencyKeyFunctionArn: claim.fn,
        ReserveBudgetFunctionArn: reserve.fn,
        InvokeModelFunctionArn: invoke.fn,
        SettleUsageFunctionArn: settle.fn,
        ReleaseReservationFunctionArn: release.fn,
      },
      logRetention,
    });
    const api = new ProxyApi(this, 'Proxy', {
      stateMachine: machine.stateMachine,
      adminFunction: admin.fn,
      keyAuthorizer: keyAuthorizer?.fn,
      maxBodyBytes: config.limits.maxBodyBytes,
      logRetention,
      throttle: config.deployment.throttle,
      waf: config.deployment.waf,
    });

    // Attach these to the roles of callers and of platform engineers.
    const stage = api.api.deploymentStage.stageName;
    const invokePolicy = new ManagedPolicy(this, 'InvokePolicy', {
      description: 'Cost Sentry: may call POST /v1/invoke',
      statements: [
        new PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: [api.api.arnForExecuteApi('POST', '/v1/invoke', stage)],
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
            api.api.arnForExecuteApi('GET', '/v1/keys', stage),
            api.api.arnForExecuteApi('POST', '/v1/keys', stage),
            api.api.arnForExecuteApi('DELETE', '/v1/keys/*', stage),
          ],
        }),
      ],
    });

    const finance = new FinanceDashboard(this, 'Finance', {
      topic: alerts.topic,
      budgets: budgetDefinitions(config).filter((b) => !b.applicationId),
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
 * Foundation-model ARNs of the configured models in the stack's region, plus each inference
 * profile ARN and, for a model behind a profile, its foundation model in every region (a
 * cross-region profile routes the call to another region's copy of the model).
 */
export function bedrockResources(stack: Stack, config: CostSentryConfig): string[] {
  const arns = new Set<string>();
  for (const model of Object.values(config.models)) {
    arns.add(
      stack.formatArn({
        service: 'bedrock',
        account: '',
        resource: 'foundation-model',
        resourceName: model.modelId,
      }),
    );
    if (model.inferenceProfileArn) {
      arns.add(model.inferenceProfileArn);
      arns.add(
        stack.formatArn({
          service: 'bedrock',
          region: '*',
          account: '',
          resource: 'foundation-model',
          resourceName: model.modelId,
        }),
      );
    }
  }
  return [...arns];
}
