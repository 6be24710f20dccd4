import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { BudgetDefinition } from '../../lambdas/shared/rules/budget.ts';
import { budgetItem } from '../../lambdas/shared/rules/budget-items.ts';
import { OPEN_INDEX, REGISTRY_INDEX, TABLE_INDEXES, TABLE_KEYS } from '../../lambdas/shared/rules/table.ts';

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
      // Idempotency records expire after 24 h (checked on read as well; TTL only tidies up).
      timeToLiveAttribute: 'expiresAt',
      globalSecondaryIndexes: TABLE_INDEXES.map((index) => ({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        ...('sortKey' in index ? { sortKey: { name: index.sortKey, type: AttributeType.STRING } } : {}),
        projectionType: index.projection === 'ALL' ? ProjectionType.ALL : ProjectionType.KEYS_ONLY,
      })),
    });

    for (const budget of props.budgets) {
      const item = budgetItem({ ...budget, source: 'config' });
      const put = {
        service: 'DynamoDB',
        action: 'putItem',
        parameters: { TableName: this.table.tableName, Item: item },
        physicalResourceId: PhysicalResourceId.of(`budget-${budgetName(budget)}`),
      };
      new AwsCustomResource(this, `Budget-${budgetName(budget)}`, {
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

  /**
   * Read budgets and cached answers (one GetItem for a response cache lookup) and conditionally
   * update counters: what the request path does.
   */
  grantRequestPath(grantee: IGrantable): void {
    this.#allow(grantee, ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem']);
  }

  /**
   * Claim, complete and release Idempotency-Key records. SettleUsage holds it, and its PutItem
   * also keeps answers in the response cache: no other action is needed for the cache.
   */
  grantIdempotency(grantee: IGrantable): void {
    this.#allow(grantee, [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    ]);
  }

  /** Read API key records: what the authorizer does. */
  grantKeyReads(grantee: IGrantable): void {
    this.#allow(grantee, ['dynamodb:GetItem']);
  }

  /**
   * Find and close stale reservations, account for them, and claim alert thresholds: what the
   * sweeper does. It reads the open-counters index, never the whole table.
   */
  grantSweep(grantee: IGrantable): void {
    this.#allow(grantee, ['dynamodb:Query'], [`${this.table.tableArn}/index/${OPEN_INDEX.name}`]);
    this.#allow(grantee, ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem']);
  }

  /** Manage budget definitions and read counters and usage: what the admin API does. */
  grantAdmin(grantee: IGrantable): void {
    this.#allow(
      grantee,
      [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
      ],
      [this.table.tableArn, `${this.table.tableArn}/index/${REGISTRY_INDEX.name}`],
    );
  }

  /** Let a function's role take these table actions, on the table (or the given resources) only. */
  #allow(grantee: IGrantable, actions: string[], resources: string[] = [this.table.tableArn]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions, resources }));
  }
}

/** A stable name for a budget: the cost center, or `costCenter-applicationId`. */
function budgetName(budget: BudgetDefinition): string {
  return budget.applicationId ? `${budget.costCenter}-${budget.applicationId}` : budget.costCenter;
}
