import { type Stack, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** One acknowledged cdk-nag finding and why it is acceptable here. */
interface Acknowledgement {
  id: string;
  reason: string;
  /** Construct paths below the stack (prefix match); the finding is acknowledged on each. */
  paths: RegExp;
}

/**
 * Every cdk-nag finding Cost Sentry accepts, each with its reason. Nothing is acknowledged
 * stack-wide: each finding is acknowledged on the constructs it was raised on.
 */
export const ACKNOWLEDGEMENTS: readonly Acknowledgement[] = [
  {
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) and Step Functions log delivery ' +
      '(logs:CreateLogDelivery and friends) do not support resource-level permissions, and neither do the ' +
      "AWS Marketplace actions of InvokeModel's first call to a third-party model, which are scoped by conditions " +
      'instead (only via Bedrock, aws:CalledViaLast; Subscribe only for the configured product IDs). Every ' +
      'other statement names exact ARNs.',
    paths:
      /^(ValidateRequest|ClaimIdempotencyKey|ReserveBudget|InvokeModel|SettleUsage|HandleFailure|BudgetAdmin|SweepReservations|AuthorizeKey|StreamModel)\/Role\/DefaultPolicy\/Resource$|^Workflow\/StateMachine\/Role\/DefaultPolicy\/Resource$/,
  },
  {
    id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    reason:
      'Publishing to the encrypted alert topic needs kms:GenerateDataKey* (the action family, whose ' +
      'variants SNS chooses) on the topic key only: the statement names that one key ARN.',
    paths: /^(SettleUsage|HandleFailure|SweepReservations|StreamModel)\/Role\/DefaultPolicy\/Resource$/,
  },
  ...['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy'].map((id) => ({
    id,
    reason:
      'This queue is itself the dead-letter queue of the alert email subscriptions (their RedrivePolicy ' +
      'names it); a dead-letter queue of a dead-letter queue would hold nothing new.',
    paths: /^Alerts\/DeadLetters\/Resource$/,
  })),
  {
    id: 'Serverless-LambdaDLQ',
    reason:
      'Step Functions (and, for BudgetAdmin, AuthorizeKey and StreamModel, API Gateway) invokes these functions synchronously and handles ' +
      'their failures itself; a dead-letter queue only applies to asynchronous invocations.',
    paths:
      /^(ValidateRequest|ClaimIdempotencyKey|ReserveBudget|InvokeModel|SettleUsage|HandleFailure|BudgetAdmin|AuthorizeKey|StreamModel)\/Function\/Resource$/,
  },
  {
    id: 'Serverless-LambdaDLQ',
    reason:
      'EventBridge runs the sweeper every few minutes and retries a failed run twice; a missed run only ' +
      'delays returning stale reservations to the next one, so there is nothing to dead-letter.',
    paths: /^SweepReservations\/Function\/Resource$/,
  },
  {
    id: 'Serverless-EventBusDLQ',
    reason:
      'The sweep schedule fires every few minutes with no payload; an event that could not be delivered is ' +
      'replaced by the next one, so a dead-letter queue would hold nothing to act on.',
    paths: /^SweepSchedule\/Resource$/,
  },
  {
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    reason:
      'The account-level role API Gateway needs to write execution logs; AWS maintains this policy for ' +
      'exactly that purpose.',
    paths: /^Proxy\/Api\/CloudWatchRole\/Resource$/,
  },
  {
    id: 'AwsSolutions-COG4',
    reason:
      'Callers and platform engineers authenticate with IAM (SigV4), or callers with API keys checked by a ' +
      'Lambda REQUEST authorizer; there is no Cognito user pool to use.',
    paths: /^Proxy\/Api\/Default\/(v1|model)\/.+\/(GET|PUT|POST|DELETE)\/Resource$/,
  },
  {
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason:
      'The CDK-provided function behind the budget seed custom resources runs only during deployments ' +
      'and only writes its own logs with this policy; its data access is one dynamodb:PutItem on the table.',
    paths: /^AWS679f53fac002430cb0da5b7982bd2287\/ServiceRole\/Resource$/,
  },
  {
    id: 'Serverless-LambdaDLQ',
    reason:
      'CloudFormation invokes the budget seed function and reports its failures as a failed deployment.',
    paths: /^AWS679f53fac002430cb0da5b7982bd2287\/Resource$/,
  },
  ...['AwsSolutions-APIG4', 'AwsSolutions-COG4'].map((id) => ({
    id,
    reason:
      'A mock integration that answers fixed JSON with no backend and no data behind it: a 404 or 405, so ' +
      'that unknown routes and methods answer as in the local stack, or the public OpenAPI document.',
    paths: /^Proxy\/Api\/Default\/((.*\/)?ANY|openapi\.json\/GET)\/Resource$/,
  })),
  {
    id: 'AwsSolutions-APIG3',
    reason:
      'Every caller is authenticated and the stage is throttled (deployment.throttle in the config); a WAF web ' +
      'ACL is an extra cost the deployer opts into with deployment.waf, which adds a per-IP rate-based rule.',
    paths: /^Proxy\/Api\/DeploymentStage\.prod\/Resource$/,
  },
  {
    id: 'Serverless-LambdaTracing',
    reason: 'The budget seed function runs only during deployments; there is no request path to trace.',
    paths: /^AWS679f53fac002430cb0da5b7982bd2287\/Resource$/,
  },
  {
    id: 'AwsSolutions-SF1',
    reason:
      'The Express state machine logs at ERROR by default: failed executions and tasks, never a success, whose ' +
      'record is the audit line and the metrics (ALL would add about 4 KB of CloudWatch Logs a request). ' +
      'deployment.stateMachineLogLevel "ALL" logs every event when debugging.',
    paths: /^Workflow\/StateMachine\/Resource$/,
  },
];

/** Acknowledgements whose finding IDs name the stack's region and account. */
function regional(stack: Stack): Acknowledgement[] {
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  return [
    {
      id:
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:${region}:${account}:` +
        '<ProxyApi99F439A2>/<ProxyApiDeploymentStageprodE06BE7B9>/*/v1/budgets/*]',
      reason:
        'The admin policy covers the budget routes of this API only; the wildcards stand for the method (GET, ' +
        'PUT, DELETE) and for cost center and application IDs, which are data created after deployment.',
      paths: /^AdminPolicy\/Resource$/,
    },
    {
      id:
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:${region}:${account}:` +
        '<ProxyApi99F439A2>/<ProxyApiDeploymentStageprodE06BE7B9>/POST/model/*/converse]',
      reason:
        'The Converse route names its model in the path (an alias, a catalog model ID or a profile ID); the ' +
        'wildcard stands for that one segment, and the sentry refuses any model its catalog does not list.',
      paths: /^InvokePolicy\/Resource$/,
    },
    {
      id:
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:${region}:${account}:` +
        '<ProxyApi99F439A2>/<ProxyApiDeploymentStageprodE06BE7B9>/POST/model/*/converse-stream]',
      reason:
        'ConverseStream names its model in the path like Converse; the wildcard stands for that one segment, ' +
        'and the sentry refuses any model its catalog does not list.',
      paths: /^InvokePolicy\/Resource$/,
    },
    {
      id:
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:${region}:${account}:` +
        '<ProxyApi99F439A2>/<ProxyApiDeploymentStageprodE06BE7B9>/DELETE/v1/keys/*]',
      reason:
        'Revoking a key is DELETE /v1/keys/{keyId}; the wildcard stands for key IDs, created after deployment.',
      paths: /^AdminPolicy\/Resource$/,
    },
  ];
}

/** Attach every acknowledgement to the constructs it names. */
export function acknowledgeFindings(stack: Stack): void {
  const all = [...ACKNOWLEDGEMENTS, ...regional(stack)];
  for (const construct of stack.node.findAll()) {
    const path = relativePath(stack, construct);
    for (const ack of all) {
      if (ack.paths.test(path)) Validations.of(construct).acknowledge({ id: ack.id, reason: ack.reason });
    }
  }
}

function relativePath(stack: Stack, construct: IConstruct): string {
  return construct.node.path.slice(stack.node.path.length + 1);
}
