/** The one state machine definition: CDK deploys it, the local stack and the tests run it. */
export const ASL_PATH = new URL('./cost-sentry.asl.json', import.meta.url);

/** The Lambda functions the definition names through `definitionSubstitutions`. */
export const FUNCTIONS = {
  ValidateRequestFunctionArn: 'validate-request',
  ClaimIdempotencyKeyFunctionArn: 'claim-idempotency-key',
  ReserveBudgetFunctionArn: 'reserve-budget',
  InvokeModelFunctionArn: 'invoke-model',
  SettleUsageFunctionArn: 'settle-usage',
  HandleFailureFunctionArn: 'handle-failure',
} as const;

export type FunctionName = (typeof FUNCTIONS)[keyof typeof FUNCTIONS];

/** Replace `${Name}` placeholders as CloudFormation's definitionSubstitutions does. */
export function substitute(text: string, substitutions: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z0-9]+)\}/g, (_whole, name: string) => {
    const value = substitutions[name];
    if (value === undefined) throw new Error(`no substitution for \${${name}}`);
    return value;
  });
}
