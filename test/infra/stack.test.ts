import { readFileSync } from 'node:fs';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { foundationModelOf } from '../../lambdas/shared/rules/catalog.ts';
import { MODEL_DEADLINE_MS } from '../../lambdas/shared/rules/deadline.ts';
import { ERRORS } from '../../lambdas/shared/rules/errors.ts';
import { createApp } from '../../lib/app.ts';
import { API_INTEGRATION_TIMEOUT_SECONDS, BEDROCK_TIMEOUT_MS, LAMBDA_TIMEOUTS } from '../../lib/timeouts.ts';
import { ASL_PATH } from '../../state-machines/definition.ts';
import { exampleConfig } from '../helpers/fixtures.ts';

let template: Template;

beforeAll(() => {
  // Skip bundling here: the synth test below bundles for real.
  const { stack } = createApp(exampleConfig(), {
    appProps: { context: { 'aws:cdk:bundling-stacks': [] } },
    env: { account: '111122223333', region: 'eu-west-1' },
  });
  template = Template.fromStack(stack);
});

const asl = JSON.parse(readFileSync(ASL_PATH, 'utf8')) as {
  TimeoutSeconds: number;
  States: Record<
    string,
    {
      Type: string;
      TimeoutSeconds?: number;
      Retry?: Array<Record<string, unknown>>;
      Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
    }
  >;
};

describe('the functions', () => {
  it('give InvokeModel, which mostly waits for the model, 128 MB', () => {
    const [invoke] = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([id]) =>
      id.startsWith('InvokeModelFunction'),
    );
    expect(invoke?.[1].Properties.MemorySize).toBe(128);
  });

  it('trace a fixed 5% of the API requests, with no reservoir', () => {
    template.hasResourceProperties('AWS::XRay::SamplingRule', {
      SamplingRule: Match.objectLike({ FixedRate: 0.05, ReservoirSize: 0 }),
    });
  });

  it('run Node.js 24 on arm64 with explicit memory and timeouts', () => {
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Runtime: 'nodejs24.x', Architectures: ['arm64'], MemorySize: 256 },
    });
    // Every function but InvokeModel (128 MB, below).
    expect(Object.keys(functions).filter((id) => !id.startsWith('AWS679f53'))).toHaveLength(8);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Timeout: LAMBDA_TIMEOUTS['invoke-model'],
      Environment: {
        Variables: Match.objectLike({
          COST_SENTRY_CATALOG: Match.stringLikeRegexp('"nova-lite"'),
          COST_SENTRY_TABLE: Match.anyValue(),
          COST_SENTRY_BEDROCK_TIMEOUT_MS: String(BEDROCK_TIMEOUT_MS),
          POWERTOOLS_METRICS_NAMESPACE: 'CostSentry',
        }),
      },
    });
  });

  it('may invoke exactly the configured Bedrock models, nothing wider', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const bedrockStatements = Object.values(policies).flatMap((p) =>
      (
        p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>
      ).filter((s) => [s.Action].flat().some((a) => a.startsWith('bedrock:'))),
    );
    // InvokeModel's Converse, and the streaming Lambda's ConverseStream, on the same ARNs.
    expect(bedrockStatements.map((s) => s.Action)).toEqual([
      'bedrock:InvokeModel',
      'bedrock:InvokeModelWithResponseStream',
    ]);
    expect(bedrockStatements[1]?.Resource).toEqual(bedrockStatements[0]?.Resource);
    const resources = JSON.stringify(bedrockStatements[0]?.Resource);
    for (const model of Object.values(exampleConfig().models)) {
      expect(resources).toContain(`:bedrock:eu-west-1::foundation-model/${foundationModelOf(model.modelId)}`);
    }
    expect(resources).not.toMatch(/foundation-model\/\*|"\*"/);
  });

  it('let the admin function manage budgets through the table and its budget index, and nothing else', () => {
    const [, policy] =
      Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) =>
        id.startsWith('BudgetAdminRole'),
      ) ?? [];
    const statements = JSON.stringify(policy?.Properties.PolicyDocument.Statement);
    expect(statements).toContain('dynamodb:PutItem');
    expect(statements).toContain('/index/budgets');
    expect(statements).not.toContain('bedrock:');
    expect(statements).not.toContain('dynamodb:UpdateItem');
  });

  it('let ReserveBudget read cached answers and SettleUsage keep them, with no scan and no query', () => {
    const actionsOf = (role: string) => {
      const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) =>
        id.startsWith(role),
      );
      return policies.flatMap(([, p]) =>
        (p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>).flatMap((st) =>
          [st.Action].flat(),
        ),
      );
    };
    const reserve = actionsOf('ReserveBudgetRole');
    const settle = actionsOf('SettleUsageRole');

    expect(reserve).toContain('dynamodb:GetItem');
    expect(reserve).not.toContain('dynamodb:PutItem');
    expect(reserve).not.toContain('dynamodb:Scan');
    expect(settle).toContain('dynamodb:PutItem');
    expect(settle).not.toContain('dynamodb:Scan');
    expect(settle).not.toContain('dynamodb:Query');
  });

  it('keep their logs for the configured retention', () => {
    // Eight functions, the state machine, the API access log.
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 11);
  });

  it('run the sweeper on a schedule, reading the open-counters index (never scanning), then counters and budgets', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    const [, policy] =
      Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) =>
        id.startsWith('SweepReservationsRole'),
      ) ?? [];
    const statements = (policy?.Properties.PolicyDocument.Statement ?? []) as Array<{
      Action: string | string[];
      Resource: unknown;
    }>;
    const actions = statements.flatMap((st) => [st.Action].flat());
    expect(actions.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    const query = statements.find((st) => st.Action === 'dynamodb:Query');
    expect(JSON.stringify(query?.Resource)).toContain('/index/open-counters');
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({ IndexName: 'open-counters', Projection: { ProjectionType: 'KEYS_ONLY' } }),
      ]),
    });
  });
});

describe('the table', () => {
  it('is on demand with point-in-time recovery, and expires idempotency records', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
    });
  });

  it('is seeded with the config budgets at deploy', () => {
    const seeds = template.findResources('Custom::AWS');
    expect(Object.keys(seeds)).toHaveLength(3);
  });
});

describe('the alerts', () => {
  it('go to an encrypted, TLS-only SNS topic that SettleUsage and HandleFailure may publish to', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    const publishers = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, p]) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('sns:Publish'),
    );
    expect(publishers.map(([id]) => id.replace(/Role.*/, '')).sort()).toEqual([
      'HandleFailure',
      'SettleUsage',
      'StreamModel',
      'SweepReservations',
    ]);
  });
});

describe('the state machine', () => {
  it('is an Express machine from the ASL file, logging without execution data', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'EXPRESS',
      DefinitionSubstitutions: {
        ValidateRequestFunctionArn: Match.anyValue(),
        ReserveBudgetFunctionArn: Match.anyValue(),
        InvokeModelFunctionArn: Match.anyValue(),
        SettleUsageFunctionArn: Match.anyValue(),
        HandleFailureFunctionArn: Match.anyValue(),
      },
      LoggingConfiguration: { IncludeExecutionData: false, Level: 'ERROR' },
    });
  });

  it('nests its timeouts inside one another', () => {
    const invoke = asl.States.InvokeModel;
    expect(BEDROCK_TIMEOUT_MS / 1000).toBeLessThan(LAMBDA_TIMEOUTS['invoke-model']);
    expect(LAMBDA_TIMEOUTS['invoke-model']).toBeLessThan(invoke?.TimeoutSeconds ?? 0);
    expect(invoke?.TimeoutSeconds ?? 0).toBeLessThan(asl.TimeoutSeconds);
    expect(asl.TimeoutSeconds).toBeLessThan(API_INTEGRATION_TIMEOUT_SECONDS);
    // Every Bedrock attempt, retries included, ends by the model deadline, leaving the failure
    // path time to release before the state machine's own timeout.
    expect(MODEL_DEADLINE_MS / 1000 + 3).toBeLessThanOrEqual(asl.TimeoutSeconds);
    for (const [state, folder] of [
      ['ValidateRequest', 'validate-request'],
      ['ReserveBudget', 'reserve-budget'],
      ['SettleUsage', 'settle-usage'],
      ['HandleFailure', 'handle-failure'],
    ] as const) {
      expect(LAMBDA_TIMEOUTS[folder]).toBeLessThan(asl.States[state]?.TimeoutSeconds ?? 0);
    }
  });

  it('retries only throttling and transient errors, with full jitter and a bounded total', () => {
    const retried = new Set<string>();
    for (const state of Object.values(asl.States)) {
      for (const retry of state.Retry ?? []) {
        expect(retry).toMatchObject({ JitterStrategy: 'FULL', MaxAttempts: 2 });
        expect(retry.MaxDelaySeconds).toBeLessThanOrEqual(4);
        for (const name of retry.ErrorEquals as string[]) retried.add(name);
      }
    }
    expect([...retried].sort()).toEqual([
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.ServiceException',
      'Lambda.TooManyRequestsException',
      'ModelThrottledError',
      'ModelUnavailableError',
    ]);
    for (const name of ['ModelThrottledError', 'ModelUnavailableError'])
      expect(Object.hasOwn(ERRORS, name)).toBe(true);
    expect(retried.has('ModelTimeoutError')).toBe(false);
    // A ReserveBudget try may have held a shard its retry would not find: only a try Lambda never ran is retried.
    expect(asl.States.ReserveBudget?.Retry?.map((r) => r.ErrorEquals)).toEqual([
      ['Lambda.TooManyRequestsException'],
    ]);
  });

  it('sends every task failure to HandleFailure', () => {
    for (const name of ['ClaimIdempotencyKey', 'ReserveBudget', 'InvokeModel', 'SettleUsage']) {
      expect(asl.States[name]?.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'HandleFailure' },
      ]);
    }
    // A validation failure drops the raw body: the error takes its place, then moves to $.error.
    expect(asl.States.ValidateRequest?.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.body', Next: 'MoveCaughtError' },
    ]);
    expect(asl.States.MoveCaughtError).toMatchObject({
      Type: 'Pass',
      InputPath: '$.body',
      ResultPath: '$.error',
      Next: 'HandleFailure',
    });
  });
});

describe('the API', () => {
  it('authorizes every real method with IAM; every other method is a fixed 404 or 405', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    const real = methods.filter((m) => m.Properties.Integration.Type !== 'MOCK');
    expect(real.map((m) => m.Properties.AuthorizationType)).toEqual(real.map(() => 'AWS_IAM'));
    expect(
      real.filter((m) => m.Properties.Integration.Type === 'AWS').map((m) => m.Properties.HttpMethod),
    ).toEqual(['POST', 'POST']); // /v1/invoke, /model/{modelId}/converse
    // The admin API: GET /v1/budgets, GET/PUT/DELETE on a cost center and on an application,
    // GET /v1/usage, GET /v1/report, GET /v1/advice, GET and POST /v1/keys, DELETE /v1/keys/{keyId}; and the
    // streaming Lambda's POST /model/{modelId}/converse-stream and POST /v1/chat/completions.
    expect(real.filter((m) => m.Properties.Integration.Type === 'AWS_PROXY')).toHaveLength(15);
    const mocks = methods.filter((m) => m.Properties.Integration.Type === 'MOCK');
    const statuses = mocks
      .map((m) => m.Properties.Integration.IntegrationResponses[0].StatusCode)
      .filter((status) => status !== '200') // GET /openapi.json
      .sort();
    // 404: /, /{proxy+}, /v1, /v1/{proxy+}, applications, /model, /model/{modelId}, its {proxy+}, /v1/chat.
    // 405: every route's other methods (invoke, converse, converse-stream, chat completions and the admin routes).
    expect(statuses).toEqual([...Array(9).fill('404'), ...Array(12).fill('405')]);
  });

  it('gives callers and platform engineers separate policies', () => {
    const policies = Object.values(template.findResources('AWS::IAM::ManagedPolicy')).map((p) =>
      JSON.stringify(p.Properties.PolicyDocument),
    );
    expect(policies).toHaveLength(2);
    const [invoke, admin] = [
      policies.find((p) => p.includes('/POST/v1/invoke')),
      policies.find((p) => p.includes('/v1/budgets')),
    ];
    expect(invoke).toBeDefined();
    expect(invoke).not.toContain('/v1/budgets');
    expect(admin).not.toContain('/v1/invoke');
  });

  it('authorizes POST /v1/invoke with IAM and integrates it with StartSyncExecution through our templates', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      AuthorizationType: 'AWS_IAM',
      Integration: {
        Type: 'AWS',
        PassthroughBehavior: 'NEVER',
        TimeoutInMillis: API_INTEGRATION_TIMEOUT_SECONDS * 1000,
        RequestTemplates: { 'application/json': Match.anyValue() },
        IntegrationResponses: Match.arrayWith([
          Match.objectLike({
            StatusCode: '200',
            ResponseParameters: { 'method.response.header.x-request-id': 'context.requestId' },
          }),
          Match.objectLike({ StatusCode: '500', SelectionPattern: '[45]\\d{2}' }),
        ]),
      },
    });
  });

  it('calls StartSyncExecution', () => {
    const method = Object.values(
      template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'POST' } }),
    )[0];
    expect(JSON.stringify(method?.Properties.Integration.Uri)).toContain(':states:action/StartSyncExecution');
  });

  it('never uses the default @@ template rewriting', () => {
    const method = Object.values(
      template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'POST' } }),
    )[0];
    const requestTemplate = JSON.stringify(method?.Properties.Integration.RequestTemplates);
    expect(requestTemplate).toContain('escapeJavaScript($input.body)');
    expect(requestTemplate).not.toContain('@@');
  });

  it('answers its own gateway errors in our error body with x-request-id', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNSUPPORTED_MEDIA_TYPE',
      StatusCode: '415',
      ResponseParameters: { 'gatewayresponse.header.x-request-id': 'context.requestId' },
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('UNSUPPORTED_MEDIA_TYPE') },
    });
  });

  // One body and header set per response type, for every route: each route's clients read it.
  it.each([
    ['THROTTLED', '429', 'RATE_LIMITED', "'1'", 'ThrottlingException', 'rate_limit_error'],
    ['WAF_FILTERED', '429', 'RATE_LIMITED', "'60'", 'ThrottlingException', 'rate_limit_error'],
    ['QUOTA_EXCEEDED', '429', 'RATE_LIMITED', undefined, 'ThrottlingException', 'rate_limit_error'],
    ['INTEGRATION_TIMEOUT', '504', 'MODEL_TIMEOUT', undefined, 'ModelTimeoutException', 'api_error'],
    ['INTEGRATION_FAILURE', '500', 'INTERNAL_ERROR', undefined, 'InternalServerException', 'api_error'],
    [
      'RESOURCE_NOT_FOUND',
      '404',
      'NOT_FOUND',
      undefined,
      'ResourceNotFoundException',
      'invalid_request_error',
    ],
    ['UNAUTHORIZED', '401', 'UNAUTHORIZED', undefined, 'AccessDeniedException', 'authentication_error'],
    ['ACCESS_DENIED', '403', 'FORBIDDEN', undefined, 'AccessDeniedException', 'permission_error'],
  ])(
    'answers API Gateway %s as %s %s, with Retry-After %s, named %s for the AWS SDK and %s for openai',
    (type, status, code, retryAfter, exception, openAiType) => {
      const [response] = Object.values(
        template.findResources('AWS::ApiGateway::GatewayResponse', { Properties: { ResponseType: type } }),
      );
      expect(response?.Properties.StatusCode).toBe(status);
      expect(response?.Properties.ResponseParameters).toEqual({
        'gatewayresponse.header.x-request-id': 'context.requestId',
        'gatewayresponse.header.x-amzn-ErrorType': `'${exception}'`,
        ...(retryAfter ? { 'gatewayresponse.header.Retry-After': retryAfter } : {}),
        // The request may still run: the openai client must not send it again.
        ...(type === 'INTEGRATION_TIMEOUT' ? { 'gatewayresponse.header.x-should-retry': "'false'" } : {}),
      });
      const message = expect.any(String);
      expect(JSON.parse(response?.Properties.ResponseTemplates['application/json'])).toEqual({
        error: { code, message, requestId: '$context.requestId', type: openAiType },
        message,
      });
    },
  );

  it.each([
    ['404', 'NOT_FOUND', 'ResourceNotFoundException', 'invalid_request_error'],
    ['405', 'METHOD_NOT_ALLOWED', 'ValidationException', 'invalid_request_error'],
  ])(
    'answers its own %s (mock integrations) in the body and header every client reads, %s',
    (status, code, exception, openAiType) => {
      const mocks = Object.values(template.findResources('AWS::ApiGateway::Method'))
        .map((method) => method.Properties)
        .filter(
          (p) =>
            p.Integration?.Type === 'MOCK' && p.Integration.IntegrationResponses?.[0]?.StatusCode === status,
        );
      expect(mocks.length).toBeGreaterThan(0);
      for (const method of mocks) {
        const [response] = method.Integration.IntegrationResponses;
        expect(response.ResponseParameters).toMatchObject({
          'method.response.header.x-request-id': 'context.requestId',
          'method.response.header.x-amzn-ErrorType': `'${exception}'`,
        });
        expect(method.MethodResponses[0].ResponseParameters).toMatchObject({
          'method.response.header.x-amzn-ErrorType': true,
        });
        expect(JSON.parse(response.ResponseTemplates['application/json'])).toMatchObject({
          error: { code, type: openAiType },
          message: expect.any(String),
        });
      }
    },
  );

  it('logs access without request or response bodies', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: [
        Match.objectLike({ DataTraceEnabled: false, ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 }),
      ],
    });
  });
});

describe('API-key mode', () => {
  it('puts an uncached REQUEST authorizer on POST /v1/invoke that may only read the table', () => {
    const config = { ...exampleConfig(), auth: { invoke: 'apikey' as const, callers: [] } };
    const { stack } = createApp(config, {
      appProps: { context: { 'aws:cdk:bundling-stacks': [] } },
      env: { account: '111122223333', region: 'eu-west-1' },
    });
    const keyed = Template.fromStack(stack);
    keyed.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 0,
    });
    keyed.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      AuthorizationType: 'CUSTOM',
    });
    const [, policy] =
      Object.entries(keyed.findResources('AWS::IAM::Policy')).find(([id]) =>
        id.startsWith('AuthorizeKeyRole'),
      ) ?? [];
    const statements = JSON.stringify(policy?.Properties.PolicyDocument.Statement);
    expect(statements).toContain('dynamodb:GetItem');
    expect(statements).not.toMatch(/dynamodb:(Put|Update|Delete|Query|Scan)/);
  });
});

describe('WAF', () => {
  it('is off by default, and deployment.waf puts a per-IP rate-based rule on the stage', () => {
    expect(Object.keys(template.findResources('AWS::WAFv2::WebACL'))).toHaveLength(0);
    const config = { ...exampleConfig() };
    config.deployment = { ...config.deployment, waf: { rateLimitPer5Minutes: 500 } };
    const { stack } = createApp(config, {
      appProps: { context: { 'aws:cdk:bundling-stacks': [] } },
      env: { account: '111122223333', region: 'eu-west-1' },
    });
    const guarded = Template.fromStack(stack);
    guarded.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      Rules: [
        Match.objectLike({
          Action: { Block: {} },
          Statement: { RateBasedStatement: { Limit: 500, AggregateKeyType: 'IP' } },
        }),
      ],
    });
    guarded.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
  });
});

describe('the request validator', () => {
  it('checks the body against the invoke model before a workflow starts', () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true });
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      ContentType: 'application/json',
      Schema: Match.objectLike({ required: ['model', 'prompt'] }),
    });
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'BAD_REQUEST_BODY',
      StatusCode: '400',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('INVALID_REQUEST') },
    });
  });
});

describe('finance visibility', () => {
  it("has a dashboard of SEARCH expressions over our metrics and Bedrock's own", () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const search of [
      '{CostSentry,CostCenter} MetricName=\\\\\\"CostUSD\\\\\\"',
      '{CostSentry,CostCenter,ApplicationId,Environment} MetricName=\\\\\\"CostUSD\\\\\\"',
      '{CostSentry,ModelId} MetricName=\\\\\\"CostUSD\\\\\\"',
      '{CostSentry,CostCenter} MetricName=\\\\\\"BudgetUtilization\\\\\\"',
      '{CostSentry,ErrorCode} MetricName=\\\\\\"Errors\\\\\\"',
      '{AWS/Bedrock,ModelId} MetricName=\\\\\\"InvocationThrottles\\\\\\"',
    ]) {
      expect(body).toContain(search);
    }
    expect(body).toContain("'p99'");
  });

  it('alarms to the alert topic at each configured threshold, on anomalous spend and on the error rate', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    const budgetAlarms = alarms.filter((a) => a.Properties.MetricName === 'BudgetUtilization');
    // sales and services: 80% and 100%; support: 50%, 80% and 100%.
    expect(
      budgetAlarms.map((a) => `${a.Properties.Dimensions[0].Value}@${a.Properties.Threshold}`).sort(),
    ).toEqual([
      'sales@100',
      'sales@80',
      'services@100',
      'services@80',
      'support@100',
      'support@50',
      'support@80',
    ]);
    expect(alarms.some((a) => a.Properties.ThresholdMetricId === 'band')).toBe(true);
    expect(JSON.stringify(alarms)).toContain('ANOMALY_DETECTION_BAND(spend, 3)');
    for (const alarm of alarms)
      expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain('AlertsTopic');
  });
});

describe('application inference profiles', () => {
  it('are created per model for a cost center that asks, tagged, and allowed to InvokeModel', () => {
    const config = structuredClone(exampleConfig());
    const support = config.budgets.support;
    if (support) support.inferenceProfiles = true;
    const { stack } = createApp(config, {
      appProps: { context: { 'aws:cdk:bundling-stacks': [] } },
      env: { account: '111122223333', region: 'eu-west-1' },
    });
    const profiled = Template.fromStack(stack);
    const profiles = Object.values(profiled.findResources('AWS::Bedrock::ApplicationInferenceProfile'));
    expect(profiles).toHaveLength(Object.keys(config.models).length);
    expect(profiles[0]?.Properties.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'CostCenter', Value: 'support' },
        { Key: 'Environment', Value: 'production' },
      ]),
    );
    const [, invokePolicy] =
      Object.entries(profiled.findResources('AWS::IAM::Policy')).find(([id]) =>
        id.startsWith('InvokeModelRole'),
      ) ?? [];
    expect(JSON.stringify(invokePolicy)).toContain('InferenceProfileArn');
    profiled.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ COST_SENTRY_PROFILES: Match.anyValue() }) },
    });
  });
});

describe('alarms that can notify', () => {
  it('publish to a topic under a customer-managed key whose policy lets CloudWatch use it', () => {
    const [topic] = Object.values(template.findResources('AWS::SNS::Topic'));
    expect(JSON.stringify(topic?.Properties.KmsMasterKeyId)).not.toContain('alias/aws/sns');
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('keep a budget alarm in its state when requests stop coming', () => {
    const budgetAlarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'BudgetUtilization' } }),
    );
    expect(budgetAlarms.length).toBeGreaterThan(0);
    for (const alarm of budgetAlarms) expect(alarm.Properties.TreatMissingData).toBe('ignore');
  });

  it('watch timed-out and unmetered failed executions and the API 5xx rate, each notifying the topic', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) =>
      JSON.stringify(a.Properties),
    );
    const find = (pattern: RegExp) => alarms.filter((a) => pattern.test(a));
    expect(find(/"MetricName":"ExecutionsTimedOut".*"Namespace":"AWS\/States"/)).toHaveLength(1);
    expect(find(/"MetricName":"ExecutionsFailed"/)).toHaveLength(1);
    expect(find(/"MetricName":"5XXError".*"Namespace":"AWS\/ApiGateway"/)).toHaveLength(1);
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain('AlertsTopic');
    }
  });
});
