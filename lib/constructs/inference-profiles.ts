import { createHash } from 'node:crypto';
import { Stack, Tags } from 'aws-cdk-lib';
import { CfnApplicationInferenceProfile } from 'aws-cdk-lib/aws-bedrock';
import { Construct } from 'constructs';
import { isSystemProfileId, type ModelConfig } from '../../lambdas/shared/rules/catalog.ts';

/** Props of the per-cost-center application inference profiles. */
export interface InferenceProfilesProps {
  /** Cost centers that asked for their own profiles. */
  costCenters: string[];
  /** The models, by alias: each cost center gets one profile per model. */
  models: Record<string, ModelConfig>;
  /** The value of the Environment cost allocation tag. */
  environment: string;
}

/**
 * One application inference profile per (cost center, model), tagged CostCenter and
 * Environment, so Cost Explorer and the Cost and Usage Report split Bedrock spend by cost center
 * once those tags are activated as cost allocation tags.
 */
export class InferenceProfiles extends Construct {
  /** Profile IDs by cost center and alias. */
  readonly ids: Record<string, Record<string, string>> = {};
  /** Profile ARNs, for IAM. */
  readonly arns: string[] = [];

  constructor(scope: Construct, id: string, props: InferenceProfilesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    for (const costCenter of props.costCenters) {
      this.ids[costCenter] = {};
      for (const [alias, model] of Object.entries(props.models)) {
        const source = model.inferenceProfileArn ?? modelSourceArn(stack, model.modelId);
        const profile = new CfnApplicationInferenceProfile(this, `${costCenter}-${alias}`, {
          inferenceProfileName: profileName(costCenter, alias),
          description: `Cost Sentry: ${alias} for cost center ${costCenter}`,
          modelSource: { copyFrom: source },
        });
        Tags.of(profile).add('CostCenter', costCenter);
        Tags.of(profile).add('Environment', props.environment);
        (this.ids[costCenter] as Record<string, string>)[alias] = profile.attrInferenceProfileId;
        this.arns.push(profile.attrInferenceProfileArn);
      }
    }
  }
}

/** What CloudFormation accepts as an InferenceProfileName: 1 to 64 characters, single separators. */
export const PROFILE_NAME = /^([0-9a-zA-Z][ _-]?)+$/;
const MAX_PROFILE_NAME = 64;

/**
 * The application inference profile name of a cost center's model: `cost-sentry-<costCenter>-<alias>`
 * when that is a valid name; otherwise dots become hyphens, separator runs fold into one, and a
 * short hash of the original pair keeps two cost centers that fold alike (`eng.platform`,
 * `eng-platform`) apart, within 64 characters.
 */
export function profileName(costCenter: string, alias: string): string {
  const plain = `cost-sentry-${costCenter}-${alias}`;
  if (plain.length <= MAX_PROFILE_NAME && PROFILE_NAME.test(plain)) return plain;
  const hash = createHash('sha256').update(`${costCenter}\n${alias}`).digest('hex').slice(0, 8);
  const folded = plain
    .replace(/[^0-9a-zA-Z _-]/g, '-')
    .replace(/[ _-]{2,}/g, (run) => run[0] ?? '-')
    .slice(0, MAX_PROFILE_NAME - hash.length - 1)
    .replace(/[ _-]+$/, '');
  return `${folded}-${hash}`;
}

/**
 * What an application inference profile copies from: a system-defined (geographic or global)
 * inference profile when the catalog invokes one, otherwise the foundation model in this region.
 */
export function modelSourceArn(stack: Stack, modelId: string): string {
  return isSystemProfileId(modelId)
    ? stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: modelId })
    : stack.formatArn({
        service: 'bedrock',
        account: '',
        resource: 'foundation-model',
        resourceName: modelId,
      });
}
