//! Calls that must not be repeated when their outcome is unknown.
//!
//! KMS CreateKey has no idempotency token: when an attempt times out, the connection drops, or
//! KMS answers 5xx, the key may exist anyway, and a retry would make a second one. For such a
//! call the SDK's retries are limited to answers that prove nothing happened (throttling and
//! other 4xx errors). An ambiguous failure ends the pass instead; the next pass's orphan search
//! finds a key the lost attempt made, by its ownership tags, and finishes it.

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};

/// Forbids retrying an attempt whose request may have been carried out.
#[derive(Debug, Default)]
pub struct NotRetriedWhenAmbiguous;

impl ClassifyRetry for NotRetriedWhenAmbiguous {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let lost =
            error.is_timeout_error() || error.is_connector_error() || error.is_response_error();
        let server_failed = ctx
            .response()
            .is_some_and(|response| response.status().is_server_error());
        if lost || server_failed {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "NotRetriedWhenAmbiguous"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}
