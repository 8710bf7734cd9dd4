//! The AWS adapters: the only code that calls the AWS SDKs.
//!
//! [`Aws`] holds the shared SDK configuration (the default credential chain, region, optional
//! endpoint URL for emulators, bounded retries and timeouts) and hands out per-region
//! [`Clients`].
//!
//! Each call waits for its turn at its operation's [`budget::Budget`] in its region, shared by
//! every pass of the process and set from AWS's documented request quotas before the first call
//! ([`request_quota`]), so that hundreds of SecureQueues converging at once keep to AWS's limits
//! instead of meeting them. The SDK retries failed attempts (standard mode: exponential backoff
//! with jitter, and a retry quota that stops retry storms while a service is failing), except
//! throttled ones, which wait for their turn at the budget again.
//!
//! A SecureQueue in another account is worked on with the credentials of the role bound to that
//! account ([`session`]), and the budgets are kept per account and region, as AWS counts its
//! quotas ("per account per Region",
//! <https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html>).
//!
//! Every client carries the [`calls::CallCounter`] interceptor; the adapters in [`kms`] and
//! [`sqs`] speak the operator's vocabulary, and send each call through their `sender`, which
//! waits for its budget, holds writes back in a dry run and turns SDK errors into [`AwsError`].

pub mod ambiguous;
pub mod budget;
#[cfg(feature = "test-hooks")]
pub mod call_limit;
pub mod caller;
pub mod calls;
pub mod error;
pub mod fenced;
pub mod held;
pub mod kms;
#[cfg(feature = "bench")]
pub mod latency;
pub mod queued;
pub mod request_quota;
mod sender;
pub mod session;
pub mod sqs;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_kms::config::retry::RetryPartition;
use aws_smithy_http_client::{ConnectorBuilder, proxy::ProxyConfig, tls};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::fence::WriteFence;
use budget::{BudgetSnapshot, Budgets, ThrottleWatch, ThrottledRequeued};
pub use error::{AwsError, Endpoint, ErrorKind};
use request_quota::{QuotaSettings, Service};

/// How to reach AWS.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// An endpoint URL for every service, for local emulators.
    pub endpoint_url: Option<String>,
    /// The operator's region; otherwise the SDK's chain (AWS_REGION, profile).
    pub region: Option<String>,
    /// Latency added to every request, for benchmarks.
    #[cfg(feature = "bench")]
    pub added_latency: Option<Duration>,
    /// How long one attempt of a call may take before it is abandoned and retried; 20 s when
    /// `None`.
    pub attempt_timeout: Option<Duration>,
    /// The operator's share of each request quota, and the account's quotas where raised.
    pub quotas: QuotaSettings,
    /// What every write passes just before it is sent: the leader election's word.
    pub fence: WriteFence,
    /// The clock the SDK reads (signing, credential expiry), for tests that move it.
    #[cfg(feature = "test-hooks")]
    pub clock: Option<aws_smithy_async::time::SharedTimeSource>,
}

/// Attempts per call, the first included: throttling, 5xx and timeouts are retried with
/// exponential backoff and jitter, then reported.
const MAX_ATTEMPTS: u32 = 4;

/// The time one attempt may take unless configured: KMS and SQS answer in milliseconds, so an
/// attempt this slow has hung.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

/// The KMS and SQS adapters for one region.
#[derive(Clone, Debug)]
pub struct Clients {
    /// KMS.
    pub kms: kms::Kms,
    /// SQS.
    pub sqs: sqs::Sqs,
}

impl Clients {
    /// The same adapters, reading as usual but holding back every write into `held`.
    pub fn holding_writes(&self, held: &held::HeldWrites) -> Self {
        Self {
            kms: self.kms.holding_writes(held),
            sqs: self.sqs.holding_writes(held),
        }
    }
}

/// A retry partition of its own for `service` in `region`: a retry quota that every client of
/// this [`Aws`] for that service and region shares, and no other does.
fn partition(service: &str, region: &str) -> RetryPartition {
    RetryPartition::custom(format!("{service}-{region}")).build()
}

/// One HTTPS client for every SDK client of an [`Aws`], made as the SDK makes one for each
/// client it is not given one (rustls with aws-lc, the proxy from the environment): one
/// connection pool and one load of the trusted certificates, however many clients, where the
/// clients of a session are made anew for each pass ([`Aws::clients_as`]).
fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        connector.set_connector_settings(settings.cloned());
        connector.set_sleep_impl(components.and_then(|c| c.sleep_impl()));
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The budgets of one account (`None`: the operator's own) in one region.
type BudgetScope = (Option<String>, String);

/// The shared AWS configuration and the clients made from it.
#[derive(Clone, Debug)]
pub struct Aws {
    config: SdkConfig,
    /// Assumes the roles of every session, with the operator's own credentials.
    sts: aws_sdk_sts::Client,
    quotas: QuotaSettings,
    cache: Arc<Mutex<Cache>>,
}

/// What an [`Aws`] makes once and shares.
#[derive(Debug, Default)]
struct Cache {
    budgets: BTreeMap<BudgetScope, (Arc<Budgets>, Arc<Budgets>)>,
    /// The clients with the operator's own credentials, by region.
    clients: BTreeMap<String, Clients>,
    /// Each session's credentials provider: all that is kept of a session between passes.
    credentials: BTreeMap<session::AssumedRole, SharedCredentialsProvider>,
    /// Every client's writes pass it.
    fence: WriteFence,
}

impl Aws {
    /// Loads the SDK configuration from the environment and the options.
    pub async fn connect(options: &ConnectOptions) -> Self {
        let attempt = options.attempt_timeout.unwrap_or(DEFAULT_ATTEMPT_TIMEOUT);
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(5)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5).min(attempt))
                    .operation_attempt_timeout(attempt)
                    // Every attempt, and the backoff between them.
                    .operation_timeout(attempt * MAX_ATTEMPTS + Duration::from_secs(20))
                    .build(),
            );
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        #[cfg(feature = "test-hooks")]
        if let Some(clock) = &options.clock {
            loader = loader.time_source(clock.clone());
        }
        #[cfg_attr(not(feature = "bench"), expect(unused_mut))]
        let mut config = loader.load().await;
        #[cfg(feature = "bench")]
        if let (Some(delay), Some(http)) = (options.added_latency, config.http_client()) {
            config = config
                .to_builder()
                .http_client(latency::DelayedHttpClient::new(http, delay))
                .build();
        }
        let cache = Cache {
            fence: options.fence.clone(),
            ..Cache::default()
        };
        Self {
            sts: aws_sdk_sts::Client::new(&config),
            config,
            quotas: options.quotas.clone(),
            cache: Arc::new(Mutex::new(cache)),
        }
    }

    /// The region the configuration resolved, if any.
    pub fn region(&self) -> Option<String> {
        self.config.region().map(ToString::to_string)
    }

    /// The clients for `region` with the operator's own credentials, made once and shared.
    pub fn clients(&self, region: &str) -> Clients {
        let mut cache = self.cache.lock().expect("client cache");
        if let Some(clients) = cache.clients.get(region) {
            return clients.clone();
        }
        let clients = cache.clients_for(&self.config, &self.quotas, None, None, region);
        cache.clients.insert(region.to_string(), clients.clone());
        clients
    }

    /// The clients for `region` in `account`, with the credentials of `role`'s session there;
    /// their budgets are the account's, shared by every session in it.
    ///
    /// Only the session's credentials provider is kept between calls (well under 1 KiB, with
    /// its credentials in the shared identity cache); the clients are made anew for each call
    /// (a pass), sharing the HTTP client, identity cache, retry partitions and budgets of every
    /// other client: kept per session, they held ~70 KiB each for as long as it lasted.
    pub async fn clients_as(
        &self,
        role: &session::AssumedRole,
        account: &str,
        region: &str,
    ) -> Clients {
        let mut cache = self.cache.lock().expect("client cache");
        let credentials = cache
            .credentials
            .entry(role.clone())
            .or_insert_with(|| session::credentials(&self.sts, role))
            .clone();
        cache.clients_for(
            &self.config,
            &self.quotas,
            Some(credentials),
            Some(account),
            region,
        )
    }

    /// The share and overrides the budgets are made from.
    pub fn quotas(&self) -> &QuotaSettings {
        &self.quotas
    }

    /// Forgets `role`'s session, for a SecureQueue that is gone; the account's budgets stay,
    /// shared by its other sessions.
    pub fn forget(&self, role: &session::AssumedRole) {
        let mut cache = self.cache.lock().expect("client cache");
        cache.credentials.remove(role);
    }

    /// What every operation's budget is doing, by account (`None`: the operator's own) and
    /// region.
    pub fn budgets(&self) -> Vec<(Option<String>, String, BudgetSnapshot)> {
        let cache = self.cache.lock().expect("client cache");
        cache
            .budgets
            .iter()
            .flat_map(|((account, region), (kms, sqs))| {
                kms.snapshots()
                    .into_iter()
                    .chain(sqs.snapshots())
                    .map(|snapshot| (account.clone(), region.clone(), snapshot))
            })
            .collect()
    }

    /// Who the credentials belong to.
    pub async fn caller(&self) -> Result<caller::Caller, AwsError> {
        let sts = aws_sdk_sts::config::Builder::from(&self.config)
            .interceptor(calls::CallCounter)
            .build();
        let endpoint = Endpoint::of(
            "sts",
            self.config.endpoint_url(),
            self.config.region().map(|r| r.as_ref()),
        );
        caller::Caller::ask(&aws_sdk_sts::Client::from_conf(sts), &endpoint).await
    }
}

impl Cache {
    /// New clients of one session (`None`: the operator's own credentials) in one region;
    /// `account` names the account whose budgets they wait at (`None`: the operator's own).
    fn clients_for(
        &mut self,
        config: &SdkConfig,
        quotas: &QuotaSettings,
        session: Option<SharedCredentialsProvider>,
        account: Option<&str>,
        region: &str,
    ) -> Clients {
        let (kms_budgets, sqs_budgets) = self
            .budgets
            .entry((account.map(ToString::to_string), region.to_string()))
            .or_insert_with(|| {
                (
                    Budgets::new(Service::Kms, quotas),
                    Budgets::new(Service::Sqs, quotas),
                )
            })
            .clone();
        let mut kms = aws_sdk_kms::config::Builder::from(config)
            .region(Region::new(region.to_string()))
            .retry_partition(partition("kms", region))
            .retry_classifier(ThrottledRequeued)
            .interceptor(calls::CallCounter)
            .interceptor(fenced::FenceGate(self.fence.clone()))
            .interceptor(ThrottleWatch(kms_budgets.clone()));
        let mut sqs = aws_sdk_sqs::config::Builder::from(config)
            .region(Region::new(region.to_string()))
            .retry_partition(partition("sqs", region))
            .retry_classifier(ThrottledRequeued)
            .interceptor(calls::CallCounter)
            .interceptor(fenced::FenceGate(self.fence.clone()))
            .interceptor(ThrottleWatch(sqs_budgets.clone()));
        if let Some(credentials) = session {
            // The same provider, not a copy: both clients, and those of every later pass, share
            // its place in the identity cache.
            kms.set_credentials_provider(Some(credentials.clone()));
            sqs.set_credentials_provider(Some(credentials));
        }
        let (kms, sqs) = (kms.build(), sqs.build());
        Clients {
            kms: kms::Kms::new(
                aws_sdk_kms::Client::from_conf(kms),
                kms_budgets,
                Endpoint::of("kms", config.endpoint_url(), Some(region)),
            ),
            sqs: sqs::Sqs::new(
                aws_sdk_sqs::Client::from_conf(sqs),
                sqs_budgets,
                Endpoint::of("sqs", config.endpoint_url(), Some(region)),
            ),
        }
    }
}
