import { fileURLToPath } from 'node:url';
import type { Catalog } from '../../lambdas/shared/rules/catalog.ts';
import { type CostSentryConfig, catalogOf, loadConfig } from '../../lib/config/schema.ts';

export const CONFIG_PATH = fileURLToPath(new URL('../../cost-sentry.config.json', import.meta.url));

/** The shipped example configuration. */
export function exampleConfig(): CostSentryConfig {
  return loadConfig(CONFIG_PATH);
}

export function exampleCatalog(): Catalog {
  return catalogOf(exampleConfig());
}

export interface InvokeBodyOptions {
  model?: string;
  content?: string;
  system?: string;
  maxTokens?: number;
  costCenter?: string;
  applicationId?: string;
  environment?: string;
}

/** An invoke request body as a client would send it. */
export function invokeBody(options: InvokeBodyOptions = {}): Record<string, unknown> {
  return {
    model: options.model ?? 'nova-lite',
    prompt: {
      ...(options.system ? { system: options.system } : {}),
      messages: [{ role: 'user', content: options.content ?? 'Hello' }],
      ...(options.maxTokens !== undefined ? { parameters: { max_tokens: options.maxTokens } } : {}),
    },
    tags: {
      applicationId: options.applicationId ?? 'docs-helper',
      costCenter: options.costCenter ?? 'support',
      environment: options.environment ?? 'production',
    },
  };
}
