//! The operator with the chart's web-identity environment and no other credentials takes the
//! role the token is exchanged for: the SDK's default chain reads AWS_ROLE_ARN and
//! AWS_WEB_IDENTITY_TOKEN_FILE, calls sts:AssumeRoleWithWebIdentity at the emulator (through the
//! chart's AWS_ENDPOINT_URL_STS, as its own STS client does not see --endpoint-url), and the key
//! it makes names that role as its administrator.

mod common;
mod emulator;

use common::helm::{rendered, the};
use emulator::*;

const IRSA_ROLE: &str = "arn:aws:iam::111122223333:role/securequeue-irsa";
const TOKEN_DIR: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount";

/// The operator container's environment with literal values, as the chart renders it with
/// web identity, `aws.endpointUrl` at the emulator and `aws.region`.
fn chart_environment() -> Vec<(String, String)> {
    let docs = rendered(&[
        &format!("aws.webIdentity.roleArn={IRSA_ROLE}"),
        &format!("aws.endpointUrl={}", endpoint()),
        &format!("aws.region={REGION}"),
    ]);
    let container = &the(&docs, "Deployment")["spec"]["template"]["spec"]["containers"][0];
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// A token as the projected volume holds one: a JWT (header {"alg":"RS256"}, no claims), which
/// the emulator takes without checking its signature.
const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl";

#[tokio::test]
async fn the_operator_takes_the_role_of_the_charts_web_identity() {
    let environment = chart_environment();
    let names: Vec<&str> = environment.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ENDPOINT_URL_STS",
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }

    // The token where the pod's projected volume would put it, in a directory of this test.
    let dir = common::repo_path(&format!("target/web-identity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("token"), TOKEN).unwrap();

    let namespace = unique_namespace("webid");
    // The pod's name, which Kubernetes substitutes for $(POD_NAME): the session's name.
    let pod = format!("securequeue-{namespace}");
    let manifest = format!(
        "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata:\n  name: q\n  namespace: {namespace}\nspec:\n  consumerRoleArns: [{CONSUMER_ROLE}]\n"
    );
    let mut command = common::cli::command(&[
        "apply",
        "-f",
        "-",
        "--endpoint-url",
        &endpoint(),
        "--region",
        REGION,
    ]);
    // No other credentials and no endpoint but the chart's: what the pod has.
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ] {
        command.env_remove(name);
    }
    command
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"));
    for (name, value) in &environment {
        let value = match name.as_str() {
            "AWS_WEB_IDENTITY_TOKEN_FILE" => {
                let file = value
                    .strip_prefix(TOKEN_DIR)
                    .expect("the token is in the mounted directory");
                format!("{}{file}", dir.display())
            }
            _ => value.replace("$(POD_NAME)", &pod),
        };
        command.env(name, value);
    }
    let out = common::cli::output(&mut command, Some(&manifest));
    let stderr = common::cli::text(&out.stderr);
    assert!(
        out.status.success(),
        "{}\n{stderr}",
        common::cli::text(&out.stdout)
    );

    // The token was exchanged for the chart's role, in a session named after the pod, and
    // every request for the SecureQueue was signed with the credentials it gave, none with the
    // emulator's static ones: the emulator names that session for each.
    let exchanges = recorded_touching(&pod);
    assert_eq!(exchanges.len(), 1, "{exchanges:#?}");
    assert_eq!(exchanges[0].call, "sts:AssumeRoleWithWebIdentity");
    let requests: Vec<_> = recorded_touching(&namespace)
        .into_iter()
        .filter(|r| !r.call.starts_with("sts:"))
        .collect();
    assert!(
        requests.iter().any(|r| r.call == "kms:CreateKey"),
        "{requests:#?}"
    );
    for request in &requests {
        assert!(
            !["testing", ""].contains(&request.access_key.as_str()),
            "{request:?}"
        );
        assert_eq!(request.session, pod, "{request:?}");
    }
    // The key's policy names the assumed role as its operator.
    let (kms, _) = raw().await;
    let keys = keys_of(&kms, &namespace).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let policy = key_policy(&kms, &keys[0].0).await;
    assert!(policy.contains(IRSA_ROLE), "{policy}");
    assert!(!policy.contains(common::OPERATOR_ROLE), "{policy}");
    std::fs::remove_dir_all(&dir).unwrap();
}
