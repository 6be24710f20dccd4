import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { deploymentSchema } from '../../lib/config/schema.ts';
import { ProxyStateMachine } from '../../lib/constructs/proxy-state-machine.ts';
import { SentryFunction } from '../../lib/constructs/sentry-function.ts';
import { FUNCTIONS } from '../../state-machines/definition.ts';

/** One function alone, as the stack builds each of them (bundling skipped). */
function functionLogging(): unknown {
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Function');
  new SentryFunction(stack, 'ValidateRequest', {
    entry: 'validate-request',
    timeout: Duration.seconds(5),
    environment: {},
    logRetention: RetentionDays.ONE_DAY,
  });
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  return Object.values(functions)[0]?.Properties.LoggingConfig;
}

/** A state machine alone, with stand-in functions, at the given log level. */
function stateMachineLogging(logLevel?: 'ERROR' | 'ALL'): unknown {
  const stack = new Stack(new App(), 'Machine');
  const fn = new LambdaFunction(stack, 'Fn', {
    runtime: Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: Code.fromInline('export const handler = async () => ({});'),
  });
  const functions = Object.fromEntries(Object.keys(FUNCTIONS).map((key) => [key, fn])) as never;
  new ProxyStateMachine(stack, 'Workflow', { functions, logRetention: RetentionDays.ONE_DAY, logLevel });
  const machines = Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine');
  return Object.values(machines)[0]?.Properties.LoggingConfiguration;
}

describe('the log diet', () => {
  it('keeps every function on JSON logs with Lambda system lines (START, END, REPORT) at WARN', () => {
    expect(functionLogging()).toEqual({
      LogFormat: 'JSON',
      SystemLogLevel: 'WARN',
      ApplicationLogLevel: 'INFO',
      LogGroup: expect.anything(),
    });
  });

  it('logs only failed executions of the state machine by default, never execution data', () => {
    expect(stateMachineLogging()).toMatchObject({ Level: 'ERROR', IncludeExecutionData: false });
  });

  it('logs every execution event when the deployment asks for ALL, still without execution data', () => {
    expect(stateMachineLogging('ALL')).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
  });

  it('reads the state machine log level from the config, ERROR unless set, and nothing else', () => {
    expect(deploymentSchema.parse({}).stateMachineLogLevel).toBe('ERROR');
    expect(deploymentSchema.parse({ stateMachineLogLevel: 'ALL' }).stateMachineLogLevel).toBe('ALL');
    expect(deploymentSchema.safeParse({ stateMachineLogLevel: 'DEBUG' }).success).toBe(false);
  });
});
