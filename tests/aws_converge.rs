//! Converging SecureQueues in the moto emulator through the real SDK clients: fresh converges,
//! steady state, drift of every kind, ownership and immutable changes.

mod common;
mod emulator;

use aws_sdk_sqs::types::QueueAttributeName;
use emulator::*;
use securequeue::api::SecureQueueStatus;
use securequeue::aws::calls::CallLog;
use securequeue::manifest;
use securequeue::plan;
use securequeue::policy::normalize;
use securequeue::resolve::TAG_UID;

#[tokio::test]
async fn every_example_converges_and_a_second_pass_makes_no_writes() {
    let reconciler = reconciler().await;
    let (kms, sqs) = raw().await;
    for common::examples::Example { path, text, .. } in common::examples::all() {
        for doc in manifest::parse(&text).unwrap() {
            let mut queue = doc.parsed.unwrap();
            // Each run gets its own names, so the emulator may outlive one run.
            let prefix = queue.metadata.namespace.clone().unwrap();
            isolate(&mut queue, &prefix);
            let first = converge(&reconciler, &queue).await;
            assert_ready(&first, "Created");
            assert_eq!(
                first.calls.writes(),
                8,
                "{}: {:?}",
                path.display(),
                first.calls
            );

            let second = converge(&reconciler, &queue).await;
            assert_ready(&second, "Converged");
            assert_eq!(
                second.calls.writes(),
                0,
                "{}: {:?}",
                path.display(),
                second.calls
            );
            assert!(second.corrections.is_empty());

            // What the emulator holds is what the plan says.
            let region_kms = if queue.spec.region.as_deref() == Some(REGION) {
                kms.clone()
            } else {
                continue;
            };
            let plan = plan::build(&queue, &env()).unwrap();
            let key_id = alias_target(&region_kms, &plan.key.alias).await.unwrap();
            let policy = key_policy(&region_kms, &key_id).await;
            assert!(normalize::same_policy(plan.key.policy.as_json(), &policy));
            let url = queue_url(&sqs, &plan.queue.name).await.unwrap();
            let attributes = queue_attributes(&sqs, &url).await;
            assert_eq!(attributes["KmsMasterKeyId"], plan.key.alias_arn);
            assert!(normalize::same_redrive(
                &plan.queue.attributes.redrive.to_compact_json(),
                &attributes["RedrivePolicy"]
            ));
        }
    }
}

#[tokio::test]
async fn a_fresh_converge_follows_the_planned_calls() {
    // A stranger's unaliased keys in the region, which a fresh converge never reads.
    let (kms, _) = raw().await;
    for _ in 0..3 {
        kms.create_key()
            .description("a stranger's key")
            .send()
            .await
            .unwrap();
    }
    let reconciler = reconciler().await;
    let mut queue = secure_queue(&unique_namespace("steps"), "");
    let plan = plan::build(&queue, &env()).unwrap();
    let mut planned = std::collections::BTreeMap::new();
    for step in &plan.steps {
        *planned
            .entry(format!("{}:{}", step.service, step.operation))
            .or_insert(0u64) += 1;
    }
    let ledger = KeptLedger::default();
    let report = converge_recorded(&reconciler, &mut queue, &ledger).await;
    assert_ready(&report, "Created");
    assert_eq!(
        report.calls.0, planned,
        "the controller's path makes exactly the planned calls"
    );
    assert_eq!(
        ledger.writes(),
        2,
        "recorded before CreateKey, removed once aliased"
    );
    assert_eq!(ledger.record(), None);

    // Without a status to record in (`apply`), the orphan search lists the region's keys and
    // aliases and looks at the unaliased ones (found not ours): their tags, and the
    // description of those without ownership tags.
    let queue = secure_queue(&unique_namespace("steps"), "");
    let report = converge(&reconciler, &queue).await;
    assert_ready(&report, "Created");
    let mut calls = report.calls.0.clone();
    calls.remove("kms:ListResourceTags");
    let describes = calls.remove("kms:DescribeKey").unwrap_or_default();
    assert!(describes >= planned.remove("kms:DescribeKey").unwrap_or_default());
    planned.insert("kms:ListAliases".into(), 1);
    planned.insert("kms:ListKeys".into(), 1);
    assert_eq!(calls, planned);
}

#[tokio::test]
async fn the_queues_carry_the_planned_encryption_redrive_and_tags() {
    let reconciler = reconciler().await;
    let (kms, sqs) = raw().await;
    let queue = secure_queue(
        &unique_namespace("readback"),
        "  tags: {team: payments}\n  queue: {visibilityTimeoutSeconds: 120}\n  key: {rotationPeriodDays: 90}\n",
    );
    let plan = plan::build(&queue, &env()).unwrap();
    assert_ready(&converge(&reconciler, &queue).await, "Created");

    let key_id = alias_target(&kms, &plan.key.alias).await.unwrap();
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    assert!(rotation.key_rotation_enabled());
    assert_eq!(rotation.rotation_period_in_days(), Some(90));

    let dead_letter_url = queue_url(&sqs, &plan.dead_letter_queue.name).await.unwrap();
    let dead_letter = queue_attributes(&sqs, &dead_letter_url).await;
    assert_eq!(dead_letter["KmsMasterKeyId"], plan.key.alias_arn);
    assert!(normalize::same_redrive(
        &plan.dead_letter_queue.attributes.redrive.to_compact_json(),
        &dead_letter["RedriveAllowPolicy"]
    ));
    assert!(normalize::same_policy(
        plan.dead_letter_queue.attributes.policy.as_json(),
        &dead_letter["Policy"]
    ));

    let url = queue_url(&sqs, &plan.queue.name).await.unwrap();
    let attributes = queue_attributes(&sqs, &url).await;
    assert_eq!(attributes["VisibilityTimeout"], "120");
    assert_eq!(attributes["SqsManagedSseEnabled"], "false");
    let tags = queue_tags(&sqs, &url).await;
    assert_eq!(tags["team"], "payments");
    assert_eq!(tags["securequeue.io/cluster"], "test");
}

/// Tampers with a converged SecureQueue, then checks that the next pass corrects exactly that,
/// and the pass after it writes nothing.
async fn assert_drift_corrected<F, Fut>(prefix: &str, tamper: F, expected: &str)
where
    F: FnOnce(plan::Plan, aws_sdk_kms::Client, aws_sdk_sqs::Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    assert_drift_corrected_within(1, prefix, tamper, expected).await;
}

/// Like [`assert_drift_corrected`], for drift a pass may find only in its turn: tags, which a
/// steady pass reads for one resource in three. The passes before the correction must report
/// the SecureQueue Ready.
async fn assert_drift_corrected_within<F, Fut>(
    passes: usize,
    prefix: &str,
    tamper: F,
    expected: &str,
) where
    F: FnOnce(plan::Plan, aws_sdk_kms::Client, aws_sdk_sqs::Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let reconciler = reconciler().await;
    let (kms, sqs) = raw().await;
    let queue = secure_queue(&unique_namespace(prefix), "  tags: {team: a}\n");
    let plan = plan::build(&queue, &env()).unwrap();
    assert_ready(&converge(&reconciler, &queue).await, "Created");

    tamper(plan, kms.clone(), sqs.clone()).await;

    let mut corrected = converge(&reconciler, &queue).await;
    for _ in 1..passes {
        if !corrected.corrections.is_empty() {
            break;
        }
        assert_ready(&corrected, "Converged");
        corrected = converge(&reconciler, &queue).await;
    }
    assert_ready(&corrected, "DriftCorrected");
    assert!(
        corrected
            .corrections
            .iter()
            .any(|c| c.to_string().contains(expected)),
        "expected a correction mentioning {expected:?}: {:?}",
        corrected.corrections
    );
    // The Event action is a fixed verb; the details (ARNs, names) are in the note.
    for correction in &corrected.corrections {
        let action = correction.repair.action;
        assert!(
            action.len() <= 32 && action.chars().all(|c| c.is_ascii_alphabetic()),
            "{correction:?}"
        );
    }
    let settled = converge(&reconciler, &queue).await;
    assert_ready(&settled, "Converged");
    assert_eq!(settled.calls.writes(), 0, "{:?}", settled.calls);
    assert_eq!(
        keys_of(&kms, queue.metadata.namespace.as_deref().unwrap())
            .await
            .len(),
        1
    );
}

async fn set_attribute(sqs: &aws_sdk_sqs::Client, name: &str, attribute: &str, value: &str) {
    let url = queue_url(sqs, name).await.unwrap();
    sqs.set_queue_attributes()
        .queue_url(url)
        .attributes(QueueAttributeName::from(attribute), value)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_loosened_queue_policy_is_reported_as_access_drift_before_it_is_restored() {
    let reconciler = reconciler().await;
    let (_, sqs) = raw().await;
    let queue = secure_queue(&unique_namespace("opened"), "");
    let plan = plan::build(&queue, &env()).unwrap();
    let first = converge(&reconciler, &queue).await;
    assert_ready(&first, "Created");
    assert!(
        first.access_findings.is_empty(),
        "{:?}",
        first.access_findings
    );
    let open = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"}]}"#;
    set_attribute(&sqs, &plan.queue.name, "Policy", open).await;
    let report = converge(&reconciler, &queue).await;
    assert_ready(&report, "DriftCorrected");
    assert!(
        report.access_findings.iter().any(|f| f.note.contains(
            "Queue policy in AWS broke `another role of the account may not sqs:ReceiveMessage"
        )),
        "{:#?}",
        report.access_findings
    );
    assert!(
        converge(&reconciler, &queue)
            .await
            .access_findings
            .is_empty()
    );
}

#[tokio::test]
async fn a_loosened_queue_policy_is_restored() {
    assert_drift_corrected(
        "drift-policy",
        |plan, _, sqs| async move {
            let open = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"}]}"#;
            set_attribute(&sqs, &plan.queue.name, "Policy", open).await;
        },
        "QueueReady: restored the attributes Policy",
    )
    .await;
}

#[tokio::test]
async fn a_changed_attribute_is_restored() {
    assert_drift_corrected(
        "drift-attr",
        |plan, _, sqs| async move {
            set_attribute(
                &sqs,
                &plan.dead_letter_queue.name,
                "MessageRetentionPeriod",
                "60",
            )
            .await;
        },
        "DeadLetterQueueReady: restored the attributes MessageRetentionPeriod",
    )
    .await;
}

#[tokio::test]
async fn a_removed_redrive_policy_is_restored() {
    assert_drift_corrected(
        "drift-redrive",
        |plan, _, sqs| async move {
            set_attribute(&sqs, &plan.queue.name, "RedrivePolicy", "").await;
        },
        "restored the attributes RedrivePolicy",
    )
    .await;
}

#[tokio::test]
async fn queue_encryption_switched_to_another_key_is_restored() {
    assert_drift_corrected(
        "drift-sse",
        |plan, _, sqs| async move {
            set_attribute(&sqs, &plan.queue.name, "KmsMasterKeyId", "alias/aws/sqs").await;
        },
        "restored the attributes KmsMasterKeyId",
    )
    .await;
}

#[tokio::test]
async fn changed_and_added_queue_tags_are_restored() {
    assert_drift_corrected_within(
        3,
        "drift-tags",
        |plan, _, sqs| async move {
            let url = queue_url(&sqs, &plan.queue.name).await.unwrap();
            sqs.tag_queue()
                .queue_url(&url)
                .tags("team", "b")
                .tags("added-by-hand", "x")
                .send()
                .await
                .unwrap();
        },
        "QueueReady: restored the tags",
    )
    .await;
}

#[tokio::test]
async fn a_replaced_key_policy_is_restored() {
    assert_drift_corrected(
        "drift-keypolicy",
        |plan, kms, _| async move {
            let key_id = alias_target(&kms, &plan.key.alias).await.unwrap();
            kms.put_key_policy()
                .key_id(key_id)
                .policy_name("default")
                .policy(r#"{"Version":"2012-10-17","Statement":[{"Sid":"Open","Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}]}"#)
                .send()
                .await
                .unwrap();
        },
        "restored the key policy",
    )
    .await;
}

#[tokio::test]
async fn disabled_rotation_is_turned_back_on() {
    assert_drift_corrected(
        "drift-rotation",
        |plan, kms, _| async move {
            let key_id = alias_target(&kms, &plan.key.alias).await.unwrap();
            kms.disable_key_rotation()
                .key_id(key_id)
                .send()
                .await
                .unwrap();
        },
        "restored rotation",
    )
    .await;
}

#[tokio::test]
async fn a_disabled_key_is_re_enabled() {
    assert_drift_corrected(
        "drift-disabled",
        |plan, kms, _| async move {
            let key_id = alias_target(&kms, &plan.key.alias).await.unwrap();
            kms.disable_key().key_id(key_id).send().await.unwrap();
        },
        "re-enabled the disabled key",
    )
    .await;
}

#[tokio::test]
async fn a_key_pending_deletion_is_rescued() {
    assert_drift_corrected(
        "drift-pending",
        |plan, kms, _| async move {
            let key_id = alias_target(&kms, &plan.key.alias).await.unwrap();
            kms.schedule_key_deletion()
                .key_id(key_id)
                .pending_window_in_days(7)
                .send()
                .await
                .unwrap();
        },
        "cancelled the key's scheduled deletion",
    )
    .await;
}

#[tokio::test]
async fn a_deleted_alias_is_recreated_for_the_same_key() {
    assert_drift_corrected(
        "drift-alias",
        |plan, kms, _| async move {
            kms.delete_alias()
                .alias_name(&plan.key.alias)
                .send()
                .await
                .unwrap();
        },
        "recreated the alias",
    )
    .await;
}

#[tokio::test]
async fn an_alias_pointed_elsewhere_is_pointed_back() {
    assert_drift_corrected(
        "drift-hijack",
        |plan, kms, _| async move {
            let stranger = kms.create_key().send().await.unwrap();
            let stranger_id = stranger.key_metadata().unwrap().key_id();
            kms.update_alias()
                .alias_name(&plan.key.alias)
                .target_key_id(stranger_id)
                .send()
                .await
                .unwrap();
        },
        "pointed the alias",
    )
    .await;
}

#[tokio::test]
async fn removed_key_tags_are_restored() {
    assert_drift_corrected_within(
        3,
        "drift-keytags",
        |plan, kms, _| async move {
            let key_id = alias_target(&kms, &plan.key.alias).await.unwrap();
            kms.untag_resource()
                .key_id(key_id)
                .tag_keys("team")
                .send()
                .await
                .unwrap();
        },
        "KeyReady: restored the tags team",
    )
    .await;
}

#[tokio::test]
async fn queues_deleted_out_of_band_are_recreated() {
    let reconciler = reconciler().await;
    let (_, sqs) = raw().await;
    let queue = secure_queue(&unique_namespace("recreate"), "");
    let plan = plan::build(&queue, &env()).unwrap();
    assert_ready(&converge(&reconciler, &queue).await, "Created");
    for name in [&plan.queue.name, &plan.dead_letter_queue.name] {
        let url = queue_url(&sqs, name).await.unwrap();
        sqs.delete_queue().queue_url(url).send().await.unwrap();
    }
    let report = converge(&reconciler, &queue).await;
    assert_ready(&report, "Created");
    assert_eq!(condition(&report, "KeyReady"), ("True", "Converged"));
    assert_eq!(report.calls.0.get("sqs:CreateQueue"), Some(&2));
    assert!(queue_url(&sqs, &plan.queue.name).await.is_some());
}

#[tokio::test]
async fn spec_changes_are_applied_in_place() {
    let reconciler = reconciler().await;
    let (_, sqs) = raw().await;
    let namespace = unique_namespace("inplace");
    let queue = secure_queue(&namespace, "");
    assert_ready(&converge(&reconciler, &queue).await, "Created");
    let changed = secure_queue(
        &namespace,
        "  queue: {visibilityTimeoutSeconds: 300}\n  deadLetterQueue: {maxReceiveCount: 9}\n  adminRoleArns: [arn:aws:iam::111122223333:role/admin]\n",
    );
    let report = converge(&reconciler, &changed).await;
    assert_ready(&report, "DriftCorrected");
    let plan = plan::build(&changed, &env()).unwrap();
    let url = queue_url(&sqs, &plan.queue.name).await.unwrap();
    let attributes = queue_attributes(&sqs, &url).await;
    assert_eq!(attributes["VisibilityTimeout"], "300");
    assert!(attributes["RedrivePolicy"].contains('9'));
    assert!(
        report
            .corrections
            .iter()
            .any(|c| c.to_string().contains("restored the key policy"))
    );
    assert_eq!(report.calls.0.get("sqs:CreateQueue"), None);
}

#[tokio::test]
async fn a_queue_name_of_another_namespace_is_refused_and_nothing_changes() {
    let reconciler = reconciler().await;
    let (kms, sqs) = raw().await;
    let shared = unique_namespace("shared");
    let owner_ns = unique_namespace("owner");
    let owner = secure_queue(&owner_ns, &format!("  queueName: {shared}\n"));
    assert_ready(&converge(&reconciler, &owner).await, "Created");

    let thief_ns = unique_namespace("thief");
    let thief = secure_queue(&thief_ns, &format!("  queueName: {shared}\n"));
    let report = converge(&reconciler, &thief).await;
    assert!(!report.is_ready());
    assert_eq!(condition(&report, "QueueReady"), ("False", "NameConflict"));
    assert_eq!(
        condition(&report, "DeadLetterQueueReady"),
        ("False", "NameConflict")
    );
    assert_eq!(condition(&report, "KeyReady").1, "Blocked");
    assert_eq!(condition(&report, "Ready").1, "NameConflict");
    assert!(report.needs_a_person());
    assert_eq!(report.calls.writes(), 0, "{:?}", report.calls);
    assert!(keys_of(&kms, &thief_ns).await.is_empty());
    let message = &report.conditions[2].message;
    assert!(
        message.contains(&owner_ns) && message.contains(&shared),
        "{message}"
    );

    let url = queue_url(&sqs, &shared).await.unwrap();
    assert_eq!(
        queue_tags(&sqs, &url).await["securequeue.io/namespace"],
        owner_ns
    );
    assert_ready(&converge(&reconciler, &owner).await, "Converged");
}

#[tokio::test]
async fn a_queue_without_owner_tags_is_never_adopted() {
    let reconciler = reconciler().await;
    let (kms, sqs) = raw().await;
    let namespace = unique_namespace("untagged");
    let name = format!("{namespace}-handmade");
    sqs.create_queue().queue_name(&name).send().await.unwrap();
    let queue = secure_queue(&namespace, &format!("  queueName: {name}\n"));
    let report = converge(&reconciler, &queue).await;
    assert_eq!(condition(&report, "QueueReady"), ("False", "NameConflict"));
    assert!(report.conditions[2].message.contains("never adopts"));
    assert_eq!(report.calls.writes(), 0);
    assert!(keys_of(&kms, &namespace).await.is_empty());
    let url = queue_url(&sqs, &name).await.unwrap();
    assert!(queue_tags(&sqs, &url).await.is_empty());
}

#[tokio::test]
async fn a_new_queue_whose_policy_sqs_has_not_applied_yet_is_tagged_by_the_next_pass() {
    let reconciler = reconciler().await;
    let (_, sqs) = raw().await;
    let namespace = unique_namespace("propagating");
    let queue = secure_queue(&namespace, "");
    let plan = plan::build(&queue, &env()).unwrap();
    // SQS refuses the tagging right after CreateQueue, as it does until the new policy applies.
    inject_fault("TagQueue", "AccessDenied", 400, 1, &namespace);
    let first = converge(&reconciler, &queue).await;
    assert_eq!(
        condition(&first, "DeadLetterQueueReady"),
        ("False", "QueuePolicyPropagating")
    );
    assert!(!first.needs_a_person(), "{first:#?}");
    let url = queue_url(&sqs, &plan.dead_letter_queue.name).await.unwrap();
    assert!(queue_tags(&sqs, &url).await.is_empty());
    // The next pass knows the untagged queue as ours by its policy's Id, and tags it.
    let second = converge(&reconciler, &queue).await;
    assert_ready(&second, "DriftCorrected");
    assert!(
        second.conditions[1].message.contains("tagged it"),
        "{second:#?}"
    );
    assert_eq!(queue_tags(&sqs, &url).await, *plan.dead_letter_queue.tags);
}

#[tokio::test]
async fn an_untagged_queue_whose_policy_names_another_secure_queue_is_refused() {
    let reconciler = reconciler().await;
    let (kms, sqs) = raw().await;
    let namespace = unique_namespace("marked");
    let queue = secure_queue(&namespace, "");
    let plan = plan::build(&queue, &env()).unwrap();
    let ours = plan.dead_letter_queue.attributes.policy.as_json();
    let theirs = ours.replace(&format!("/{namespace}/"), &format!("/{namespace}-other/"));
    assert_ne!(theirs.as_str(), ours);
    sqs.create_queue()
        .queue_name(&plan.dead_letter_queue.name)
        .attributes(QueueAttributeName::Policy, theirs)
        .send()
        .await
        .unwrap();
    let report = converge(&reconciler, &queue).await;
    assert_eq!(
        condition(&report, "DeadLetterQueueReady"),
        ("False", "NameConflict")
    );
    assert!(
        report.conditions[1]
            .message
            .contains("belongs to SecureQueue")
    );
    assert_eq!(report.calls.writes(), 0);
    assert!(keys_of(&kms, &namespace).await.is_empty());
}

#[tokio::test]
async fn an_alias_on_a_stranger_key_is_refused_and_nothing_changes() {
    let reconciler = reconciler().await;
    let (kms, _) = raw().await;
    let namespace = unique_namespace("alias-taken");
    let alias = format!("alias/{namespace}");
    let stranger = kms.create_key().send().await.unwrap();
    let stranger_id = stranger.key_metadata().unwrap().key_id().to_string();
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(&stranger_id)
        .send()
        .await
        .unwrap();
    let queue = secure_queue(&namespace, &format!("  key: {{alias: {alias}}}\n"));
    let report = converge(&reconciler, &queue).await;
    assert_eq!(condition(&report, "KeyReady"), ("False", "NameConflict"));
    assert!(report.conditions[0].message.contains("spec.key.alias"));
    assert_eq!(report.calls.writes(), 0);
    assert_eq!(alias_target(&kms, &alias).await, Some(stranger_id));
}

#[tokio::test]
async fn a_recreated_secure_queue_adopts_its_resources_and_updates_the_uid() {
    let reconciler = reconciler().await;
    let (kms, sqs) = raw().await;
    let namespace = unique_namespace("recreated");
    let mut first = secure_queue(&namespace, "");
    first.metadata.uid = Some("uid-1".into());
    assert_ready(&converge(&reconciler, &first).await, "Created");

    let mut second = secure_queue(&namespace, "");
    second.metadata.uid = Some("uid-2".into());
    let report = converge(&reconciler, &second).await;
    assert_ready(&report, "DriftCorrected");
    assert_eq!(report.calls.0.get("kms:CreateKey"), None);
    assert_eq!(report.calls.0.get("sqs:CreateQueue"), None);
    let plan = plan::build(&second, &env()).unwrap();
    let url = queue_url(&sqs, &plan.queue.name).await.unwrap();
    assert_eq!(queue_tags(&sqs, &url).await[TAG_UID], "uid-2");
    assert_eq!(keys_of(&kms, &namespace).await.len(), 1);
}

#[tokio::test]
async fn renaming_the_queue_is_refused_before_any_call() {
    let reconciler = reconciler().await;
    let mut queue = secure_queue(&unique_namespace("rename"), "  queueName: new-name\n");
    queue.status = Some(SecureQueueStatus {
        queue_name: Some("old-name".into()),
        ..Default::default()
    });
    let report = converge(&reconciler, &queue).await;
    assert_eq!(
        condition(&report, "Ready"),
        ("False", "ImmutableFieldChanged")
    );
    assert!(report.conditions[0].message.contains("old-name"));
    assert_eq!(report.calls.total(), 0);
}

#[tokio::test]
async fn an_invalid_spec_is_refused_before_any_call() {
    let reconciler = reconciler().await;
    let queue = secure_queue(
        &unique_namespace("invalid"),
        "  queue: {delaySeconds: 9000}\n",
    );
    let report = reconciler.converge(&queue, &CallLog::default()).await;
    assert_eq!(condition(&report, "Ready"), ("False", "InvalidSpec"));
    assert!(
        report.conditions[0]
            .message
            .contains("spec.queue.delaySeconds")
    );
    assert_eq!(report.calls.total(), 0);
}

#[tokio::test]
async fn messages_arriving_in_the_dead_letter_queue_are_reported() {
    let reconciler = reconciler().await;
    let (_, sqs) = raw().await;
    let queue = secure_queue(&unique_namespace("dlq-depth"), "");
    let plan = plan::build(&queue, &env()).unwrap();
    let first = converge(&reconciler, &queue).await;
    assert_eq!(first.learned.dead_letter_queue_messages, Some(0));
    let url = queue_url(&sqs, &plan.dead_letter_queue.name).await.unwrap();
    for body in ["failed once", "failed twice"] {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let report = converge(&reconciler, &queue).await;
    assert_ready(&report, "Converged");
    assert_eq!(report.learned.dead_letter_queue_messages, Some(2));
    assert_eq!(
        condition(&report, "DeadLetterQueueReady"),
        ("True", "MessagesInDeadLetterQueue")
    );
    assert!(report.conditions[1].message.contains("2 messages"));
    assert_eq!(report.calls.writes(), 0);
}

#[tokio::test]
async fn steady_passes_make_at_most_six_reads_and_no_writes() {
    let reconciler = reconciler().await;
    let queue = secure_queue(&unique_namespace("steady"), "  tags: {team: a}\n");
    assert_ready(&converge(&reconciler, &queue).await, "Created");
    for pass in 2..=7 {
        let report = converge(&reconciler, &queue).await;
        assert_ready(&report, "Converged");
        assert_eq!(report.calls.writes(), 0, "pass {pass}: {:?}", report.calls);
        assert!(
            report.calls.reads() <= 6,
            "pass {pass}: {} reads: {:?}",
            report.calls.reads(),
            report.calls
        );
        // One resource's tags are read per pass, the rest come from memory; nothing that
        // decides access does.
        let calls = &report.calls.0;
        let tag_reads = calls.get("kms:ListResourceTags").unwrap_or(&0)
            + calls.get("sqs:ListQueueTags").unwrap_or(&0);
        assert_eq!(tag_reads, 1, "pass {pass}: {calls:?}");
        for read in [
            "kms:DescribeKey",
            "kms:GetKeyPolicy",
            "kms:GetKeyRotationStatus",
        ] {
            assert_eq!(calls.get(read), Some(&1), "pass {pass}: {calls:?}");
        }
        assert_eq!(calls.get("sqs:GetQueueAttributes"), Some(&2), "{calls:?}");
        assert_eq!(calls.get("sqs:GetQueueUrl"), None, "{calls:?}");
    }
    // A new process remembers nothing and looks at everything.
    let cold = converge(&emulator::reconciler().await, &queue).await;
    assert_ready(&cold, "Converged");
    assert_eq!(cold.calls.reads(), 10, "{:?}", cold.calls);
}

#[tokio::test]
async fn tag_drift_on_any_resource_is_found_within_three_passes() {
    let reconciler = reconciler().await;
    let (kms, sqs) = raw().await;
    let queue = secure_queue(&unique_namespace("tagturn"), "  tags: {team: a}\n");
    let plan = plan::build(&queue, &env()).unwrap();
    assert_ready(&converge(&reconciler, &queue).await, "Created");
    assert_ready(&converge(&reconciler, &queue).await, "Converged");

    let key_id = alias_target(&kms, &plan.key.alias).await.unwrap();
    kms.tag_resource()
        .key_id(&key_id)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("team")
                .tag_value("b")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    for name in [&plan.dead_letter_queue.name, &plan.queue.name] {
        let url = queue_url(&sqs, name).await.unwrap();
        sqs.tag_queue()
            .queue_url(url)
            .tags("team", "b")
            .send()
            .await
            .unwrap();
    }
    let mut corrected = Vec::new();
    for _ in 0..3 {
        let report = converge(&reconciler, &queue).await;
        assert!(report.is_ready(), "{:?}", report.conditions);
        corrected.extend(report.corrections.iter().map(ToString::to_string));
    }
    corrected.sort();
    assert_eq!(
        corrected,
        [
            "DeadLetterQueueReady: restored the tags team",
            "KeyReady: restored the tags team",
            "QueueReady: restored the tags team",
        ]
    );
}

#[tokio::test]
async fn a_queue_deleted_behind_the_operators_back_is_created_again_on_the_next_pass() {
    let reconciler = reconciler().await;
    let (_, sqs) = raw().await;
    let queue = secure_queue(&unique_namespace("gone"), "");
    let plan = plan::build(&queue, &env()).unwrap();
    assert_ready(&converge(&reconciler, &queue).await, "Created");
    assert_ready(&converge(&reconciler, &queue).await, "Converged");
    let url = queue_url(&sqs, &plan.queue.name).await.unwrap();
    sqs.delete_queue().queue_url(url).send().await.unwrap();

    let report = converge(&reconciler, &queue).await;
    assert!(report.is_ready(), "{:?}", report.conditions);
    assert_eq!(condition(&report, "QueueReady").1, "Created");
    assert_eq!(report.calls.0.get("sqs:CreateQueue"), Some(&1));
}

#[tokio::test]
async fn a_queue_replaced_by_a_strangers_is_not_taken_for_the_remembered_one() {
    let reconciler = reconciler().await;
    let (_, sqs) = raw().await;
    let queue = secure_queue(&unique_namespace("swapped"), "");
    let plan = plan::build(&queue, &env()).unwrap();
    assert_ready(&converge(&reconciler, &queue).await, "Created");
    // Two more passes: every tag set is read once after creation, and the queues are known by
    // the CreatedTimestamp SQS reported.
    for _ in 0..3 {
        assert_ready(&converge(&reconciler, &queue).await, "Converged");
    }
    let url = queue_url(&sqs, &plan.queue.name).await.unwrap();
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
    // A replacement is younger than the original by at least a second (SQS: 60 seconds).
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    sqs.create_queue()
        .queue_name(&plan.queue.name)
        .tags("owner", "someone-else")
        .send()
        .await
        .unwrap();

    let report = converge(&reconciler, &queue).await;
    assert_eq!(condition(&report, "QueueReady"), ("False", "NameConflict"));
    assert_eq!(report.calls.writes(), 0, "{:?}", report.calls);
    assert_eq!(
        queue_tags(&sqs, &url)
            .await
            .get("owner")
            .map(String::as_str),
        Some("someone-else")
    );
}

#[tokio::test]
async fn a_fresh_converge_counts_its_empty_lookups_as_not_found_not_as_errors() {
    let reconciler = reconciler().await;
    let queue = secure_queue(&unique_namespace("lookups"), "");
    let log = CallLog::default();
    let report = reconciler.converge(&queue, &log).await;
    assert_ready(&report, "Created");
    let not_found = log.not_found();
    for lookup in ["kms:DescribeKey", "sqs:GetQueueUrl"] {
        assert!(
            not_found.0.get(lookup).is_some_and(|n| *n > 0),
            "{lookup} is not counted as not found: {not_found:?}"
        );
    }
    assert_eq!(log.failures().total(), 0, "{:?}", log.failures());
}
