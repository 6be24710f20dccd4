import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { type BudgetDefinition, keys, TABLE_KEYS } from '../../lambdas/shared/budget.ts';
import { budgetItem } from '../../lambdas/shared/budget-store.ts';

/** Props of the budget table. */
export interface BudgetTableProps {
  /** Budgets as code, written at every deploy that changes them. */
  budgets: BudgetDefinition[];
}

/**
 * The single table that holds budget definitions and period counters (on demand, point-in-time
 * recovery, retained on stack deletion), seeded with the config's budgets.
 */
export class BudgetTable extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: BudgetTableProps) {
    super(scope, id);
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryptionV2.awsManagedKey(),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    for (const budget of props.budgets) {
      const item = budgetItem(keys.costCenterBudget(budget.costCenter), budget, 'deploy');
      const put = {
        service: 'DynamoDB',
        action: 'putItem',
        parameters: { TableName: this.table.tableName, Item: item },
        physicalResourceId: PhysicalResourceId.of(`budget-${budget.costCenter}`),
      };
      new AwsCustomResource(this, `Budget-${budget.costCenter}`, {
        onCreate: put,
        onUpdate: put,
        installLatestAwsSdk: false,
        memorySize: 256,
        policy: AwsCustomResourcePolicy.fromStatements([
          new PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [this.table.tableArn] }),
        ]),
      });
    }
  }

  /** Read and conditionally update items: what the budget Lambdas do. */
  grantBudgetWrites(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [this.table.tableArn],
      }),
    );
  }
}
