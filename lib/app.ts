import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { CostSentryConfig } from './config/schema.ts';
import { CostSentryStack } from './cost-sentry-stack.ts';
import { acknowledgeFindings } from './nag.ts';

/** The CDK app: one Cost Sentry stack, checked by cdk-nag's AwsSolutions and Serverless packs. */
export function createApp(
  config: CostSentryConfig,
  options: { appProps?: AppProps; env?: { account?: string | undefined; region?: string | undefined } } = {},
): { app: App; stack: CostSentryStack } {
  const app = new App(options.appProps);
  const stack = new CostSentryStack(app, 'CostSentry', { config, env: options.env });
  acknowledgeFindings(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack };
}
