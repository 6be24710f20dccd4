import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../lib/app.ts';
import { type CostSentryConfig, parseConfig } from '../../lib/config/schema.ts';
import { exampleConfig } from '../helpers/fixtures.ts';

/** The shipped config with one documented option changed, validated as `npx cdk synth` would. */
function withOption(change: (raw: Record<string, any>) => void): CostSentryConfig {
  const raw = structuredClone(exampleConfig()) as Record<string, any>;
  change(raw);
  return parseConfig(raw, 'test');
}

/** Synthesize (no bundling: synth.test.ts bundles once) with cdk-nag; throws on any finding. */
function synth(config: CostSentryConfig): Template {
  const { app, stack } = createApp(config, {
    appProps: { context: { 'aws:cdk:bundling-stacks': [] } },
    env: { account: '111122223333', region: 'us-east-1' },
  });
  app.synth();
  return Template.fromStack(stack);
}

/** Where the `us.` profile of Nova Pro routes (its model card's "Geo inference details"). */
const US_REGIONS = ['us-east-1', 'us-east-2', 'us-west-2'];
const PROFILE_ARN = 'arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.amazon.nova-pro-v1:0';

describe('every documented option synthesizes with cdk-nag clean', () => {
  it.each<[string, (raw: Record<string, any>) => void]>([
    ['alerts.emails', (raw) => (raw.alerts = { emails: ['finance@example.com', 'platform@example.com'] })],
    ['deployment.waf', (raw) => (raw.deployment.waf = { rateLimitPer5Minutes: 2000 })],
    ['deployment.stateMachineLogLevel ALL', (raw) => (raw.deployment.stateMachineLogLevel = 'ALL')],
    ['auth.invoke apikey', (raw) => (raw.auth = { invoke: 'apikey' })],
    [
      'auth.callers',
      (raw) =>
        (raw.auth = {
          invoke: 'iam',
          callers: [{ principal: 'arn:aws:iam::111122223333:role/docs-helper', costCenters: ['support'] }],
        }),
    ],
    [
      'models.*.inferenceProfileArn',
      (raw) => {
        raw.models['nova-pro'].inferenceProfileArn = PROFILE_ARN;
        raw.models['nova-pro'].profileRegions = US_REGIONS;
      },
    ],
    [
      'inferenceProfiles on a dotted cost center',
      (raw) => (raw.budgets['eng.platform'] = { period: 'monthly', limitUsd: 10, inferenceProfiles: true }),
    ],
    [
      'budgets.*.expectedRequestsPerSecond',
      (raw) => (raw.budgets.hot = { period: 'monthly', limitUsd: 5000, expectedRequestsPerSecond: 1000 }),
    ],
    [
      'everything at once',
      (raw) => {
        raw.alerts = { emails: ['finance@example.com'] };
        raw.deployment.waf = { rateLimitPer5Minutes: 2000 };
        raw.auth = { invoke: 'apikey' };
        raw.models['nova-pro'].inferenceProfileArn = PROFILE_ARN;
        raw.models['nova-pro'].profileRegions = US_REGIONS;
        raw.budgets['eng.platform'] = { period: 'daily', limitUsd: 10, inferenceProfiles: true };
        raw.budgets.hot = { period: 'monthly', limitUsd: 5000, expectedRequestsPerSecond: 1000 };
      },
    ],
  ])('%s', (_name, change) => {
    expect(() => synth(withOption(change))).not.toThrow();
  });

  it('seeds a budget sized for a request rate with the shard count that rate needs', () => {
    const template = synth(
      withOption(
        (raw) => (raw.budgets.hot = { period: 'monthly', limitUsd: 5000, expectedRequestsPerSecond: 1000 }),
      ),
    );
    const seeds = JSON.stringify(template.findResources('Custom::AWS'));
    expect(seeds).toContain('\\"shards\\":{\\"N\\":\\"87\\"}');
  });

  it('gives each email subscription a dead-letter queue', () => {
    const template = synth(withOption((raw) => (raw.alerts = { emails: ['finance@example.com'] })));
    const subscriptions = template.findResources('AWS::SNS::Subscription', {
      Properties: { Protocol: 'email' },
    });
    expect(Object.values(subscriptions)).toHaveLength(1);
    for (const subscription of Object.values(subscriptions)) {
      expect(subscription.Properties.RedrivePolicy).toBeDefined();
    }
  });

  it('makes every application inference profile name one CloudFormation accepts', () => {
    const template = synth(
      withOption(
        (raw) =>
          (raw.budgets['eng.platform_x'] = { period: 'monthly', limitUsd: 10, inferenceProfiles: true }),
      ),
    );
    const profiles = template.findResources('AWS::Bedrock::ApplicationInferenceProfile');
    const names = Object.values(profiles).map((p) => p.Properties.InferenceProfileName as string);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      expect(name).toMatch(/^([0-9a-zA-Z][ _-]?)+$/);
      expect(name.length).toBeLessThanOrEqual(64);
    }
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('an inference profile ARN', () => {
  it('lets InvokeModel call the profile and its model in exactly the profile regions', () => {
    const template = synth(
      withOption((raw) => {
        raw.models['nova-pro'].inferenceProfileArn = PROFILE_ARN;
        raw.models['nova-pro'].profileRegions = US_REGIONS;
      }),
    );
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>,
    );
    const bedrock = JSON.stringify(
      statements.filter((s) => [s.Action].flat().includes('bedrock:InvokeModel')).map((s) => s.Resource),
    );
    expect(bedrock).toContain(PROFILE_ARN);
    for (const region of ['us-east-1', 'us-east-2', 'us-west-2']) {
      expect(bedrock).toContain(`:bedrock:${region}::foundation-model/amazon.nova-pro-v1:0`);
    }
    expect(bedrock).not.toContain(':bedrock:*:');
    expect(bedrock).not.toContain('eu-west-1');
  });

  it('of a geographic profile is refused without the regions it routes to', () => {
    expect(() =>
      withOption((raw) => {
        raw.models['nova-pro'].inferenceProfileArn = PROFILE_ARN;
      }),
    ).toThrow(/models\.nova-pro\.profileRegions: a geographic inference profile needs the regions/);
  });

  it('of the shipped global Claude profiles allows the profile, the model here and the region-less model ARN', () => {
    const template = synth(exampleConfig());
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>,
    );
    const bedrock = JSON.stringify(
      statements.filter((s) => [s.Action].flat().includes('bedrock:InvokeModel')).map((s) => s.Resource),
    );
    const id = 'anthropic.claude-sonnet-4-6';
    expect(bedrock).toContain(`:inference-profile/global.${id}`);
    expect(bedrock).toContain(`:bedrock:us-east-1::foundation-model/${id}`);
    expect(bedrock).toContain(`:bedrock:::foundation-model/${id}`);
  });
});

describe('first use of a third-party model', () => {
  it('lets Bedrock subscribe InvokeModel and the streaming Lambda to exactly the configured Marketplace products, and nothing else', () => {
    const template = synth(exampleConfig());
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) =>
        p.Properties.PolicyDocument.Statement as Array<{
          Action: string | string[];
          Condition?: Record<string, Record<string, unknown>>;
        }>,
    );
    const marketplace = statements.filter((s) =>
      [s.Action].flat().some((a) => a.startsWith('aws-marketplace:')),
    );
    expect(marketplace.flatMap((s) => [s.Action].flat()).sort()).toEqual([
      'aws-marketplace:Subscribe',
      'aws-marketplace:Subscribe',
      'aws-marketplace:ViewSubscriptions',
      'aws-marketplace:ViewSubscriptions',
    ]);
    for (const s of marketplace) {
      expect(s.Condition?.StringEquals).toEqual({ 'aws:CalledViaLast': 'bedrock.amazonaws.com' });
    }
    const subscribe = marketplace.find((s) => s.Action === 'aws-marketplace:Subscribe');
    expect(subscribe?.Condition?.['ForAnyValue:StringEquals']).toEqual({
      'aws-marketplace:ProductId': Object.values(exampleConfig().models).flatMap((m) =>
        m.marketplaceProductId ? [m.marketplaceProductId] : [],
      ),
    });
  });
});

describe('the state machine log level', () => {
  it('is ERROR by default and ALL when the config asks', () => {
    const level = (t: Template) =>
      Object.values(t.findResources('AWS::StepFunctions::StateMachine'))[0]?.Properties.LoggingConfiguration
        .Level;
    expect(level(synth(exampleConfig()))).toBe('ERROR');
    expect(level(synth(withOption((raw) => (raw.deployment.stateMachineLogLevel = 'ALL'))))).toBe('ALL');
  });
});
