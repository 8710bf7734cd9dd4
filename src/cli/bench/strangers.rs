//! The rest of a crowded account, for `bench --foreign-keys N --foreign-aliases M`: customer
//! keys that securequeue did not make, the first M of them with aliases, made before the run
//! through a client of their own, as a large enterprise account holds thousands. Against an
//! emulator only: each key costs money in AWS. Their aliases are deleted and their deletion
//! scheduled afterwards.

use aws_config::{BehaviorVersion, Region};
use futures::stream::{self, StreamExt};

/// The description of every key it makes.
const DESCRIPTION: &str = "securequeue bench: a key another team made";
/// Requests in flight while filling and emptying the account.
const IN_FLIGHT: usize = 32;

/// The strangers' keys made for one run.
pub(super) struct Strangers {
    client: aws_sdk_kms::Client,
    keys: Vec<String>,
    aliases: Vec<String>,
}

impl Strangers {
    /// Makes `keys` keys in `region` of the emulator at `endpoint_url`, the first `aliases` of
    /// them with an alias each.
    pub(super) async fn make(
        endpoint_url: &str,
        region: &str,
        keys: u32,
        aliases: u32,
    ) -> Result<Self, String> {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(endpoint_url)
            .load()
            .await;
        let client = aws_sdk_kms::Client::new(&config);
        let made: Vec<Result<String, String>> = stream::iter(0..keys)
            .map(|_| {
                let client = client.clone();
                async move {
                    let out = client
                        .create_key()
                        .description(DESCRIPTION)
                        .send()
                        .await
                        .map_err(|e| format!("a stranger's CreateKey failed: {e}"))?;
                    out.key_metadata()
                        .map(|k| k.key_id().to_string())
                        .ok_or_else(|| "CreateKey answered without a key".to_string())
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        let keys: Vec<String> = made.into_iter().collect::<Result<_, _>>()?;
        let run = std::process::id();
        let named: Vec<(String, String)> = keys
            .iter()
            .take(aliases as usize)
            .enumerate()
            .map(|(i, key)| (format!("alias/bench-stranger-{run}-{i}"), key.clone()))
            .collect();
        let aliased: Vec<Result<String, String>> = stream::iter(named)
            .map(|(alias, key)| {
                let client = client.clone();
                async move {
                    client
                        .create_alias()
                        .alias_name(&alias)
                        .target_key_id(key)
                        .send()
                        .await
                        .map(|_| alias)
                        .map_err(|e| format!("a stranger's CreateAlias failed: {e}"))
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        let aliases = aliased.into_iter().collect::<Result<_, _>>()?;
        Ok(Self {
            client,
            keys,
            aliases,
        })
    }

    /// Deletes the aliases and schedules every key's deletion (the shortest window, 7 days).
    pub(super) async fn remove(self) {
        let client = &self.client;
        stream::iter(&self.aliases)
            .for_each_concurrent(IN_FLIGHT, |alias| async move {
                let _ = client.delete_alias().alias_name(alias).send().await;
            })
            .await;
        stream::iter(&self.keys)
            .for_each_concurrent(IN_FLIGHT, |key| async move {
                let _ = client
                    .schedule_key_deletion()
                    .key_id(key)
                    .pending_window_in_days(7)
                    .send()
                    .await;
            })
            .await;
    }
}
