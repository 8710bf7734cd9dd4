//! Ownership tags: who made a key or queue, so the operator never adopts or changes another's.
//!
//! A resource is ours when its namespace, name and cluster tags are this SecureQueue's. The uid
//! may differ: a SecureQueue deleted with `deletionPolicy: Retain` and created again (a GitOps
//! re-sync) takes its resources back and the uid tag is updated. Anything else, including a
//! resource without the tags, is left alone.

use std::collections::BTreeMap;

use crate::api::Management;
use crate::resolve::{self, TAG_CLUSTER, TAG_NAME, TAG_NAMESPACE};

/// The owner a SecureQueue's resources carry in their tags; the default is nobody.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Owner {
    namespace: String,
    name: String,
    cluster: String,
}

/// What a resource's tags say about its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// This SecureQueue made it.
    Ours,
    /// Another SecureQueue made it: `owner` names it, and `same_tenant` says whether it is of
    /// this SecureQueue's namespace and cluster.
    Theirs { owner: String, same_tenant: bool },
    /// Nothing in its tags says securequeue made it.
    Unowned,
}

impl Owner {
    /// The owner named by a plan's tags.
    pub fn from_tags(tags: &BTreeMap<String, String>) -> Self {
        let get = |key| tags.get(key).cloned().unwrap_or_default();
        Self {
            namespace: get(TAG_NAMESPACE),
            name: get(TAG_NAME),
            cluster: get(TAG_CLUSTER),
        }
    }

    /// The owner a key's description names (see [`resolve::key_description`]).
    fn from_description(description: &str) -> Option<Self> {
        let (namespace, name, cluster) = resolve::key_description_owner(description)?;
        Some(Self {
            namespace: namespace.to_string(),
            name: name.to_string(),
            cluster: cluster.to_string(),
        })
    }

    /// The owner a queue policy's `Id` names (see [`resolve::queue_policy_id`]).
    fn from_queue_policy(policy: &str) -> Option<Self> {
        let document: serde_json::Value = serde_json::from_str(policy).ok()?;
        let (namespace, name, cluster) = resolve::queue_policy_id_owner(document["Id"].as_str()?)?;
        Some(Self {
            namespace: namespace.to_string(),
            name: name.to_string(),
            cluster: cluster.to_string(),
        })
    }

    /// The owner a key's tags name or, when it has no ownership tags, the one the description
    /// the operator wrote at CreateKey names; nobody when neither does. See
    /// [`Owner::judge_key`].
    pub fn of_key(tags: &BTreeMap<String, String>, description: &str) -> Self {
        Self::of_marked(tags, Self::from_description(description))
    }

    /// Judges a key by its tags or, when it has no ownership tags, by the description the
    /// operator wrote at CreateKey: a key whose tagging was cut off after CreateKey is ours,
    /// however it is found (by its alias, by the orphan search, or by a deletion), and is
    /// tagged.
    ///
    /// The description counts only where the tags say nothing, as the queue policy's `Id` does
    /// for queues: a key tagged for another owner stays theirs whatever its description says.
    /// Nor can a stranger borrow the mark to have a key of theirs taken over: the operator's
    /// IAM policy grants no key management at all, so it writes to a key only through a key
    /// policy that makes it an administrator (`policy::operator`, proven by `verify
    /// --operator`), which a stranger's key has only by its owner's consent.
    pub fn judge_key(&self, tags: &BTreeMap<String, String>, description: &str) -> Ownership {
        self.judge_owner(Self::of_key(tags, description))
    }

    /// Judges a queue by its tags or, when it has no ownership tags, by its policy's `Id`: a
    /// queue whose tagging was cut off after CreateQueue is ours, and is tagged.
    pub fn judge_queue(&self, tags: &BTreeMap<String, String>, policy: Option<&str>) -> Ownership {
        self.judge_owner(Self::of_marked(
            tags,
            policy.and_then(Self::from_queue_policy),
        ))
    }

    /// Judges a resource by its tags.
    pub fn judge(&self, tags: &BTreeMap<String, String>) -> Ownership {
        self.judge_owner(Self::from_tags(tags))
    }

    /// The owner tags name or, when they hold none of the ownership tags, the one `marked` in
    /// what the operator wrote when it created the resource.
    fn of_marked(tags: &BTreeMap<String, String>, marked: Option<Owner>) -> Self {
        let tagged = Self::from_tags(tags);
        if tagged == Self::default() {
            marked.unwrap_or_default()
        } else {
            tagged
        }
    }

    /// Judges a resource whose owner is `other`.
    fn judge_owner(&self, other: Owner) -> Ownership {
        if other == *self {
            Ownership::Ours
        } else if other == Self::default() {
            Ownership::Unowned
        } else {
            Ownership::Theirs {
                owner: other.named(),
                same_tenant: other.namespace == self.namespace && other.cluster == self.cluster,
            }
        }
    }

    /// The owner, for messages.
    fn named(&self) -> String {
        format!(
            "SecureQueue {}/{} of cluster `{}`",
            self.namespace, self.name, self.cluster
        )
    }
}

impl Ownership {
    /// Why `resource` cannot be used, or `None` when it is ours.
    pub fn conflict(&self, resource: &str) -> Option<String> {
        match self {
            Ownership::Ours => None,
            Ownership::Theirs { owner, .. } => Some(format!(
                "{resource} already exists and belongs to {owner}; choose another name"
            )),
            Ownership::Unowned => Some(format!(
                "{resource} already exists and was not made by securequeue (it has no securequeue.io ownership tags); securequeue never adopts what it did not create: choose another name"
            )),
        }
    }
}

/// Which existing resources a pass may use, by `spec.management`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim<'a> {
    /// Only this SecureQueue's own (`Manage`).
    Ours,
    /// Its own, and unowned ones whose ARNs its recorded adoption lists (`Adopt`); any other
    /// unowned one waits for a new record.
    Adopting(&'a [String]),
    /// Its own and any unowned one: a dry run of an adoption, finding what it would take.
    Unowned,
    /// Any unowned one and any of its own tenant's, its namespace's and cluster's, or with
    /// `across_tenants` any at all (`Observe`, see [`crate::guardrails::tenancy`]): nothing is
    /// written.
    Observing { across_tenants: bool },
}

/// Why a pass may not use an existing resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It belongs to another, or to nobody and the SecureQueue does not adopt.
    Conflict(String),
    /// It belongs to nobody, and `status.adoption` does not list it yet.
    Unrecorded(String),
}

impl Claim<'_> {
    /// The claim of a SecureQueue managed so, with the resources its adoption record lists;
    /// for a dry run, an adoption claims every unowned resource it finds. An observer of a
    /// namespace the platform team trusts `across_tenants` may read anyone's.
    pub fn of(
        management: Management,
        recorded: &[String],
        dry_run: bool,
        across_tenants: bool,
    ) -> Claim<'_> {
        match (management, dry_run) {
            (Management::Manage, _) => Claim::Ours,
            (Management::Adopt, false) => Claim::Adopting(recorded),
            (Management::Adopt, true) => Claim::Unowned,
            (Management::Observe, _) => Claim::Observing { across_tenants },
        }
    }

    /// Whether the resource `arn`, described as `resource` in messages, may be used: `true`
    /// when it is used although not ours (adopted or observed).
    pub fn judge(&self, ownership: &Ownership, resource: &str, arn: &str) -> Result<bool, Refusal> {
        match (self, ownership) {
            (_, Ownership::Ours) => Ok(false),
            (
                Claim::Observing {
                    across_tenants: false,
                },
                Ownership::Theirs {
                    owner,
                    same_tenant: false,
                },
            ) => Err(Refusal::Conflict(format!(
                "{resource} belongs to {owner}: a SecureQueue observes only what is unowned or its own namespace's, unless the platform team trusts its namespace across tenants (--cross-tenant-namespaces)"
            ))),
            (Claim::Observing { .. }, _) | (Claim::Unowned, Ownership::Unowned) => Ok(true),
            (Claim::Adopting(recorded), Ownership::Unowned) => {
                if recorded.iter().any(|r| r == arn) {
                    Ok(true)
                } else {
                    Err(Refusal::Unrecorded(format!(
                        "{resource} exists without securequeue.io ownership tags; it is adopted once status.adoption records who loses access"
                    )))
                }
            }
            (_, other) => Err(Refusal::Conflict(
                other.conflict(resource).expect("not ours"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::TAG_UID;

    fn tags(namespace: &str, name: &str, cluster: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (TAG_NAMESPACE.to_string(), namespace.to_string()),
            (TAG_NAME.to_string(), name.to_string()),
            (TAG_CLUSTER.to_string(), cluster.to_string()),
        ])
    }

    #[test]
    fn same_namespace_name_and_cluster_is_ours_whatever_the_uid() {
        let owner = Owner::from_tags(&tags("shop", "orders", "prod"));
        let mut theirs = tags("shop", "orders", "prod");
        theirs.insert(TAG_UID.into(), "another-uid".into());
        assert_eq!(owner.judge(&theirs), Ownership::Ours);
    }

    #[test]
    fn another_namespace_name_or_cluster_is_theirs() {
        let owner = Owner::from_tags(&tags("shop", "orders", "prod"));
        for other in [
            tags("billing", "orders", "prod"),
            tags("shop", "payments", "prod"),
            tags("shop", "orders", "staging"),
        ] {
            let judged = owner.judge(&other);
            assert!(matches!(judged, Ownership::Theirs { .. }), "{other:?}");
            assert!(judged.conflict("queue `q`").unwrap().contains("belongs to"));
        }
    }

    #[test]
    fn untagged_resources_are_unowned_and_never_adopted() {
        let owner = Owner::from_tags(&tags("shop", "orders", "prod"));
        let judged = owner.judge(&BTreeMap::from([("team".to_string(), "a".to_string())]));
        assert_eq!(judged, Ownership::Unowned);
        assert!(
            judged
                .conflict("queue `q`")
                .unwrap()
                .contains("never adopts")
        );
    }

    #[test]
    fn an_untagged_queue_is_judged_by_its_policy_id() {
        let owner = Owner::from_tags(&tags("shop", "orders", "prod"));
        let policy = |id: &str| format!(r#"{{"Version":"2012-10-17","Id":"{id}","Statement":[]}}"#);
        let untagged = BTreeMap::new();
        let ours = policy(&resolve::queue_policy_id("shop", "orders", "prod"));
        assert_eq!(owner.judge_queue(&untagged, Some(&ours)), Ownership::Ours);
        let theirs = policy(&resolve::queue_policy_id("shop", "orders", "staging"));
        assert!(matches!(
            owner.judge_queue(&untagged, Some(&theirs)),
            Ownership::Theirs { .. }
        ));
        for other in [
            None,
            Some(policy("__default_policy_ID")),
            Some("not json".into()),
        ] {
            assert_eq!(
                owner.judge_queue(&untagged, other.as_deref()),
                Ownership::Unowned
            );
        }
    }

    #[test]
    fn an_untagged_key_is_judged_by_its_description() {
        let owner = Owner::from_tags(&tags("shop", "orders", "prod"));
        let untagged = BTreeMap::new();
        let ours = resolve::key_description("shop", "orders", "prod");
        assert_eq!(owner.judge_key(&untagged, &ours), Ownership::Ours);
        assert_eq!(Owner::of_key(&untagged, &ours), owner);
        let theirs = resolve::key_description("shop", "orders", "staging");
        assert!(matches!(
            owner.judge_key(&untagged, &theirs),
            Ownership::Theirs { .. }
        ));
        for other in ["", "a key somebody made", "securequeue key"] {
            assert_eq!(owner.judge_key(&untagged, other), Ownership::Unowned);
            assert_eq!(Owner::of_key(&untagged, other), Owner::default());
        }
    }

    #[test]
    fn tags_of_another_outweigh_a_description_naming_us() {
        let owner = Owner::from_tags(&tags("shop", "orders", "prod"));
        let ours = resolve::key_description("shop", "orders", "prod");
        let theirs = tags("shop", "orders", "staging");
        assert!(matches!(
            owner.judge_key(&theirs, &ours),
            Ownership::Theirs { .. }
        ));
        assert_ne!(Owner::of_key(&theirs, &ours), owner);
    }

    #[test]
    fn tags_of_another_outweigh_a_policy_id_naming_us() {
        let owner = Owner::from_tags(&tags("shop", "orders", "prod"));
        let ours = format!(
            r#"{{"Id":"{}","Statement":[]}}"#,
            resolve::queue_policy_id("shop", "orders", "prod")
        );
        assert!(matches!(
            owner.judge_queue(&tags("shop", "orders", "staging"), Some(&ours)),
            Ownership::Theirs { .. }
        ));
    }

    #[test]
    fn each_management_claims_what_it_may_and_adoption_needs_a_record() {
        let theirs = Ownership::Theirs {
            owner: "SecureQueue a/b of cluster `c`".into(),
            same_tenant: false,
        };
        let observer = Claim::Observing {
            across_tenants: false,
        };
        let (resource, arn) = ("the queue `q`", "arn:aws:sqs:us-east-1:1:q");
        let recorded = [arn.to_string()];
        for claim in [Claim::Ours, Claim::Adopting(&recorded), observer] {
            assert_eq!(claim.judge(&Ownership::Ours, resource, arn), Ok(false));
        }
        assert!(matches!(
            Claim::Ours.judge(&Ownership::Unowned, resource, arn),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(
            Claim::Adopting(&recorded).judge(&theirs, resource, arn),
            Err(Refusal::Conflict(_))
        ));
        assert_eq!(
            Claim::Adopting(&recorded).judge(&Ownership::Unowned, resource, arn),
            Ok(true)
        );
        assert!(matches!(
            Claim::Adopting(&[]).judge(&Ownership::Unowned, resource, arn),
            Err(Refusal::Unrecorded(_))
        ));
        assert_eq!(
            Claim::Unowned.judge(&Ownership::Unowned, resource, arn),
            Ok(true)
        );
        assert!(matches!(
            Claim::Unowned.judge(&theirs, resource, arn),
            Err(Refusal::Conflict(_))
        ));
        assert_eq!(observer.judge(&Ownership::Unowned, resource, arn), Ok(true));
    }

    #[test]
    fn an_observer_reads_another_tenants_resources_only_when_trusted_across_tenants() {
        let owner = Owner::from_tags(&tags("shop", "orders", "prod"));
        let (resource, arn) = ("the queue `q`", "arn:aws:sqs:us-east-1:1:q");
        let observer = Claim::Observing {
            across_tenants: false,
        };
        let sibling = owner.judge(&tags("shop", "payments", "prod"));
        assert_eq!(observer.judge(&sibling, resource, arn), Ok(true));
        for stranger in [
            tags("shop-b", "orders", "prod"),
            tags("shop", "orders", "staging"),
        ] {
            let theirs = owner.judge(&stranger);
            let Err(Refusal::Conflict(why)) = observer.judge(&theirs, resource, arn) else {
                panic!("{stranger:?} was observed");
            };
            assert!(why.contains("--cross-tenant-namespaces"), "{why}");
            let trusted = Claim::Observing {
                across_tenants: true,
            };
            assert_eq!(trusted.judge(&theirs, resource, arn), Ok(true));
        }
    }

    #[test]
    fn a_namespace_cannot_claim_another_by_tag_prefix_tricks() {
        let owner = Owner::from_tags(&tags("a", "b-c", "prod"));
        assert_ne!(owner.judge(&tags("a-b", "c", "prod")), Ownership::Ours);
    }
}
