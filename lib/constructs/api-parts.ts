import {
  AuthorizationType,
  MockIntegration,
  PassthroughBehavior,
  ResponseType,
  type RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { GATEWAY_RESPONSES, gatewayErrorHeaders, gatewayErrorTemplate } from '../api/gateway-responses.ts';

/** Static header values, as API Gateway's parameter mappings write them (in single quotes). */
const quoted = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, `'${value}'`]));

/** Parts of the proxy API that stand apart from its routes. */

export const REQUEST_ID_HEADER = 'method.response.header.x-request-id';

/** An AWS WAF web ACL on the stage with one rule: block an IP over this many requests in 5 minutes. */
export function addRateLimitAcl(scope: Construct, stageArn: string, rateLimitPer5Minutes: number): void {
  const visibility = (metricName: string) => ({
    cloudWatchMetricsEnabled: true,
    metricName,
    // Samples would keep request headers; they stay off.
    sampledRequestsEnabled: false,
  });
  const acl = new CfnWebACL(scope, 'WebAcl', {
    scope: 'REGIONAL',
    defaultAction: { allow: {} },
    visibilityConfig: visibility('CostSentryWebAcl'),
    rules: [
      {
        name: 'RateLimitPerIp',
        priority: 0,
        action: { block: {} },
        statement: {
          rateBasedStatement: { limit: rateLimitPer5Minutes, aggregateKeyType: 'IP' },
        },
        visibilityConfig: visibility('CostSentryRateLimitPerIp'),
      },
    ],
  });
  new CfnWebACLAssociation(scope, 'WebAclAssociation', {
    resourceArn: stageArn,
    webAclArn: acl.attrArn,
  });
}

/** API Gateway's own answers (throttled, WAF-blocked, auth, routing...) in our error shape. */
export function addGatewayResponses(api: RestApi): void {
  for (const { type, error, status, retryAfterSeconds, headers } of GATEWAY_RESPONSES) {
    api.addGatewayResponse(`Gateway${type}`, {
      type: ResponseType.of(type),
      statusCode: status === undefined ? undefined : String(status),
      responseHeaders: {
        'x-request-id': 'context.requestId',
        ...quoted({ ...gatewayErrorHeaders(error), ...headers }),
        ...(retryAfterSeconds === undefined ? {} : { 'Retry-After': `'${retryAfterSeconds}'` }),
      },
      templates: { 'application/json': gatewayErrorTemplate(error) },
    });
  }
}

/** A mock integration that always answers one of our errors. */
export function fixedError(
  error: { code: string; status: number; message: string },
  headers: Record<string, string> = {},
) {
  const status = String(error.status);
  const responseParameters = {
    [REQUEST_ID_HEADER]: 'context.requestId',
    ...Object.fromEntries(
      Object.entries({ ...quoted(gatewayErrorHeaders(error)), ...headers }).map(([name, value]) => [
        `method.response.header.${name}`,
        value,
      ]),
    ),
  };
  return {
    integration: new MockIntegration({
      passthroughBehavior: PassthroughBehavior.WHEN_NO_TEMPLATES,
      requestTemplates: { 'application/json': '{"statusCode": 200}' },
      integrationResponses: [
        {
          statusCode: status,
          responseTemplates: { 'application/json': gatewayErrorTemplate(error) },
          responseParameters,
        },
      ],
    }),
    options: {
      authorizationType: AuthorizationType.NONE,
      methodResponses: [
        {
          statusCode: status,
          responseParameters: Object.fromEntries(Object.keys(responseParameters).map((name) => [name, true])),
        },
      ],
    },
  };
}
