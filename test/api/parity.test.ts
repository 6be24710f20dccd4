import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestTemplate, responseTemplate } from '../../lib/api/templates.ts';
import { createApp } from '../../lib/app.ts';
import type { LocalStack } from '../../local/stack.ts';
import { renderTemplate } from '../../local/vtl.ts';
import { exampleConfig } from '../helpers/fixtures.ts';
import { post, startTestStack } from '../helpers/local-stack.ts';

/** The local gateway and the templates the stack deploys must answer alike. */
let stack: LocalStack;
let resources: Record<string, { Type: string; Properties: Record<string, any> }>;

beforeAll(async () => {
  stack = await startTestStack();
  const { stack: cdkStack } = createApp(exampleConfig(), {
    appProps: { context: { 'aws:cdk:bundling-stacks': [] } },
  });
  resources = Template.fromStack(cdkStack).toJSON().Resources;
});
afterAll(() => stack?.close());

const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);
const pathOf = (resourceId: string | undefined): string => {
  const resource = Object.entries(resources).find(([id]) => id === resourceId)?.[1];
  if (!resource) return '';
  const parent = resource.Properties.ParentId?.Ref;
  return `${pathOf(parent)}/${resource.Properties.PathPart}`;
};
const methods = () =>
  ofType('AWS::ApiGateway::Method').map((m) => ({
    method: m.Properties.HttpMethod as string,
    path: m.Properties.ResourceId.Ref ? pathOf(m.Properties.ResourceId.Ref) : '/',
    integration: m.Properties.Integration,
  }));
/** What API Gateway would answer from a deployed template, for the request ID the local stack used. */
const deployedBody = (template: string, requestId: string) =>
  JSON.parse(renderTemplate(template, { body: '', requestId, requestTimeEpoch: 0 }).body);

describe('the local gateway and the deployed API', () => {
  it('deploy the very templates the local gateway renders for POST /v1/invoke', () => {
    const invoke = methods().find((m) => m.method === 'POST');
    expect(invoke?.path).toBe('/v1/invoke');
    const deployedRequest = invoke?.integration.RequestTemplates['application/json'];
    const [, parts] = deployedRequest['Fn::Join'];
    const withArn = parts
      .map((part: unknown) => (typeof part === 'string' ? part : 'STATE_MACHINE_ARN'))
      .join('');
    expect(withArn).toBe(requestTemplate('STATE_MACHINE_ARN', exampleConfig().limits.maxBodyBytes));
    const ok = invoke?.integration.IntegrationResponses.find(
      (r: { StatusCode: string }) => r.StatusCode === '200',
    );
    expect(ok.ResponseTemplates['application/json']).toBe(responseTemplate());
  });

  it.each([
    ['an unknown route', '/nowhere', 'POST', 404],
    ['a route under /v1', '/v1/other', 'POST', 404],
    ['another method on /v1/budgets', '/v1/budgets', 'POST', 405],
    ['another method on /v1/usage', '/v1/usage', 'DELETE', 405],
    ['another method on /v1/keys', '/v1/keys', 'PUT', 405],
    ['/v1 itself', '/v1', 'POST', 404],
    ['another method on /v1/invoke', '/v1/invoke', 'GET', 405],
  ])('answer %s alike', async (_name, path, method, status) => {
    const local = await post(stack, {}, { path, method });
    // The resource API Gateway routes to: the exact path, else the deepest greedy {proxy+} above it.
    const candidates = methods().filter(
      (m) =>
        m.method === 'ANY' &&
        (m.path === path || (m.path.endsWith('/{proxy+}') && path.startsWith(m.path.slice(0, -9)))),
    );
    const deployedMethod =
      candidates.find((m) => m.path === path) ?? candidates.sort((a, b) => b.path.length - a.path.length)[0];
    expect(deployedMethod).toBeDefined();
    const response = deployedMethod?.integration.IntegrationResponses[0];
    expect(local.status).toBe(status);
    expect(Number(response.StatusCode)).toBe(status);
    expect(local.json).toEqual(
      deployedBody(response.ResponseTemplates['application/json'], local.json.error.requestId),
    );
  });

  it('answer a body the request validator refuses alike (400)', async () => {
    const local = await post(stack, '[1,2]');
    const gateway = ofType('AWS::ApiGateway::GatewayResponse').find(
      (g) => g.Properties.ResponseType === 'BAD_REQUEST_BODY',
    );
    expect(local.status).toBe(Number(gateway?.Properties.StatusCode));
    expect(local.json).toEqual(
      deployedBody(gateway?.Properties.ResponseTemplates['application/json'], local.json.error.requestId),
    );
  });

  it('answer a body that is not JSON alike (415)', async () => {
    const local = await post(stack, 'x=1', { headers: { 'content-type': 'text/plain' } });
    const gateway = ofType('AWS::ApiGateway::GatewayResponse').find(
      (g) => g.Properties.ResponseType === 'UNSUPPORTED_MEDIA_TYPE',
    );
    expect(local.status).toBe(Number(gateway?.Properties.StatusCode));
    expect(local.json).toEqual(
      deployedBody(gateway?.Properties.ResponseTemplates['application/json'], local.json.error.requestId),
    );
  });
});
