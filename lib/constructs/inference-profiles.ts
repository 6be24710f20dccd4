import { Stack, Tags } from 'aws-cdk-lib';
import { CfnApplicationInferenceProfile } from 'aws-cdk-lib/aws-bedrock';
import { Construct } from 'constructs';
import type { ModelConfig } from '../../lambdas/shared/catalog.ts';

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
        const source =
          model.inferenceProfileArn ??
          stack.formatArn({
            service: 'bedrock',
            account: '',
            resource: 'foundation-model',
            resourceName: model.modelId,
          });
        const profile = new CfnApplicationInferenceProfile(this, `${costCenter}-${alias}`, {
          inferenceProfileName: `cost-sentry-${costCenter}-${alias}`,
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
