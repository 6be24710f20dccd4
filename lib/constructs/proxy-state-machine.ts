import { fileURLToPath } from 'node:url';
import { RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ASL_PATH, type FUNCTIONS } from '../../state-machines/definition.ts';
import type { StateMachineLogLevel } from '../config/schema.ts';

/** Props of the proxy state machine. */
export interface ProxyStateMachineProps {
  /** The function behind each `${...FunctionArn}` placeholder of the ASL file. */
  functions: Record<keyof typeof FUNCTIONS, IFunction>;
  logRetention: RetentionDays;
  /**
   * Which execution events reach CloudWatch Logs. ERROR logs failed executions and states only;
   * ALL logs every state's events, about 4 KB a request. @default ERROR
   */
  logLevel?: StateMachineLogLevel;
}

/**
 * The Express state machine, loaded from the one ASL file with the function ARNs substituted.
 * It logs failures (or every event, when asked) without execution data: prompts and completions
 * stay out of the logs.
 */
export class ProxyStateMachine extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: ProxyStateMachineProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${id}-${this.node.addr}`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.EXPRESS,
      definitionBody: DefinitionBody.fromFile(fileURLToPath(ASL_PATH)),
      definitionSubstitutions: Object.fromEntries(
        Object.entries(props.functions).map(([placeholder, fn]) => [placeholder, fn.functionArn]),
      ),
      tracingEnabled: true,
      logs: {
        destination: logGroup,
        level: props.logLevel === 'ALL' ? LogLevel.ALL : LogLevel.ERROR,
        includeExecutionData: false,
      },
    });
    // Exactly the workflow functions, unqualified: no version or alias wildcard.
    this.stateMachine.addToRolePolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: Object.values(props.functions).map((fn) => fn.functionArn),
      }),
    );
  }
}
