import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { STREAM_DEADLINE_MS } from '../../lambdas/stream-model/core.ts';
import { STALE_AFTER_SECONDS } from '../../lambdas/sweep-reservations/core.ts';
import { createApp } from '../../lib/app.ts';
import { LAMBDA_TIMEOUTS, STREAM_INTEGRATION_TIMEOUT_SECONDS } from '../../lib/timeouts.ts';
import { exampleConfig } from '../helpers/fixtures.ts';

/** The streaming routes as deployed: API Gateway response streaming to one Lambda proxy. */
let template: Template;
let resources: Record<string, { Type: string; Properties: Record<string, any> }>;

beforeAll(() => {
  const { stack } = createApp(exampleConfig(), {
    appProps: { context: { 'aws:cdk:bundling-stacks': [] } },
    env: { account: '111122223333', region: 'eu-west-1' },
  });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
});

const streamFunctionId = () => {
  const id = Object.keys(template.findResources('AWS::Lambda::Function')).find((key) =>
    key.startsWith('StreamModelFunction'),
  );
  if (!id) throw new Error('no streaming function');
  return id;
};

/** The POST method of an API resource, by its path part. */
function postMethodOf(pathPart: string) {
  const resourceId = Object.entries(resources).find(
    ([, r]) => r.Type === 'AWS::ApiGateway::Resource' && r.Properties.PathPart === pathPart,
  )?.[0];
  return Object.values(resources).find(
    (r) =>
      r.Type === 'AWS::ApiGateway::Method' &&
      r.Properties.HttpMethod === 'POST' &&
      r.Properties.ResourceId?.Ref === resourceId,
  );
}

describe('the streaming routes', () => {
  it.each(['converse-stream', 'completions'])(
    'POST %s streams the Lambda proxy answer through InvokeWithResponseStream',
    (pathPart) => {
      const method = postMethodOf(pathPart);
      expect(method?.Properties.AuthorizationType).toBe('AWS_IAM');
      const integration = method?.Properties.Integration;
      expect(integration).toMatchObject({
        Type: 'AWS_PROXY',
        ResponseTransferMode: 'STREAM',
        TimeoutInMillis: STREAM_INTEGRATION_TIMEOUT_SECONDS * 1000,
      });
      const uri = JSON.stringify(integration.Uri);
      expect(uri).toContain('/response-streaming-invocations');
      expect(uri).toContain(streamFunctionId());
    },
  );

  it('nest their timeouts: Bedrock stream < Lambda < integration < the sweeper', () => {
    const fn = resources[streamFunctionId()];
    expect(fn?.Properties.Timeout).toBe(LAMBDA_TIMEOUTS['stream-model']);
    expect(STREAM_DEADLINE_MS).toBeLessThan(LAMBDA_TIMEOUTS['stream-model'] * 1000);
    expect(LAMBDA_TIMEOUTS['stream-model']).toBeLessThan(STREAM_INTEGRATION_TIMEOUT_SECONDS);
    // A reservation held longer is closed by the sweeper and charged in full.
    expect(STREAM_INTEGRATION_TIMEOUT_SECONDS).toBeLessThan(STALE_AFTER_SECONDS);
  });
});

describe('the streaming Lambda', () => {
  const statementsOf = () => {
    const policy = Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) =>
      id.startsWith('StreamModelRole'),
    )?.[1];
    return policy?.Properties.PolicyDocument.Statement as Array<{
      Action: string | string[];
      Resource: unknown;
    }>;
  };

  it('may stream from exactly the models InvokeModel may call, and call nothing else of Bedrock', () => {
    const bedrock = statementsOf().filter((s) => [s.Action].flat().some((a) => a.startsWith('bedrock:')));
    expect(bedrock.map((s) => s.Action)).toEqual(['bedrock:InvokeModelWithResponseStream']);
    const invokeModel = Object.entries(template.findResources('AWS::IAM::Policy'))
      .find(([id]) => id.startsWith('InvokeModelRole'))?.[1]
      .Properties.PolicyDocument.Statement.find(
        (s: { Action: unknown }) => s.Action === 'bedrock:InvokeModel',
      );
    expect(bedrock[0]?.Resource).toEqual(invokeModel.Resource);
  });

  it('starts the workflow for Chat Completions that do not stream, and knows which one', () => {
    const start = statementsOf().find((s) => [s.Action].flat().includes('states:StartSyncExecution'));
    expect(JSON.stringify(start?.Resource)).toContain('WorkflowStateMachine');
    const variables = resources[streamFunctionId()]?.Properties.Environment.Variables;
    expect(JSON.stringify(variables.COST_SENTRY_STATE_MACHINE_ARN)).toContain('WorkflowStateMachine');
  });
});
