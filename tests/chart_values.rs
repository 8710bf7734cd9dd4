//! What the chart's values render, as `helm template` renders it: web-identity credentials as
//! EKS's pod identity webhook injects them, the image pinned by digest, AWS account ids however
//! helm reads them, and the NetworkPolicy; each refused with a message that says what to do where
//! it is wrong. The last test has the test cluster's API server validate every object the chart
//! renders with all of them on (a server-side dry run).

mod common;

use common::helm::{documents, helm, rendered, template, the, try_template};
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::111122223333:role/securequeue-irsa";
const TOKEN_DIR: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The pod template's spec of the rendered Deployment.
fn pod(documents: &[Value]) -> &Value {
    &the(documents, "Deployment")["spec"]["template"]["spec"]
}

/// The operator's container.
fn container(documents: &[Value]) -> &Value {
    let containers = pod(documents)["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "{containers:#?}");
    &containers[0]
}

/// The container's environment variables' names, in order.
fn env_names(documents: &[Value]) -> Vec<String> {
    container(documents)["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

/// The value of the container's environment variable `name`.
fn env<'a>(documents: &'a [Value], name: &str) -> &'a Value {
    let found = container(documents)["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name);
    &found.unwrap_or_else(|| panic!("no {name} in {:#?}", container(documents)))["value"]
}

/// The container's args.
fn args(documents: &[Value]) -> Vec<String> {
    container(documents)["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// helm's refusal of `args`, which must refuse.
fn refusal(args: &[&str]) -> String {
    match try_template(args) {
        Ok(text) => panic!("helm rendered {args:?}:\n{text}"),
        Err(error) => error,
    }
}

/// A values file in the target directory, for what `--set` cannot say (unquoted numbers).
fn values_file(name: &str, text: &str) -> String {
    let path = common::repo_path(&format!("target/chart-values-{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn web_identity_renders_the_token_and_variables_eks_injects() {
    let docs = rendered(&[
        &format!("aws.webIdentity.roleArn={ROLE}"),
        "aws.region=eu-west-1",
    ]);
    let pod = pod(&docs);
    let container = container(&docs);

    // The projected token: audience sts.amazonaws.com, a day, in the file `token`.
    let volumes = pod["volumes"].as_array().unwrap();
    assert_eq!(volumes.len(), 1, "{volumes:#?}");
    assert_eq!(volumes[0]["name"], "aws-iam-token");
    assert_eq!(
        volumes[0]["projected"]["sources"],
        json!([{"serviceAccountToken": {
            "audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}}])
    );
    // Mounted read-only where EKS mounts it, and the variables name that file and the role.
    assert_eq!(
        container["volumeMounts"],
        json!([{"name": "aws-iam-token", "mountPath": TOKEN_DIR, "readOnly": true}])
    );
    assert_eq!(
        env(&docs, "AWS_WEB_IDENTITY_TOKEN_FILE"),
        &json!(format!("{TOKEN_DIR}/token"))
    );
    assert_eq!(env(&docs, "AWS_ROLE_ARN"), &json!(ROLE));
    // The session is named after the pod, which Kubernetes substitutes from POD_NAME: defined
    // earlier in the list, as `$(VAR)` needs.
    assert_eq!(env(&docs, "AWS_ROLE_SESSION_NAME"), &json!("$(POD_NAME)"));
    let names = env_names(&docs);
    let position = |name: &str| names.iter().position(|n| n == name).unwrap();
    assert!(position("POD_NAME") < position("AWS_ROLE_SESSION_NAME"));
    // No emulator: the exchange goes to AWS's STS.
    assert!(!names.contains(&"AWS_ENDPOINT_URL_STS".to_string()));

    // The pod is as restricted as without the volume.
    let plain = rendered(&[]);
    assert_eq!(
        container["securityContext"],
        self::container(&plain)["securityContext"]
    );
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"], self::pod(&plain)["securityContext"]);
}

#[test]
fn web_identity_takes_another_audience_and_lifetime_and_an_emulators_sts() {
    let docs = rendered(&[
        &format!("aws.webIdentity.roleArn={ROLE}"),
        "aws.webIdentity.audience=https://oidc.example.com",
        "aws.webIdentity.expirationSeconds=3600",
        "aws.region=us-east-1",
        "aws.endpointUrl=http://10.1.2.3:5000",
    ]);
    assert_eq!(
        pod(&docs)["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"],
        json!({"audience": "https://oidc.example.com", "expirationSeconds": 3600, "path": "token"})
    );
    // The SDK's token exchange does not see --endpoint-url; this variable takes it there.
    assert_eq!(
        env(&docs, "AWS_ENDPOINT_URL_STS"),
        &json!("http://10.1.2.3:5000")
    );
    assert!(args(&docs).contains(&"--endpoint-url=http://10.1.2.3:5000".to_string()));
}

#[test]
fn without_web_identity_nothing_of_it_is_rendered() {
    for values in [&[][..], &["aws.endpointUrl=http://10.1.2.3:5000"][..]] {
        let docs = rendered(values);
        let pod = pod(&docs);
        assert!(pod.get("volumes").is_none(), "{values:?}: {pod:#?}");
        assert!(container(&docs).get("volumeMounts").is_none(), "{values:?}");
        let names = env_names(&docs);
        assert_eq!(
            names,
            [
                "POD_NAME",
                "POD_NAMESPACE",
                "RUST_LOG",
                "AWS_EC2_METADATA_DISABLED"
            ],
            "{values:?}"
        );
        let text = serde_json::to_string(&docs).unwrap();
        for absent in [
            "aws-iam-token",
            "eks.amazonaws.com/serviceaccount",
            "AWS_ROLE",
        ] {
            assert!(!text.contains(absent), "{values:?}: {absent}");
        }
    }
}

#[test]
fn web_identity_without_a_region_is_refused_with_the_reason() {
    let error = refusal(&["--set", &format!("aws.webIdentity.roleArn={ROLE}")]);
    assert!(
        error.contains("aws.webIdentity.roleArn needs aws.region"),
        "{error}"
    );
}

#[test]
fn the_schema_refuses_bad_web_identity_values() {
    let role = format!("aws.webIdentity.roleArn={ROLE}");
    for (bad, field) in [
        (
            "aws.webIdentity.roleArn=arn:aws:iam::1111:role/x",
            "roleArn",
        ),
        ("aws.webIdentity.expirationSeconds=599", "expirationSeconds"),
        ("aws.webIdentity.audience=", "audience"),
        ("aws.webIdentity.tokenPath=/x", "tokenPath"),
    ] {
        let error = refusal(&[
            "--set",
            &role,
            "--set",
            "aws.region=eu-west-1",
            "--set",
            bad,
        ]);
        assert!(error.contains("schema"), "{bad}: {error}");
        assert!(error.contains(field), "{bad}: {error}");
    }
}

#[test]
fn a_digest_pins_the_image() {
    let image = |values: &[&str]| container(&rendered(values))["image"].clone();
    assert_eq!(image(&[]), "ghcr.io/securequeue/securequeue:0.1.0");
    assert_eq!(
        image(&["image.tag=0.2.0"]),
        "ghcr.io/securequeue/securequeue:0.2.0"
    );
    let digest = format!("image.digest={DIGEST}");
    assert_eq!(
        image(&[&digest]),
        json!(format!("ghcr.io/securequeue/securequeue@{DIGEST}"))
    );
    // The digest wins over a tag, which could move.
    assert_eq!(
        image(&[&digest, "image.tag=0.2.0"]),
        json!(format!("ghcr.io/securequeue/securequeue@{DIGEST}"))
    );
    for bad in [
        "sha256:0123",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
        "latest",
    ] {
        let error = refusal(&["--set", &format!("image.digest={bad}")]);
        assert!(error.contains("image.digest"), "{bad}: {error}");
    }
}

#[test]
fn an_account_id_works_with_set_and_set_string_and_keeps_its_zeros() {
    let account_arg = |flag: &str, id: &str| -> Option<String> {
        let docs = documents(&template(&[flag, &format!("aws.accountId={id}")]));
        args(&docs)
            .into_iter()
            .find_map(|a| a.strip_prefix("--account-id=").map(str::to_string))
    };
    for id in ["111122223333", "012345678901", "000000000001"] {
        // helm's --set reads 111122223333 as a number and 012345678901 as a string.
        assert_eq!(account_arg("--set", id).as_deref(), Some(id), "--set {id}");
        assert_eq!(account_arg("--set-string", id).as_deref(), Some(id));
    }
    assert_eq!(account_arg("--set-string", ""), None);

    let ids = args(&rendered(&[
        "guardrails.allowedAccountIds={444455556666,012345678901}",
    ]));
    assert!(
        ids.contains(&"--allowed-account-ids=444455556666,012345678901".to_string()),
        "{ids:?}"
    );
}

#[test]
fn an_unquoted_account_id_in_a_values_file_is_written_out_whole() {
    // YAML reads these as numbers (float64 in helm), which Go templates would print as
    // 1.11122223333e+11.
    let file = values_file(
        "unquoted",
        "aws: {accountId: 111122223333}\n\
         guardrails: {allowedAccountIds: [444455556666]}\n\
         accounts:\n\
         - {name: payments, accountId: 222233334444, roleArn: 'arn:aws:iam::222233334444:role/t'}\n",
    );
    let docs = documents(&template(&["-f", &file]));
    let args = args(&docs);
    assert!(
        args.contains(&"--account-id=111122223333".to_string()),
        "{args:?}"
    );
    assert!(args.contains(&"--allowed-account-ids=444455556666".to_string()));
    assert_eq!(
        the(&docs, "SecureQueueAccount")["spec"]["accountId"],
        "222233334444"
    );
}

#[test]
fn an_account_id_that_lost_its_zeros_is_refused_naming_set_string() {
    // Unquoted with a leading 0 YAML reads octal (011122223333 is 1229530843) or a shorter
    // decimal; as a --set number it is short. Padding it would name another account.
    let octal = values_file("octal", "aws: {accountId: 011122223333}\n");
    let decimal = values_file("decimal", "aws: {accountId: 091122223333}\n");
    let account = values_file(
        "account",
        "accounts:\n- {name: p, accountId: 022233334444, roleArn: 'arn:aws:iam::022233334444:role/t'}\n",
    );
    for (args, field) in [
        (vec!["-f", &octal], "aws.accountId"),
        (vec!["-f", &decimal], "aws.accountId"),
        (vec!["--set", "aws.accountId=12345"], "aws.accountId"),
        (vec!["--set", "aws.accountId=0"], "aws.accountId"),
        (
            vec!["--set", "guardrails.allowedAccountIds={44445555}"],
            "guardrails.allowedAccountIds[0]",
        ),
        (vec!["-f", &account], "accounts[0].accountId"),
    ] {
        let error = refusal(&args);
        assert!(
            error.contains(&format!("{field}: "))
                && error.contains("is not a 12-digit AWS account id"),
            "{args:?}: {error}"
        );
        assert!(error.contains("--set-string"), "{args:?}: {error}");
    }
    // A string is the schema's to check.
    let error = refusal(&["--set-string", "aws.accountId=12345"]);
    assert!(error.contains("aws.accountId"), "{error}");
}

/// The NetworkPolicy rendered with `values` (and networkPolicy.enabled).
fn network_policy(values: &[&str]) -> (Value, Vec<Value>) {
    let mut all = vec!["networkPolicy.enabled=true"];
    all.extend_from_slice(values);
    let docs = rendered(&all);
    (the(&docs, "NetworkPolicy").clone(), docs)
}

/// A rule's ports, as (protocol, port).
fn ports(rule: &Value) -> Vec<(String, u64)> {
    rule["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["protocol"].as_str().unwrap().to_string(),
                p["port"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A rule's ipBlock CIDRs.
fn cidrs(rule: &Value) -> Vec<&str> {
    rule["to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|peer| {
            assert_eq!(peer.as_object().unwrap().len(), 1, "{peer}");
            peer["ipBlock"]["cidr"].as_str().unwrap()
        })
        .collect()
}

/// TCP `ports`, as [`ports`] lists them.
fn tcp(ports: &[u64]) -> Vec<(String, u64)> {
    ports.iter().map(|p| ("TCP".to_string(), *p)).collect()
}

#[test]
fn no_network_policy_unless_enabled() {
    let docs = rendered(&[]);
    assert!(docs.iter().all(|d| d["kind"] != "NetworkPolicy"));
}

#[test]
fn the_network_policy_allows_the_api_server_aws_dns_and_the_metrics_port_only() {
    let (policy, docs) = network_policy(&["networkPolicy.apiServer.cidrs={10.96.0.1/32}"]);
    let spec = &policy["spec"];
    assert_eq!(policy["metadata"]["namespace"], "securequeue-system");
    // It selects the operator's pods.
    let labels = &the(&docs, "Deployment")["spec"]["template"]["metadata"]["labels"];
    for (key, value) in spec["podSelector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&labels[key], value, "{key}");
    }
    assert_eq!(spec["policyTypes"], json!(["Ingress", "Egress"]));

    // In: the metrics port, from anywhere by default.
    let ingress = spec["ingress"].as_array().unwrap();
    assert_eq!(ingress.len(), 1, "{ingress:#?}");
    assert_eq!(ports(&ingress[0]), tcp(&[8080]));
    assert!(ingress[0].get("from").is_none());
    assert_eq!(container(&docs)["ports"][0]["containerPort"], 8080);

    // Out: the API server, AWS over HTTPS anywhere, DNS; nothing else.
    let egress = spec["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 3, "{egress:#?}");
    assert_eq!(cidrs(&egress[0]), ["10.96.0.1/32"]);
    assert_eq!(ports(&egress[0]), tcp(&[443, 6443]));
    assert_eq!(cidrs(&egress[1]), ["0.0.0.0/0", "::/0"]);
    assert_eq!(ports(&egress[1]), tcp(&[443]));
    assert!(egress[2].get("to").is_none());
    assert_eq!(
        ports(&egress[2]),
        [("UDP".to_string(), 53), ("TCP".to_string(), 53)]
    );
}

#[test]
fn the_network_policys_peers_cidrs_and_ports_are_configurable() {
    let (policy, _) = network_policy(&[
        "networkPolicy.apiServer.cidrs={172.20.0.10/32,172.20.1.10/32}",
        "networkPolicy.apiServer.ports={6443}",
        "networkPolicy.aws.cidrs={10.0.0.0/16}",
        "networkPolicy.aws.ports={443,5000}",
        "networkPolicy.dns.to[0].podSelector.matchLabels.k8s-app=kube-dns",
        "networkPolicy.metrics.from[0].namespaceSelector.matchLabels.name=monitoring",
        "metrics.port=9090",
    ]);
    let spec = &policy["spec"];
    assert_eq!(ports(&spec["ingress"][0]), tcp(&[9090]));
    assert_eq!(
        spec["ingress"][0]["from"],
        json!([{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}])
    );
    let egress = spec["egress"].as_array().unwrap();
    assert_eq!(cidrs(&egress[0]), ["172.20.0.10/32", "172.20.1.10/32"]);
    assert_eq!(ports(&egress[0]), tcp(&[6443]));
    assert_eq!(cidrs(&egress[1]), ["10.0.0.0/16"]);
    assert_eq!(ports(&egress[1]), tcp(&[443, 5000]));
    assert_eq!(
        egress[2]["to"],
        json!([{"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}])
    );
}

#[test]
fn a_network_policy_without_the_api_servers_addresses_is_refused() {
    let error = refusal(&["--set", "networkPolicy.enabled=true"]);
    assert!(error.contains("networkPolicy.apiServer.cidrs"), "{error}");
    assert!(
        error.contains("kubectl get endpoints kubernetes"),
        "{error}"
    );
    let api = "networkPolicy.apiServer.cidrs={10.96.0.1/32}";
    for bad in [
        "networkPolicy.apiServer.cidrs={10.96.0.1}",
        "networkPolicy.aws.cidrs={any}",
        "networkPolicy.aws.ports={0}",
        "networkPolicy.apiServer.ports={70000}",
        "networkPolicy.egress=true",
    ] {
        let error = refusal(&[
            "--set",
            "networkPolicy.enabled=true",
            "--set",
            api,
            "--set",
            bad,
        ]);
        assert!(error.contains("schema"), "{bad}: {error}");
        assert!(error.contains("networkPolicy"), "{bad}: {error}");
    }
}

/// Where `sent` is not within `returned`, by path: a field the server dropped, as one it does
/// not know, or changed.
fn lost(sent: &Value, returned: &Value, path: &str, out: &mut Vec<String>) {
    match (sent, returned) {
        (Value::Object(sent), Value::Object(returned)) => {
            for (key, value) in sent {
                match returned.get(key) {
                    Some(back) => lost(value, back, &format!("{path}.{key}"), out),
                    None => out.push(format!("{path}.{key} was dropped")),
                }
            }
        }
        (Value::Array(sent), Value::Array(returned)) if sent.len() == returned.len() => {
            for (i, (value, back)) in sent.iter().zip(returned).enumerate() {
                lost(value, back, &format!("{path}[{i}]"), out);
            }
        }
        _ if sent == returned => {}
        _ => out.push(format!("{path}: sent {sent}, the server kept {returned}")),
    }
}

/// The server's dry-run create of `object`: what it would store, or its refusal.
async fn dry_run(client: &kube::Client, object: &Value) -> Result<Value, String> {
    use kube::api::{Api, DynamicObject, PostParams};
    use kube::core::GroupVersionKind;

    let api_version = object["apiVersion"].as_str().unwrap();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, object["kind"].as_str().unwrap());
    let (resource, capabilities) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|e| format!("{gvk:?} is not served: {e}"))?;
    let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
        Some(namespace) if capabilities.scope == kube::discovery::Scope::Namespaced => {
            Api::namespaced_with(client.clone(), namespace, &resource)
        }
        _ => Api::all_with(client.clone(), &resource),
    };
    let typed: DynamicObject = serde_json::from_value(object.clone()).unwrap();
    let params = PostParams {
        dry_run: true,
        field_manager: Some("securequeue-chart-test".to_string()),
    };
    match api.create(&params, &typed).await {
        Ok(stored) => Ok(serde_json::to_value(stored).unwrap()),
        Err(e) => Err(e.to_string()),
    }
}

/// Objects the server refused or changed, one line each.
async fn server_problems(client: &kube::Client, objects: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    for object in objects {
        let name = format!("{} {}", object["kind"], object["metadata"]["name"]);
        match dry_run(client, object).await {
            Err(refused) => problems.push(format!("{name}: {refused}")),
            Ok(stored) => {
                let mut dropped = Vec::new();
                lost(object, &stored, "", &mut dropped);
                problems.extend(dropped.into_iter().map(|d| format!("{name}: {d}")));
            }
        }
    }
    problems
}

#[tokio::test]
async fn the_api_server_accepts_every_object_with_every_option_on() {
    let client = common::cluster::with_crds().await;
    let suffix = std::process::id();
    let namespace = format!("chart-values-{suffix}");
    common::cluster::create_namespace(&client, &namespace).await;
    let release = format!("chart-{suffix}");
    let account = format!("accounts[0].name=chart-{suffix}");
    // Each rendering with the server's API versions (--validate: the PodDisruptionBudget's
    // version), in a namespace of its own. Not the ServiceMonitor: the Prometheus Operator's
    // CRD is not on the test server.
    let render = |extra: &[&str]| {
        let mut args = vec![
            "template",
            &release,
            "charts/securequeue",
            "--validate",
            "--namespace",
            &namespace,
            "--set",
            "metrics.serviceMonitor.enabled=false",
        ];
        args.extend_from_slice(extra);
        documents(&helm(&args).unwrap_or_else(|e| panic!("{extra:?}: {e}")))
    };
    let all_options = render(&[
        "-f",
        "charts/securequeue/ci/all-options-values.yaml",
        "--set",
        &format!("watchNamespace={namespace}"),
        "--set",
        &account,
    ]);
    let defaults_on = render(&[
        "--set",
        &format!("aws.webIdentity.roleArn={ROLE}"),
        "--set",
        "aws.region=eu-west-1",
        "--set",
        &format!("image.digest={DIGEST}"),
        "--set",
        "networkPolicy.enabled=true",
        "--set",
        "networkPolicy.apiServer.cidrs={127.0.0.1/32}",
    ]);
    for (name, objects) in [("all options", &all_options), ("defaults", &defaults_on)] {
        for kind in ["Deployment", "NetworkPolicy"] {
            the(objects, kind);
        }
        let problems = server_problems(&client, objects).await;
        assert!(problems.is_empty(), "{name}:\n{}", problems.join("\n"));
    }

    // The check sees what the server refuses and what it drops.
    let mut deployment = the(&defaults_on, "Deployment").clone();
    deployment["spec"]["template"]["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]
        ["expirationSeconds"] = json!(599);
    let mut policy = the(&defaults_on, "NetworkPolicy").clone();
    policy["spec"]["egress"][0]["to"][0]["ipBlock"]["cidrs"] = json!(["10.0.0.0/8"]);
    let problems = server_problems(&client, &[deployment, policy]).await;
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].contains("expirationSeconds"), "{problems:#?}");
    assert!(
        problems[1].contains(".spec.egress[0].to[0].ipBlock.cidrs was dropped"),
        "{problems:#?}"
    );
}
