//! The AWS adapters: the only code that calls the AWS SDKs.
//!
//! [`Aws`] holds the shared SDK configuration (the default credential chain, region, optional
//! endpoint URL for emulators, bounded retries and timeouts) and hands out per-region
//! [`Clients`].
//!
//! Each call is retried by the SDK (standard mode: exponential backoff with jitter, and a retry
//! quota that stops retry storms while a service is failing). On top of that, each service and
//! region has one [`pacing::Pacer`] shared by every pass of the process: once AWS throttles,
//! every call to that service slows down together, so hundreds of SecureQueues converging at
//! once back off as one instead of each retrying into the limit.
//!
//! Every client carries the [`calls::CallCounter`] interceptor; the adapters in [`kms`] and
//! [`sqs`] speak the operator's vocabulary and turn SDK errors into [`AwsError`].

pub mod ambiguous;
pub mod calls;
pub mod error;
pub mod identity;
pub mod kms;
pub mod latency;
pub mod pacing;
pub mod sqs;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_kms::config::retry::RetryPartition;

pub use error::{AwsError, ErrorKind};
use pacing::{Pacer, ThrottleWatch};

/// How to reach AWS.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// An endpoint URL for every service, for local emulators.
    pub endpoint_url: Option<String>,
    /// The operator's region; otherwise the SDK's chain (AWS_REGION, profile).
    pub region: Option<String>,
    /// Latency added to every request, for benchmarks.
    pub added_latency: Option<Duration>,
    /// How long one attempt of a call may take before it is abandoned and retried; 20 s when
    /// `None`.
    pub attempt_timeout: Option<Duration>,
}

/// Attempts per call, the first included: throttling, 5xx and timeouts are retried with
/// exponential backoff and jitter, then reported.
const MAX_ATTEMPTS: u32 = 4;

/// The time one attempt may take unless configured: KMS and SQS answer in milliseconds, so an
/// attempt this slow has hung.
const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

/// The KMS and SQS adapters for one region.
#[derive(Clone, Debug)]
pub struct Clients {
    /// KMS.
    pub kms: kms::Kms,
    /// SQS.
    pub sqs: sqs::Sqs,
}

/// A retry partition of its own for `service` in `region`: a retry quota that every client of
/// this [`Aws`] for that service and region shares, and no other does.
fn partition(service: &str, region: &str) -> RetryPartition {
    RetryPartition::custom(format!("{service}-{region}")).build()
}

/// The shared AWS configuration and the per-region clients made from it.
#[derive(Clone, Debug)]
pub struct Aws {
    config: SdkConfig,
    regional: Arc<Mutex<BTreeMap<String, Clients>>>,
}

impl Aws {
    /// Loads the SDK configuration from the environment and the options.
    pub async fn connect(options: &ConnectOptions) -> Self {
        let attempt = options.attempt_timeout.unwrap_or(DEFAULT_ATTEMPT_TIMEOUT);
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
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
        let mut config = loader.load().await;
        if let (Some(delay), Some(http)) = (options.added_latency, config.http_client()) {
            config = config
                .to_builder()
                .http_client(latency::DelayedHttpClient::new(http, delay))
                .build();
        }
        Self {
            config,
            regional: Arc::default(),
        }
    }

    /// The region the configuration resolved, if any.
    pub fn region(&self) -> Option<String> {
        self.config.region().map(ToString::to_string)
    }

    /// The clients for `region`, made once and shared.
    pub fn clients(&self, region: &str) -> Clients {
        let mut regional = self.regional.lock().expect("client cache");
        regional
            .entry(region.to_string())
            .or_insert_with(|| {
                let (kms_pace, sqs_pace) = (Pacer::new("kms"), Pacer::new("sqs"));
                let kms = aws_sdk_kms::config::Builder::from(&self.config)
                    .region(Region::new(region.to_string()))
                    .retry_partition(partition("kms", region))
                    .interceptor(calls::CallCounter)
                    .interceptor(ThrottleWatch(kms_pace.clone()))
                    .build();
                let sqs = aws_sdk_sqs::config::Builder::from(&self.config)
                    .region(Region::new(region.to_string()))
                    .retry_partition(partition("sqs", region))
                    .interceptor(calls::CallCounter)
                    .interceptor(ThrottleWatch(sqs_pace.clone()))
                    .build();
                Clients {
                    kms: kms::Kms::new(aws_sdk_kms::Client::from_conf(kms), kms_pace),
                    sqs: sqs::Sqs::new(aws_sdk_sqs::Client::from_conf(sqs), sqs_pace),
                }
            })
            .clone()
    }

    /// What each service's pacer is doing, by region and service.
    pub fn pacing(&self) -> Vec<(String, &'static str, pacing::PaceSnapshot)> {
        let regional = self.regional.lock().expect("client cache");
        regional
            .iter()
            .flat_map(|(region, clients)| {
                [
                    (region.clone(), "kms", clients.kms.pace()),
                    (region.clone(), "sqs", clients.sqs.pace()),
                ]
            })
            .collect()
    }

    /// Who the credentials belong to.
    pub async fn caller(&self) -> Result<identity::Caller, AwsError> {
        let sts = aws_sdk_sts::config::Builder::from(&self.config)
            .interceptor(calls::CallCounter)
            .build();
        identity::caller(&aws_sdk_sts::Client::from_conf(sts)).await
    }
}
