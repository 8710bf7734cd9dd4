//! One error type for every AWS call: which call, AWS's error code and message, and what kind of
//! failure it is, so the reconciler can name the step and choose a condition reason. A call in
//! another account may fail before it is sent, when its session cannot assume the account's
//! role ([`super::session`]): that failure ([`AssumeRoleFailed`]) is reported as the STS call.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::{DispatchFailure, SdkError};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::arn::Partition;

/// What kind of failure an AWS call ended in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The operator's identity may not make the call: fix its IAM policy.
    AccessDenied,
    /// AWS kept throttling after the SDK's retries.
    Throttled,
    /// KMS refused a key policy, most often because it names a role that does not exist.
    PolicyRejected,
    /// AWS refused the request as invalid.
    Rejected,
    /// Network failure, timeout or a 5xx that outlasted the SDK's retries.
    Unavailable,
    /// The call was not sent: this replica no longer leads ([`crate::fence`]), or the tests'
    /// fault injection stopped the pass before it.
    Interrupted,
}

/// A failed AWS call.
#[derive(Debug, thiserror::Error)]
pub struct AwsError {
    /// `kms` or `sqs` (or `sts`).
    pub service: &'static str,
    /// The API operation.
    pub operation: &'static str,
    /// AWS's error code, or the SDK's failure class when AWS sent none.
    pub code: String,
    /// AWS's message, or the SDK's.
    pub message: String,
    /// What kind of failure.
    pub kind: ErrorKind,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} failed with {}: {}",
            self.service, self.operation, self.code, self.message
        )
    }
}

const THROTTLING_CODES: [&str; 7] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "LimitExceededException",
];

/// The `map_err` function for one call's SDK errors, the call sent to `endpoint`.
pub fn mapper<E>(
    service: &'static str,
    operation: &'static str,
    endpoint: &Endpoint,
) -> impl FnOnce(SdkError<E, HttpResponse>) -> AwsError + use<E>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let endpoint = endpoint.clone();
    move |e| AwsError::from_sdk(service, operation, &endpoint, e)
}

/// Where a client sends its calls, for messages about calls that never got an answer: the
/// endpoint URL given (`--endpoint-url`), or the service's regional endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint(Arc<str>);

impl Endpoint {
    /// The endpoint of `service` (`kms`, `sqs`, `sts`) for a client configured with
    /// `endpoint_url` and `region`.
    pub fn of(service: &str, endpoint_url: Option<&str>, region: Option<&str>) -> Self {
        let url = match (endpoint_url, region) {
            (Some(url), _) => url.to_string(),
            (None, Some(region)) => {
                let suffix = Partition::of_region(region).unwrap_or(Partition::Aws);
                format!("https://{service}.{region}.{}", suffix.dns_suffix())
            }
            (None, None) => format!("the {service} endpoint (no region is set)"),
        };
        Self(url.into())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AwsError {
    /// A response that lacked a field AWS documents as always present.
    pub fn missing(service: &'static str, operation: &'static str, field: &str) -> Self {
        Self {
            service,
            operation,
            code: "IncompleteResponse".to_string(),
            message: format!("the response had no {field}"),
            kind: ErrorKind::Unavailable,
        }
    }

    /// Classifies an SDK error of `service:operation`.
    pub fn from_sdk<E>(
        service: &'static str,
        operation: &'static str,
        endpoint: &Endpoint,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        if let Some(failed) = AssumeRoleFailed::within(&err) {
            return Self::assume_role(failed);
        }
        if caused_by::<crate::fence::Fenced>(&err) {
            return Self {
                service,
                operation,
                code: "LeadershipLost".to_string(),
                message: chain(&err),
                kind: ErrorKind::Interrupted,
            };
        }
        let (code, message, kind) = match &err {
            SdkError::ServiceError(service_error) => {
                let e = service_error.err();
                let code = e.code().unwrap_or("Unknown").to_string();
                let message = e.message().unwrap_or_default().to_string();
                let kind = if service_error.raw().status().is_server_error() {
                    ErrorKind::Unavailable
                } else {
                    classify_code(&code)
                };
                (code, message, kind)
            }
            SdkError::TimeoutError(_) => (
                "Timeout".to_string(),
                format!(
                    "{endpoint} did not answer within the attempt timeout (--aws-attempt-timeout-seconds)"
                ),
                ErrorKind::Unavailable,
            ),
            SdkError::DispatchFailure(failure) => {
                let (code, message) = unsent(endpoint, failure, &err);
                (code.to_string(), message, ErrorKind::Unavailable)
            }
            SdkError::ResponseError(_) => (
                "Unreachable".to_string(),
                format!(
                    "the answer from {endpoint} could not be read: {}",
                    innermost(&err)
                ),
                ErrorKind::Unavailable,
            ),
            #[cfg(feature = "test-hooks")]
            _ if caused_by::<super::call_limit::CallLimitReached>(&err) => (
                "Interrupted".to_string(),
                chain(&err),
                ErrorKind::Interrupted,
            ),
            _ => ("SdkError".to_string(), chain(&err), ErrorKind::Rejected),
        };
        Self {
            service,
            operation,
            code,
            message,
            kind,
        }
    }

    /// The call could not be made: the operator could not assume the role of the account it
    /// was for. Reported as the STS call that failed, naming the role.
    fn assume_role(failed: &AssumeRoleFailed) -> Self {
        let kind = if failed.answered() {
            classify_code(&failed.code)
        } else {
            ErrorKind::Unavailable
        };
        Self {
            service: "sts",
            operation: "AssumeRole",
            code: failed.code.clone(),
            message: format!("assuming {}: {}", failed.role_arn, failed.message),
            kind,
        }
    }
}

/// STS refused to let the operator assume a role, or could not be reached.
#[derive(Debug, Clone)]
pub struct AssumeRoleFailed {
    /// The role.
    pub role_arn: String,
    /// STS's error code (`AccessDenied`), or the failure class when STS sent none.
    pub code: String,
    /// STS's message, or the failure's.
    pub message: String,
}

impl AssumeRoleFailed {
    /// AssumeRole of `role_arn` failed with `error`.
    pub(super) fn of(role_arn: &str, error: &SdkError<AssumeRoleError, HttpResponse>) -> Self {
        let service = error.as_service_error();
        let code = service.and_then(|e| e.code()).unwrap_or(match error {
            SdkError::ServiceError(_) => "CredentialsError",
            _ => "Unreachable",
        });
        let message = service
            .and_then(|e| e.message())
            .map(ToString::to_string)
            .unwrap_or_else(|| chain(error));
        Self {
            role_arn: role_arn.to_string(),
            code: code.to_string(),
            message,
        }
    }

    /// STS answered, but not with credentials the operator can use.
    pub(super) fn unusable(role_arn: &str, message: &str) -> Self {
        Self {
            role_arn: role_arn.to_string(),
            code: "CredentialsError".to_string(),
            message: message.to_string(),
        }
    }

    /// Whether AWS answered rather than the network failing.
    pub fn answered(&self) -> bool {
        !matches!(self.code.as_str(), "Unreachable" | "CredentialsError")
    }

    /// The failure, found among the causes of an SDK error of a call that needed the
    /// credentials.
    pub fn within<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a Self> {
        sources(error).find_map(|e| e.downcast_ref())
    }
}

impl fmt::Display for AssumeRoleFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the operator could not assume {} (sts:AssumeRole failed with {}: {})",
            self.role_arn, self.code, self.message
        )
    }
}

impl StdError for AssumeRoleFailed {}

/// Why a request never reached AWS, in words: the credentials could not be loaded, the
/// endpoint could not be reached or did not answer. The code names the class.
fn unsent(
    endpoint: &Endpoint,
    failure: &DispatchFailure,
    err: &(dyn StdError + 'static),
) -> (&'static str, String) {
    if let Some(credentials) = sources(err).find(|e| e.is::<CredentialsError>()) {
        return (
            "NoCredentials",
            format!(
                "no AWS credentials could be loaded ({}); give the operator a role (IRSA or EKS Pod Identity) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                chain(credentials)
            ),
        );
    }
    if failure.is_timeout() {
        (
            "Timeout",
            format!("{endpoint} did not answer in time: {}", innermost(err)),
        )
    } else if failure.is_io() {
        (
            "Unreachable",
            format!("could not connect to {endpoint}: {}", innermost(err)),
        )
    } else {
        (
            "Unreachable",
            format!("the request to {endpoint} failed: {}", chain(err)),
        )
    }
}

/// The deepest cause of `err`: for a failed connection, what the operating system said.
fn innermost(err: &(dyn StdError + 'static)) -> String {
    sources(err)
        .last()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// Whether an AWS error code (bare, or with SQS's `AWS.SimpleQueueService.` prefix) says the
/// request was throttled.
pub fn is_throttling_code(code: &str) -> bool {
    THROTTLING_CODES.contains(&code.rsplit('.').next().unwrap_or(code))
}

fn classify_code(code: &str) -> ErrorKind {
    let bare = code.rsplit('.').next().unwrap_or(code);
    if bare.contains("AccessDenied")
        || bare.contains("NotAuthorized")
        || bare == "UnrecognizedClientException"
        || bare == "InvalidClientTokenId"
    {
        ErrorKind::AccessDenied
    } else if is_throttling_code(bare) {
        ErrorKind::Throttled
    } else if bare == "MalformedPolicyDocumentException" {
        ErrorKind::PolicyRejected
    } else if bare.contains("InternalFailure")
        || bare.contains("InternalError")
        || bare.contains("ServiceUnavailable")
        || bare == "KMSInternalException"
        || bare == "DependencyTimeoutException"
        // SQS refuses a queue's name for 60 seconds after the queue is deleted.
        || bare == "QueueDeletedRecently"
    {
        ErrorKind::Unavailable
    } else {
        ErrorKind::Rejected
    }
}

/// The error and its causes on one line: the SDK's top-level message alone says little.
pub(super) fn chain(err: &(dyn StdError + 'static)) -> String {
    sources(err)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

/// The error, then each of its causes in turn.
pub(super) fn sources<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |e: &&'a (dyn StdError + 'static)| {
        (*e).source()
    })
}

/// Whether `error`, or one of its causes, is a `T`.
pub(super) fn caused_by<T: StdError + 'static>(error: &(dyn StdError + 'static)) -> bool {
    sources(error).any(|e| e.is::<T>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::result::ConnectorError;

    #[test]
    fn codes_are_classified_by_kind() {
        assert_eq!(
            classify_code("AccessDeniedException"),
            ErrorKind::AccessDenied
        );
        assert_eq!(
            classify_code("AWS.SimpleQueueService.AccessDenied"),
            ErrorKind::AccessDenied
        );
        assert_eq!(classify_code("ThrottlingException"), ErrorKind::Throttled);
        assert_eq!(classify_code("RequestThrottled"), ErrorKind::Throttled);
        assert_eq!(
            classify_code("MalformedPolicyDocumentException"),
            ErrorKind::PolicyRejected
        );
        assert_eq!(
            classify_code("KMSInternalException"),
            ErrorKind::Unavailable
        );
        assert_eq!(classify_code("InvalidAttributeValue"), ErrorKind::Rejected);
    }

    /// A call that never reached AWS, failing as `connector` says.
    fn unsent_call(connector: ConnectorError) -> AwsError {
        let failure: SdkError<
            aws_sdk_kms::operation::describe_key::DescribeKeyError,
            HttpResponse,
        > = SdkError::dispatch_failure(connector);
        let endpoint = Endpoint::of("kms", Some("http://127.0.0.1:9"), Some("eu-west-1"));
        AwsError::from_sdk("kms", "DescribeKey", &endpoint, failure)
    }

    #[test]
    fn a_call_that_never_reached_aws_says_where_it_went_and_why_in_words() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let error = unsent_call(ConnectorError::io(Box::new(refused)));
        assert_eq!(
            (error.code.as_str(), error.kind),
            ("Unreachable", ErrorKind::Unavailable)
        );
        assert_eq!(
            error.to_string(),
            "kms:DescribeKey failed with Unreachable: could not connect to http://127.0.0.1:9: connection refused"
        );
        let late = std::io::Error::from(std::io::ErrorKind::TimedOut);
        let error = unsent_call(ConnectorError::timeout(Box::new(late)));
        assert_eq!(error.code, "Timeout");
        assert!(
            error
                .message
                .starts_with("http://127.0.0.1:9 did not answer in time")
        );
        let none = CredentialsError::not_loaded("no providers in chain provided credentials");
        let error = unsent_call(ConnectorError::other(Box::new(none), None));
        assert_eq!(error.code, "NoCredentials");
        for part in [
            "no AWS credentials",
            "no providers in chain",
            "AWS_ACCESS_KEY_ID",
        ] {
            assert!(error.message.contains(part), "{}", error.message);
        }
    }

    #[test]
    fn an_endpoint_is_the_one_given_or_the_regions() {
        let of = |url, region| Endpoint::of("sqs", url, region).to_string();
        assert_eq!(
            of(Some("http://127.0.0.1:4566"), Some("us-east-1")),
            "http://127.0.0.1:4566"
        );
        assert_eq!(
            of(None, Some("eu-west-1")),
            "https://sqs.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            of(None, Some("cn-north-1")),
            "https://sqs.cn-north-1.amazonaws.com.cn"
        );
        assert!(of(None, None).contains("no region"));
    }
}
