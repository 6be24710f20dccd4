import { join } from 'node:path';
import type { CostSentryConfig } from '../lib/config/schema.ts';
import { type LocalGateway, startGateway } from './gateway.ts';
import { type LogSink, teeJsonLines } from './log-sink.ts';
import { type LocalRuntime, type LocalRuntimeOptions, startRuntime } from './runtime.ts';

export interface LocalStackOptions extends Omit<LocalRuntimeOptions, 'config'> {
  config: CostSentryConfig;
  /** 0 picks a free port. @default 8787 */
  port?: number;
  /** Where the metric and audit lines are written as well. */
  logFile: string;
  /** Also print the metric and audit lines on stdout. @default true */
  echoLogs?: boolean;
  /** When set, the admin API needs it as a bearer token. */
  adminToken?: string | undefined;
}

export interface LocalStack {
  url: string;
  runtime: LocalRuntime;
  gateway: LocalGateway;
  logFile: string;
  close(): Promise<void>;
}

/** The whole sentry on one machine: gateway, state machine, handlers, DynamoDB, Bedrock simulator. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const sink: LogSink = teeJsonLines(options.logFile, { echo: options.echoLogs ?? true });
  let runtime: LocalRuntime | undefined;
  try {
    runtime = await startRuntime(options);
    const gateway = await startGateway({
      workflow: runtime.workflow,
      admin: runtime.admin,
      adminToken: options.adminToken,
      authorizer: options.auth === 'apikey' ? runtime.authorizer : undefined,
      maxBodyBytes: options.config.limits.maxBodyBytes,
      limits: options.config.limits,
      port: options.port ?? 8787,
    });
    const started = runtime;
    return {
      url: gateway.url,
      runtime: started,
      gateway,
      logFile: sink.path,
      async close() {
        await gateway.close();
        await started.close();
        sink.restore();
      },
    };
  } catch (error) {
    await runtime?.close();
    sink.restore();
    throw error;
  }
}

/** The default folder for the local log file and the on-disk DynamoDB data. */
export const LOCAL_STATE_DIR = join('.cost-sentry');
