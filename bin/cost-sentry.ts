import { createApp } from '../lib/app.ts';
import { loadConfig } from '../lib/config/schema.ts';

const configPath = process.env.COST_SENTRY_CONFIG_FILE ?? 'cost-sentry.config.json';
createApp(loadConfig(configPath), {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
