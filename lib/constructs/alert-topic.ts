import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Props of the alert topic. */
export interface AlertTopicProps {
  /** Addresses to subscribe; each confirms by email. @default none */
  emails?: string[];
}

/**
 * The SNS topic budget alerts and alarms go to: TLS only, encrypted with a customer-managed key
 * that CloudWatch may use (alarms cannot publish to a topic under the AWS-managed `alias/aws/sns`
 * key), with the config's email subscriptions, whose undeliverable messages go to a queue.
 */
export class AlertTopic extends Construct {
  readonly topic: Topic;
  readonly key: Key;
  /** Where messages no subscriber could take end up; only there when a subscription is. */
  readonly deadLetters?: Queue;

  constructor(scope: Construct, id: string, props: AlertTopicProps = {}) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'Cost Sentry: encrypts the alert topic; CloudWatch alarms publish through it',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // Alarm actions publish as CloudWatch, which must be able to encrypt for the topic.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new Topic(this, 'Topic', {
      displayName: 'Cost Sentry budget alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    const emails = props.emails ?? [];
    if (emails.length === 0) return;
    this.deadLetters = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    for (const email of emails) {
      this.topic.addSubscription(new EmailSubscription(email, { deadLetterQueue: this.deadLetters }));
    }
  }
}
