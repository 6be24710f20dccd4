import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  AwsIntegration,
  EndpointType,
  IdentitySource,
  type IResource,
  type JsonSchema,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  MockIntegration,
  PassthroughBehavior,
  RequestAuthorizer,
  ResponseTransferMode,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ERRORS } from '../../lambdas/shared/rules/errors.ts';
import { ENVELOPE_HEADERS, envelopeOf } from '../../lambdas/shared/rules/wire/request.ts';
import { GATEWAY_ERRORS } from '../api/gateway-responses.ts';
import { openApiTemplate } from '../api/openapi.ts';
import { INVOKE_REQUEST_MODEL } from '../api/request-model.ts';
import {
  dropInResponseTemplate,
  fixedBody,
  INVOKE_STATUSES,
  requestTemplate,
  responseTemplate,
  WIRE_FALLBACKS,
} from '../api/templates.ts';
import { STREAM_INTEGRATION_TIMEOUT_SECONDS } from '../timeouts.ts';
import { addGatewayResponses, addRateLimitAcl, fixedError, REQUEST_ID_HEADER } from './api-parts.ts';

/** Props of the proxy API. */
export interface ProxyApiProps {
  stateMachine: IStateMachine;
  /** The admin API's function (budgets, usage, keys), behind a Lambda proxy integration. */
  adminFunction: IFunction;
  /**
   * The streaming Lambda, behind a Lambda proxy integration with response streaming: POST
   * /model/{modelId}/converse-stream and POST /v1/chat/completions (which runs the workflow from
   * that Lambda when it does not stream).
   */
  streamFunction: IFunction;
  /** API-key mode: the REQUEST authorizer of POST /v1/invoke. @default IAM authorization */
  keyAuthorizer?: IFunction | undefined;
  /** Largest escaped body embedded in an execution; larger ones are answered 413. */
  maxBodyBytes: number;
  /** The message limits, which the OpenAPI document states. */
  limits: { maxMessages: number; maxContentChars: number };
  logRetention: RetentionDays;
  /** Stage-wide steady-state requests per second and burst. */
  throttle: { rateLimit: number; burstLimit: number };
  /** An AWS WAF web ACL with a per-IP rate-based rule. @default none */
  waf?: { rateLimitPer5Minutes: number } | undefined;
}

/**
 * The regional REST API: `POST /v1/invoke`, IAM-authorized, integrated directly with
 * StartSyncExecution through our own mapping templates.
 */
export class ProxyApi extends Construct {
  readonly api: RestApi;

  constructor(scope: Construct, id: string, props: ProxyApiProps) {
    super(scope, id);
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new RestApi(this, 'Api', {
      description: 'Cost Sentry: a cost-guarded proxy for Amazon Bedrock',
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.DESTROY,
      deployOptions: {
        stageName: 'prod',
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        // Never log bodies: they carry prompts and completions.
        dataTraceEnabled: false,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
      },
    });

    const role = new Role(this, 'StartSyncExecutionRole', {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['states:StartSyncExecution'],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );

    const requestIdParameter = { [REQUEST_ID_HEADER]: 'context.requestId' };
    const internalBody = fixedBody(ERRORS.InternalError.code, ERRORS.InternalError.message);
    // Every workflow route: StartSyncExecution with the route's request template, its answer's
    // template, and its own body for a call Step Functions refused (throttled, payload,
    // permissions): never a 200.
    const workflow = (
      request: string,
      answer: string,
      refused: { status?: number | undefined; body: string; errorType?: string | undefined },
    ) =>
      new AwsIntegration({
        service: 'states',
        action: 'StartSyncExecution',
        integrationHttpMethod: 'POST',
        options: {
          credentialsRole: role,
          passthroughBehavior: PassthroughBehavior.NEVER,
          requestTemplates: { 'application/json': request },
          timeout: Duration.seconds(29),
          integrationResponses: [
            {
              statusCode: '200',
              responseTemplates: { 'application/json': answer },
              responseParameters: requestIdParameter,
            },
            {
              selectionPattern: '[45]\\d{2}',
              statusCode: String(refused.status),
              responseTemplates: { 'application/json': refused.body },
              responseParameters: {
                ...requestIdParameter,
                ...(refused.errorType
                  ? { 'method.response.header.x-amzn-ErrorType': `'${refused.errorType}'` }
                  : {}),
              },
            },
          ],
        },
      });
    const integration = workflow(
      requestTemplate(props.stateMachine.stateMachineArn, props.maxBodyBytes),
      responseTemplate(),
      { status: 500, body: internalBody },
    );

    const invoke = this.api.root.addResource('v1').addResource('invoke');
    const authorizer = props.keyAuthorizer
      ? new RequestAuthorizer(this, 'KeyAuthorizer', {
          handler: props.keyAuthorizer,
          identitySources: [IdentitySource.header('Authorization')],
          // No caching: a revoked key stops working on the next request.
          resultsCacheTtl: Duration.seconds(0),
        })
      : undefined;
    // An API key through the authorizer, or else SigV4 (IAM), on every workflow route.
    const authorization = authorizer
      ? { authorizationType: AuthorizationType.CUSTOM, authorizer }
      : { authorizationType: AuthorizationType.IAM };
    // The gateway checks the body's outline before a workflow starts; ValidateRequest the rest.
    const requestModel = this.api.addModel('InvokeRequest', {
      contentType: 'application/json',
      schema: INVOKE_REQUEST_MODEL as unknown as JsonSchema,
    });
    invoke.addMethod('POST', integration, {
      requestValidatorOptions: { validateRequestBody: true, validateRequestParameters: true },
      requestModels: { 'application/json': requestModel },
      ...authorization,
      methodResponses: INVOKE_STATUSES.map((status) => ({
        statusCode: String(status),
        responseParameters: {
          [REQUEST_ID_HEADER]: true,
          ...(status === 429 || status === 503 ? { 'method.response.header.Retry-After': true } : {}),
        },
      })),
    });

    // The drop-in routes: Bedrock's Converse wire and OpenAI's Chat Completions, the same workflow
    // behind each, translated at the edges. Their answers set the wire's own headers.
    const dropIn = (resource: IResource, route: 'converse' | 'openai') => {
      const internal = envelopeOf(WIRE_FALLBACKS[route]('INTERNAL_ERROR'));
      const headerParameters = Object.values(ENVELOPE_HEADERS).map(
        (name) => `method.response.header.${name}`,
      );
      const statuses = [200, 400, 401, 403, 404, 408, 409, 413, 415, 422, 424, 429, 500, 502, 503, 504];
      resource.addMethod(
        'POST',
        workflow(
          requestTemplate(props.stateMachine.stateMachineArn, props.maxBodyBytes, route),
          dropInResponseTemplate(route),
          internal,
        ),
        {
          ...authorization,
          methodResponses: statuses.map((status) => ({
            statusCode: String(status),
            responseParameters: Object.fromEntries(
              [REQUEST_ID_HEADER, ...headerParameters].map((name) => [name, true]),
            ),
          })),
        },
      );
    };

    // Every other route answers 404 and every other method on /v1/invoke 405, as JSON, from
    // mock integrations: nothing behind them, so they need no credentials.
    const notFound = fixedError(GATEWAY_ERRORS.notFound);
    this.api.root.addMethod('ANY', notFound.integration, notFound.options);
    this.api.root.addResource('{proxy+}').addMethod('ANY', notFound.integration, notFound.options);
    const v1 = invoke.parentResource;
    if (!v1) throw new Error('/v1/invoke has a parent');
    v1.addMethod('ANY', notFound.integration, notFound.options);
    // API Gateway does not fall back from /v1/... to the root's greedy path, so /v1 has its own.
    v1.addResource('{proxy+}').addMethod('ANY', notFound.integration, notFound.options);
    const allow = (resource: IResource, methods: string[]) => {
      const notAllowed = fixedError(GATEWAY_ERRORS.methodNotAllowed, { Allow: `'${methods.join(', ')}'` });
      resource.addMethod('ANY', notAllowed.integration, notAllowed.options);
    };
    allow(invoke, ['POST']);

    // GET /openapi.json: the OpenAPI 3.1 document, from a mock integration (nothing behind it).
    this.api.root.addResource('openapi.json').addMethod(
      'GET',
      new MockIntegration({
        passthroughBehavior: PassthroughBehavior.WHEN_NO_TEMPLATES,
        requestTemplates: { 'application/json': '{"statusCode": 200}' },
        integrationResponses: [
          {
            statusCode: '200',
            responseTemplates: { 'application/json': openApiTemplate(props.limits) },
            responseParameters: requestIdParameter,
          },
        ],
      }),
      {
        authorizationType: AuthorizationType.NONE,
        methodResponses: [{ statusCode: '200', responseParameters: { [REQUEST_ID_HEADER]: true } }],
      },
    );

    const model = this.api.root.addResource('model');
    model.addMethod('ANY', notFound.integration, notFound.options);
    const modelId = model.addResource('{modelId}');
    modelId.addMethod('ANY', notFound.integration, notFound.options);
    modelId.addResource('{proxy+}').addMethod('ANY', notFound.integration, notFound.options);
    const converse = modelId.addResource('converse');
    dropIn(converse, 'converse');
    allow(converse, ['POST']);

    // The streaming routes: a synchronous Express execution cannot stream, so API Gateway streams
    // the streaming Lambda's answer (a Lambda proxy, InvokeWithResponseStream). Chat Completions
    // goes there whole: a mapping template cannot read `stream` from the body to choose.
    const streaming = new LambdaIntegration(props.streamFunction, {
      proxy: true,
      responseTransferMode: ResponseTransferMode.STREAM,
      timeout: Duration.seconds(STREAM_INTEGRATION_TIMEOUT_SECONDS),
    });
    const streamRoute = (resource: IResource) => {
      resource.addMethod(
        'POST',
        streaming,
        authorizer
          ? { authorizationType: AuthorizationType.CUSTOM, authorizer }
          : { authorizationType: AuthorizationType.IAM },
      );
      allow(resource, ['POST']);
    };
    streamRoute(modelId.addResource('converse-stream'));
    const chat = v1.addResource('chat');
    chat.addMethod('ANY', notFound.integration, notFound.options);
    streamRoute(chat.addResource('completions'));

    // The admin API (platform teams): IAM-authorized, separately from the invoke route.
    const admin = new LambdaIntegration(props.adminFunction, { proxy: true });
    const adminMethod = (resource: IResource, methods: string[]) => {
      for (const method of methods)
        resource.addMethod(method, admin, { authorizationType: AuthorizationType.IAM });
      allow(resource, methods);
    };
    const budgets = v1.addResource('budgets');
    adminMethod(budgets, ['GET']);
    const costCenter = budgets.addResource('{costCenter}');
    adminMethod(costCenter, ['GET', 'PUT', 'DELETE']);
    const applications = costCenter.addResource('applications');
    applications.addMethod('ANY', notFound.integration, notFound.options);
    adminMethod(applications.addResource('{applicationId}'), ['GET', 'PUT', 'DELETE']);
    adminMethod(v1.addResource('usage'), ['GET']);
    adminMethod(v1.addResource('report'), ['GET']);
    adminMethod(v1.addResource('advice'), ['GET']);
    const keys = v1.addResource('keys');
    adminMethod(keys, ['GET', 'POST']);
    adminMethod(keys.addResource('{keyId}'), ['DELETE']);

    if (props.waf) addRateLimitAcl(this, this.api.deploymentStage.stageArn, props.waf.rateLimitPer5Minutes);
    addGatewayResponses(this.api);
  }
}
