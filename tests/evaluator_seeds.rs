//! The evaluator on the examples of the AWS guidance (seeds 002 and 004): accounts granted
//! access, time and IP conditions, a Deny that overrides an Allow, and default deny.

use securequeue::iam::{Effect, Principal, Request, evaluate};
use serde_json::json;

const QUEUE2: &str = "arn:aws:sqs:us-east-2:444455556666:queue2";

fn from(account: &str, action: &str) -> Request {
    Request::new(
        Principal::Aws(format!("arn:aws:iam::{account}:user/bob")),
        action,
        QUEUE2,
    )
}

/// Seed 004, "Example 2: Give permission to one or more accounts", limited in time.
#[test]
fn accounts_are_granted_until_the_cutoff() {
    let policy = json!({"Version": "2012-10-17", "Id": "UseCase2", "Statement": [{
        "Sid": "1", "Effect": "Allow",
        "Principal": {"AWS": ["111122223333", "444455556666"]},
        "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"],
        "Resource": QUEUE2,
        "Condition": {"DateLessThan": {"AWS:CurrentTime": "2009-06-30T12:00Z"}}}]});
    let before =
        from("111122223333", "sqs:SendMessage").with("aws:CurrentTime", "2009-06-01T10:00:00Z");
    assert_eq!(evaluate(&policy, &before).unwrap().effect, Effect::Allowed);
    let after =
        from("111122223333", "sqs:SendMessage").with("aws:CurrentTime", "2009-07-01T10:00:00Z");
    assert_eq!(
        evaluate(&policy, &after).unwrap().effect,
        Effect::ImplicitDeny,
        "an unmet condition is a default deny"
    );
    let stranger =
        from("999988887777", "sqs:SendMessage").with("aws:CurrentTime", "2009-06-01T10:00:00Z");
    assert_eq!(
        evaluate(&policy, &stranger).unwrap().effect,
        Effect::ImplicitDeny
    );
    let other_action =
        from("111122223333", "sqs:DeleteQueue").with("aws:CurrentTime", "2009-06-01T10:00:00Z");
    assert_eq!(
        evaluate(&policy, &other_action).unwrap().effect,
        Effect::ImplicitDeny
    );
}

/// Seed 004, "Example 3: Give permission to requests from Amazon EC2 instances": both
/// conditions must hold.
#[test]
fn time_and_ip_conditions_are_anded() {
    let policy = json!({"Version": "2012-10-17", "Id": "UseCase3", "Statement": [{
        "Sid": "1", "Effect": "Allow", "Principal": {"AWS": ["111122223333"]},
        "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"], "Resource": QUEUE2,
        "Condition": {"DateLessThan": {"AWS:CurrentTime": "2009-06-30T12:00Z"},
                      "IpAddress": {"AWS:SourceIp": "203.0.113.0/24"}}}]});
    let request = |ip: &str, time: &str| {
        from("111122223333", "sqs:ReceiveMessage")
            .with("aws:SourceIp", ip)
            .with("aws:CurrentTime", time)
    };
    assert_eq!(
        evaluate(&policy, &request("203.0.113.9", "2009-06-01T00:00:00Z"))
            .unwrap()
            .effect,
        Effect::Allowed
    );
    assert_eq!(
        evaluate(&policy, &request("198.51.100.9", "2009-06-01T00:00:00Z"))
            .unwrap()
            .effect,
        Effect::ImplicitDeny
    );
    assert_eq!(
        evaluate(&policy, &request("203.0.113.9", "2010-06-01T00:00:00Z"))
            .unwrap()
            .effect,
        Effect::ImplicitDeny
    );
}

/// Seed 004, "Example 4: Deny access to a specific account", with Example 1's grant: the
/// explicit deny overrides the allow.
#[test]
fn an_explicit_deny_overrides_an_allow() {
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Queue1_AllActions", "Effect": "Allow", "Principal": {"AWS": ["111122223333"]}, "Action": "sqs:*", "Resource": QUEUE2},
        {"Sid": "1", "Effect": "Deny", "Principal": {"AWS": ["111122223333"]}, "Action": "sqs:*", "Resource": QUEUE2}]});
    let decision = evaluate(&policy, &from("111122223333", "sqs:SendMessage")).unwrap();
    assert_eq!(decision.effect, Effect::ExplicitDeny);
    assert_eq!(decision.allowed_by, ["Queue1_AllActions"]);
    assert_eq!(decision.denied_by, ["1"]);
}

/// Seed 002: Bob's queues, named by a wildcard over regions and a name prefix; a Deny for Bob
/// on every action overrides what any Allow gives him.
#[test]
fn wildcard_resources_and_denying_bob() {
    let bob = "arn:aws:iam::123456789012:user/Bob";
    let policy = json!({"Statement": [
        {"Sid": "BobsQueues", "Effect": "Allow", "Principal": {"AWS": bob}, "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:*:123456789012:bob_*"},
        {"Sid": "NoBobOnXyz", "Effect": "Deny", "Principal": {"AWS": bob}, "Action": "sqs:*", "Resource": "arn:aws:sqs:us-east-1:123456789012:bob_xyz"}]});
    let send = |queue: &str| Request::new(Principal::Aws(bob.into()), "sqs:SendMessage", queue);
    assert_eq!(
        evaluate(
            &policy,
            &send("arn:aws:sqs:eu-west-1:123456789012:bob_orders")
        )
        .unwrap()
        .effect,
        Effect::Allowed
    );
    assert_eq!(
        evaluate(
            &policy,
            &send("arn:aws:sqs:eu-west-1:123456789012:alice_orders")
        )
        .unwrap()
        .effect,
        Effect::ImplicitDeny
    );
    assert_eq!(
        evaluate(&policy, &send("arn:aws:sqs:us-east-1:123456789012:bob_xyz"))
            .unwrap()
            .effect,
        Effect::ExplicitDeny
    );
}
