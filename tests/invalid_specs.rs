//! The catalogue of invalid SecureQueues: each is refused by `plan` (and so by the reconciler,
//! which plans first) with the field and the reason, before any AWS call. Where the CRD schema
//! or its CEL rules can see the problem, the API server refuses it too.

mod common;

use common::{api_server_errors, env, manifest, plan, plan_with};
use securequeue::aws::calls::CallLog;
use securequeue::aws::{Aws, ConnectOptions};
use securequeue::reconcile::Reconciler;

const CONSUMER: &str = "  consumerRoleArns: [arn:aws:iam::111122223333:role/worker]\n";

/// Plans `spec` (with a valid consumer unless the spec names consumers) and expects a problem at
/// `field` whose reason contains `reason`.
fn assert_refused(spec: &str, field: &str, reason: &str) -> String {
    let spec = if spec.contains("consumerRoleArns:")
        && !spec.contains("deadLetterQueue: {consumerRoleArns")
    {
        spec.to_string()
    } else {
        format!("{CONSUMER}{spec}")
    };
    let yaml = manifest(&spec);
    let problems = plan(&yaml).expect_err("the spec must be refused");
    assert!(
        problems
            .iter()
            .any(|p| p.field == field && p.reason.contains(reason)),
        "expected `{field}: …{reason}…`, got {problems:#?}"
    );
    assert_reconciler_refuses(&yaml, field);
    yaml
}

/// The reconciler refuses it too, naming the field, with no AWS call at all (its AWS client
/// points at a closed port, so a call would fail loudly). Documents that do not even read as a
/// SecureQueue never reach it.
fn assert_reconciler_refuses(yaml: &str, field: &str) {
    let mut docs = securequeue::manifest::parse(yaml).expect("test manifests are YAML");
    let Ok(queue) = docs.remove(0).parsed else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(async {
        let aws = Aws::connect(&ConnectOptions {
            endpoint_url: Some("http://127.0.0.1:9".into()),
            region: Some("eu-west-1".into()),
            ..ConnectOptions::default()
        })
        .await;
        Reconciler::new(aws, env())
            .converge(&queue, &CallLog::default())
            .await
    });
    let ready = report.ready().expect("a Ready condition");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "InvalidSpec"),
        "{report:#?}"
    );
    assert!(ready.message.contains(field), "{}", ready.message);
    assert_eq!(
        report.calls.total(),
        0,
        "AWS was called: {:?}",
        report.calls
    );
}

macro_rules! refused {
    ($name:ident, $spec:expr, $field:expr, $reason:expr) => {
        #[test]
        fn $name() {
            assert_refused($spec, $field, $reason);
        }
    };
    ($name:ident, $spec:expr, $field:expr, $reason:expr, also_by_the_api_server) => {
        #[test]
        fn $name() {
            let yaml = assert_refused($spec, $field, $reason);
            assert!(
                !api_server_errors(&yaml, None).is_empty(),
                "the CRD schema should refuse it too"
            );
        }
    };
}

// Principals
refused!(
    malformed_consumer_arn,
    "  consumerRoleArns: [orders-worker]\n",
    "spec.consumerRoleArns[0]",
    "is not an ARN",
    also_by_the_api_server
);
refused!(
    star_as_consumer,
    "  consumerRoleArns: ['*']\n",
    "spec.consumerRoleArns[0]",
    "wildcard",
    also_by_the_api_server
);
refused!(
    wildcard_role_name,
    "  consumerRoleArns: ['arn:aws:iam::111122223333:role/orders-*']\n",
    "spec.consumerRoleArns[0]",
    "wildcard",
    also_by_the_api_server
);
refused!(
    wildcard_account,
    "  adminRoleArns: ['arn:aws:iam::*:role/admin']\n",
    "spec.adminRoleArns[0]",
    "wildcard",
    also_by_the_api_server
);
refused!(
    user_instead_of_role,
    "  consumerRoleArns: [arn:aws:iam::111122223333:user/alice]\n",
    "spec.consumerRoleArns[0]",
    "an IAM user",
    also_by_the_api_server
);
refused!(
    account_root_as_consumer,
    "  consumerRoleArns: ['arn:aws:iam::111122223333:root']\n",
    "spec.consumerRoleArns[0]",
    "account root",
    also_by_the_api_server
);
refused!(
    group_as_admin,
    "  adminRoleArns: [arn:aws:iam::111122223333:group/admins]\n",
    "spec.adminRoleArns[0]",
    "IAM group",
    also_by_the_api_server
);
refused!(
    assumed_role_session_as_producer,
    "  producers: {roleArns: ['arn:aws:sts::111122223333:assumed-role/api/session']}\n",
    "spec.producers.roleArns[0]",
    "assumed-role session",
    also_by_the_api_server
);
refused!(
    topic_where_role_is_required,
    "  producers: {roleArns: ['arn:aws:sns:eu-west-1:111122223333:t']}\n",
    "spec.producers.roleArns[0]",
    "service `sns`",
    also_by_the_api_server
);
refused!(
    short_account_id,
    "  consumerRoleArns: ['arn:aws:iam::1111:role/worker']\n",
    "spec.consumerRoleArns[0]",
    "12 digits",
    also_by_the_api_server
);
refused!(
    role_name_too_long,
    &format!(
        "  consumerRoleArns: ['arn:aws:iam::111122223333:role/{}']\n",
        "r".repeat(65)
    ),
    "spec.consumerRoleArns[0]",
    "1 to 64"
);
refused!(
    consumer_in_another_account,
    "  consumerRoleArns: ['arn:aws:iam::444455556666:role/worker']\n",
    "spec.consumerRoleArns[0]",
    "not the queue's account"
);
refused!(
    producer_role_in_another_account,
    "  producers: {roleArns: ['arn:aws:iam::444455556666:role/api']}\n",
    "spec.producers.roleArns[0]",
    "not the queue's account"
);
refused!(
    role_of_the_china_partition_for_an_eu_queue,
    "  consumerRoleArns: ['arn:aws-cn:iam::111122223333:role/worker']\n",
    "spec.consumerRoleArns[0]",
    "partition aws-cn"
);
refused!(
    empty_consumers,
    "  consumerRoleArns: []\n",
    "spec.consumerRoleArns",
    "at least one consumer",
    also_by_the_api_server
);
refused!(
    duplicate_consumer,
    "  consumerRoleArns: [arn:aws:iam::111122223333:role/w, arn:aws:iam::111122223333:role/w]\n",
    "spec.consumerRoleArns[1]",
    "listed twice",
    also_by_the_api_server
);
refused!(
    too_many_consumers,
    &format!(
        "  consumerRoleArns: [{}]\n",
        (0..51)
            .map(|i| format!("arn:aws:iam::111122223333:role/w{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    ),
    "spec.consumerRoleArns",
    "at most 50",
    also_by_the_api_server
);
refused!(
    user_as_dead_letter_consumer,
    "  deadLetterQueue: {consumerRoleArns: [arn:aws:iam::111122223333:user/bob]}\n",
    "spec.deadLetterQueue.consumerRoleArns[0]",
    "an IAM user",
    also_by_the_api_server
);

// Sources
refused!(
    sqs_arn_as_topic,
    "  producers: {snsTopicArns: ['arn:aws:sqs:eu-west-1:111122223333:q']}\n",
    "spec.producers.snsTopicArns[0]",
    "service `sqs`",
    also_by_the_api_server
);
refused!(
    subscription_arn_as_topic,
    "  producers: {snsTopicArns: ['arn:aws:sns:eu-west-1:111122223333:t:1a2b']}\n",
    "spec.producers.snsTopicArns[0]",
    "subscription",
    also_by_the_api_server
);
refused!(
    topic_of_another_account,
    "  producers: {snsTopicArns: ['arn:aws:sns:eu-west-1:444455556666:t']}\n",
    "spec.producers.snsTopicArns[0]",
    "not the queue's account"
);
refused!(
    s3_object_instead_of_bucket,
    "  producers: {s3BucketArns: ['arn:aws:s3:::bucket/uploads/*']}\n",
    "spec.producers.s3BucketArns[0]",
    "wildcard",
    also_by_the_api_server
);
refused!(
    s3_prefix_instead_of_bucket,
    "  producers: {s3BucketArns: ['arn:aws:s3:::bucket/uploads']}\n",
    "spec.producers.s3BucketArns[0]",
    "name the bucket itself",
    also_by_the_api_server
);
refused!(
    s3_bucket_with_uppercase,
    "  producers: {s3BucketArns: ['arn:aws:s3:::My-Bucket']}\n",
    "spec.producers.s3BucketArns[0]",
    "invalid bucket name",
    also_by_the_api_server
);
refused!(
    event_bus_instead_of_rule,
    "  producers: {eventBridgeRuleArns: ['arn:aws:events:eu-west-1:111122223333:event-bus/default']}\n",
    "spec.producers.eventBridgeRuleArns[0]",
    "not an EventBridge rule",
    also_by_the_api_server
);
refused!(
    event_bridge_rule_in_another_region,
    "  producers: {eventBridgeRuleArns: ['arn:aws:events:us-east-1:111122223333:rule/r']}\n",
    "spec.producers.eventBridgeRuleArns[0]",
    "its own region"
);
refused!(
    topic_of_the_gov_partition,
    "  producers: {snsTopicArns: ['arn:aws-us-gov:sns:us-gov-west-1:111122223333:t']}\n",
    "spec.producers.snsTopicArns[0]",
    "partition aws-us-gov"
);

// Names and FIFO
refused!(
    queue_name_with_a_dot,
    "  queueName: shop.orders\n",
    "spec.queueName",
    "only letters, digits",
    also_by_the_api_server
);
refused!(
    queue_name_with_a_space,
    "  queueName: 'shop orders'\n",
    "spec.queueName",
    "only letters, digits",
    also_by_the_api_server
);
refused!(
    queue_name_too_long,
    &format!("  queueName: {}\n", "q".repeat(77)),
    "spec.queueName",
    "at most 76",
    also_by_the_api_server
);
refused!(
    fifo_name_on_a_standard_queue,
    "  queueName: orders.fifo\n",
    "spec.queueName",
    "fifo is false",
    also_by_the_api_server
);
refused!(
    fifo_queue_without_fifo_name,
    "  fifo: true\n  queueName: orders\n",
    "spec.queueName",
    "must end in `.fifo`",
    also_by_the_api_server
);
refused!(
    fifo_queue_with_s3_producer,
    "  fifo: true\n  producers: {s3BucketArns: ['arn:aws:s3:::bucket-one']}\n",
    "spec.producers.s3BucketArns",
    "cannot be delivered to a FIFO queue",
    also_by_the_api_server
);
refused!(
    fifo_queue_with_standard_topic,
    "  fifo: true\n  producers: {snsTopicArns: ['arn:aws:sns:eu-west-1:111122223333:t']}\n",
    "spec.producers.snsTopicArns[0]",
    "standard topic",
    also_by_the_api_server
);

#[test]
fn default_name_too_long_for_the_dead_letter_queue() {
    let yaml = format!(
        "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata:\n  name: {}\n  namespace: shop\nspec:\n{CONSUMER}",
        "n".repeat(75)
    );
    let problems = plan(&yaml).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.field == "spec.queueName"
                && p.reason.contains("set a shorter spec.queueName")),
        "{problems:#?}"
    );
}

// Numbers
refused!(
    retention_below_a_minute,
    "  queue: {messageRetentionSeconds: 59}\n",
    "spec.queue.messageRetentionSeconds",
    "60 to 1209600",
    also_by_the_api_server
);
refused!(
    retention_over_fourteen_days,
    "  deadLetterQueue: {messageRetentionSeconds: 1209601}\n",
    "spec.deadLetterQueue.messageRetentionSeconds",
    "60 to 1209600",
    also_by_the_api_server
);
refused!(
    visibility_timeout_over_twelve_hours,
    "  queue: {visibilityTimeoutSeconds: 43201}\n",
    "spec.queue.visibilityTimeoutSeconds",
    "0 to 43200",
    also_by_the_api_server
);
refused!(
    delay_over_fifteen_minutes,
    "  queue: {delaySeconds: 901}\n",
    "spec.queue.delaySeconds",
    "0 to 900",
    also_by_the_api_server
);
refused!(
    long_poll_over_twenty_seconds,
    "  queue: {receiveWaitTimeSeconds: 21}\n",
    "spec.queue.receiveWaitTimeSeconds",
    "0 to 20",
    also_by_the_api_server
);
refused!(
    message_size_below_one_kib,
    "  queue: {maximumMessageSizeBytes: 1023}\n",
    "spec.queue.maximumMessageSizeBytes",
    "1024 to 1048576",
    also_by_the_api_server
);
refused!(
    max_receive_count_zero,
    "  deadLetterQueue: {maxReceiveCount: 0}\n",
    "spec.deadLetterQueue.maxReceiveCount",
    "1 to 1000",
    also_by_the_api_server
);
refused!(
    max_receive_count_over_a_thousand,
    "  deadLetterQueue: {maxReceiveCount: 1001}\n",
    "spec.deadLetterQueue.maxReceiveCount",
    "1 to 1000",
    also_by_the_api_server
);
refused!(
    reuse_period_below_a_minute,
    "  key: {dataKeyReusePeriodSeconds: 59}\n",
    "spec.key.dataKeyReusePeriodSeconds",
    "60 to 86400",
    also_by_the_api_server
);
refused!(
    reuse_period_over_a_day,
    "  key: {dataKeyReusePeriodSeconds: 86401}\n",
    "spec.key.dataKeyReusePeriodSeconds",
    "60 to 86400",
    also_by_the_api_server
);
refused!(
    deletion_window_below_seven_days,
    "  key: {deletionWindowDays: 6}\n",
    "spec.key.deletionWindowDays",
    "7 to 30",
    also_by_the_api_server
);
refused!(
    deletion_window_over_thirty_days,
    "  key: {deletionWindowDays: 31}\n",
    "spec.key.deletionWindowDays",
    "7 to 30",
    also_by_the_api_server
);
refused!(
    rotation_period_below_ninety_days,
    "  key: {rotationPeriodDays: 89}\n",
    "spec.key.rotationPeriodDays",
    "90 to 2560",
    also_by_the_api_server
);
refused!(
    dead_letter_retention_shorter_than_the_queue,
    "  deadLetterQueue: {messageRetentionSeconds: 86400}\n",
    "spec.deadLetterQueue.messageRetentionSeconds",
    "would expire",
    also_by_the_api_server
);

// Identifiers, alias, tags, region
refused!(
    malformed_organization_id,
    "  organizationId: org-123\n",
    "spec.organizationId",
    "not an organization id",
    also_by_the_api_server
);
refused!(
    malformed_vpc_endpoint_id,
    "  vpcEndpointId: vpc-0abc12345\n",
    "spec.vpcEndpointId",
    "not a VPC endpoint id",
    also_by_the_api_server
);
refused!(
    alias_without_prefix,
    "  key: {alias: orders-key}\n",
    "spec.key.alias",
    "must start with `alias/`",
    also_by_the_api_server
);
refused!(
    alias_reserved_for_aws,
    "  key: {alias: alias/aws/sqs}\n",
    "spec.key.alias",
    "reserved for AWS",
    also_by_the_api_server
);
refused!(
    reserved_tag_prefix,
    "  tags: {'aws:owner': me}\n",
    "spec.tags[aws:owner]",
    "reserved",
    also_by_the_api_server
);
refused!(
    ownership_tag_in_spec,
    "  tags: {'securequeue.io/uid': forged}\n",
    "spec.tags[securequeue.io/uid]",
    "reserved",
    also_by_the_api_server
);
refused!(
    tag_key_too_long,
    &format!("  tags: {{{}: v}}\n", "k".repeat(129)),
    &format!("spec.tags[{}]", "k".repeat(129)),
    "1 to 128"
);
refused!(
    tag_with_forbidden_characters,
    "  tags: {team: 'a;b'}\n",
    "spec.tags[team]",
    "letters, digits",
    also_by_the_api_server
);
refused!(
    tag_value_with_a_tab,
    "  tags: {team: \"a\\tb\"}\n",
    "spec.tags[team]",
    "no tabs, newlines",
    also_by_the_api_server
);
refused!(
    tag_value_with_a_newline,
    "  tags: {team: \"a\\nb\"}\n",
    "spec.tags[team]",
    "no tabs, newlines",
    also_by_the_api_server
);
refused!(
    dead_letter_queue_named_as_the_main_queue,
    "  queueName: orders-main\n  deadLetterQueue: {queueName: orders-main}\n",
    "spec.deadLetterQueue.queueName",
    "its own dead-letter queue",
    also_by_the_api_server
);
refused!(
    too_many_tags,
    &format!(
        "  tags: {{{}}}\n",
        (0..47)
            .map(|i| format!("t{i}: v"))
            .collect::<Vec<_>>()
            .join(", ")
    ),
    "spec.tags",
    "at most 46",
    also_by_the_api_server
);
refused!(
    malformed_region,
    "  region: europe\n",
    "spec.region",
    "not an AWS region name",
    also_by_the_api_server
);
refused!(
    isolated_partition_region,
    "  region: us-iso-east-1\n",
    "spec.region",
    "does not support"
);

#[test]
fn no_region_anywhere() {
    let mut env = env();
    env.region = None;
    let problems = plan_with(&manifest(CONSUMER), &env).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.field == "spec.region" && p.reason.contains("--region")),
        "{problems:#?}"
    );
}

// Quotas, computed on the generated policies
refused!(
    every_option_at_once_breaks_the_condition_quota,
    "  organizationId: o-a1b2c3d4e5\n  vpcEndpointId: vpce-0abc12345\n  producers:\n    snsTopicArns: ['arn:aws:sns:eu-west-1:111122223333:t']\n    s3BucketArns: ['arn:aws:s3:::bucket-one']\n    eventBridgeRuleArns: ['arn:aws:events:eu-west-1:111122223333:rule/r']\n    roleArns: [arn:aws:iam::111122223333:role/api]\n",
    "spec",
    "11 conditions over the quota of 10"
);

#[test]
fn many_long_role_arns_break_the_queue_policy_size() {
    let roles: Vec<String> = (0..40)
        .map(|i| {
            format!(
                "arn:aws:iam::111122223333:role/a/rather/long/path/for/a/role/{i:02}-{}",
                "x".repeat(40)
            )
        })
        .collect();
    let spec = format!("  consumerRoleArns: [{}]\n", roles.join(", "));
    assert_refused(&spec, "spec", "bytes over the quota of 8192");
}

#[test]
fn consumers_and_producer_roles_together_break_the_principal_quota() {
    let list = |prefix: &str, n: usize| {
        (0..n)
            .map(|i| format!("arn:aws:iam::111122223333:role/{prefix}{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let spec = format!(
        "  consumerRoleArns: [{}]\n  producers: {{roleArns: [{}]}}\n",
        list("c", 30),
        list("p", 30)
    );
    assert_refused(&spec, "spec", "principals over the quota of 50");
}

#[test]
fn identical_consumers_and_producers_are_merged_to_fit_the_principal_quota() {
    // 30 roles that both consume and produce: 60 principals as written, 30 once the two Allow
    // statements, which differ only in actions, are merged.
    let roles = (0..30)
        .map(|i| format!("arn:aws:iam::111122223333:role/r{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let yaml = manifest(&format!(
        "  consumerRoleArns: [{roles}]\n  producers: {{roleArns: [{roles}]}}\n"
    ));
    let plan = plan(&yaml).expect("merging makes it fit");
    let policy = plan.queue.attributes.policy.to_value();
    let merged = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["Sid"] == "AllowConsumersToReceiveFromTheQueueAndAllowProducerRolesToSendToTheQueue"
        })
        .expect("merged statement");
    assert_eq!(merged["Action"].as_array().unwrap().len(), 5);
}

// Documents that are not SecureQueues
#[test]
fn unknown_field_is_named() {
    let docs =
        securequeue::manifest::parse(&manifest(&format!("{CONSUMER}  retries: 3\n"))).unwrap();
    let problems = docs[0].parsed.as_ref().unwrap_err();
    assert_eq!(problems[0].field, "spec.retries");
}

#[test]
fn negative_number_is_named() {
    let docs = securequeue::manifest::parse(&manifest(&format!(
        "{CONSUMER}  queue: {{delaySeconds: -5}}\n"
    )))
    .unwrap();
    assert_eq!(
        docs[0].parsed.as_ref().unwrap_err()[0].field,
        "spec.queue.delaySeconds"
    );
}

#[test]
fn unknown_deletion_policy_is_named() {
    let docs =
        securequeue::manifest::parse(&manifest(&format!("{CONSUMER}  deletionPolicy: Orphan\n")))
            .unwrap();
    assert_eq!(
        docs[0].parsed.as_ref().unwrap_err()[0].field,
        "spec.deletionPolicy"
    );
}

#[test]
fn missing_name_is_named() {
    let yaml = format!(
        "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata: {{namespace: shop}}\nspec:\n{CONSUMER}"
    );
    let problems = plan(&yaml).unwrap_err();
    assert!(
        problems.iter().any(|p| p.field == "metadata.name"),
        "{problems:#?}"
    );
}

// Allowed on purpose, so the catalogue does not over-reach
#[test]
fn a_topic_in_another_region_is_allowed() {
    let spec = format!(
        "{CONSUMER}  producers: {{snsTopicArns: ['arn:aws:sns:us-east-1:111122223333:t']}}\n"
    );
    assert!(plan(&manifest(&spec)).is_ok());
}

#[test]
fn another_account_is_allowed_when_the_operator_allows_it() {
    let mut env = env();
    env.allow_cross_account = true;
    let spec = "  consumerRoleArns: ['arn:aws:iam::444455556666:role/worker']\n";
    assert!(plan_with(&manifest(spec), &env).is_ok());
}

#[test]
fn immutable_fields_are_refused_on_update_in_code() {
    let spec = |name: &str, fifo: bool, region: &str| {
        let yaml = manifest(&format!(
            "{CONSUMER}  queueName: {name}\n  fifo: {fifo}\n  region: {region}\n  key: {{alias: alias/{name}}}\n"
        ));
        securequeue::manifest::parse(&yaml)
            .unwrap()
            .remove(0)
            .parsed
            .unwrap()
            .spec
    };
    let old = spec("orders", false, "eu-west-1");
    let fields = |new| {
        securequeue::validation::validate_update(&old, &new)
            .into_iter()
            .map(|p| p.field)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        fields(spec("orders2", false, "eu-west-1")),
        ["spec.queueName", "spec.key.alias"]
    );
    assert_eq!(
        fields(spec("orders.fifo", true, "eu-west-1")),
        ["spec.queueName", "spec.fifo", "spec.key.alias"]
    );
    assert_eq!(fields(spec("orders", false, "eu-west-2")), ["spec.region"]);
    assert!(fields(spec("orders", false, "eu-west-1")).is_empty());
}
