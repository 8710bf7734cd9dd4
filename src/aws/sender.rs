//! How an adapter ([`super::kms`], [`super::sqs`]) sends a call, so that each of its methods
//! names its operation once: the call waits for its turn at the operation's budget
//! ([`Paced`]), a write passes the adapter's gate first (held back in a dry run,
//! [`super::held`]), and a failure becomes an [`AwsError`] naming the service, the operation and
//! the endpoint.

use std::error::Error as StdError;
use std::future::Future;
use std::sync::Arc;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::budget::{Budgets, Paced};
use super::error::{AwsError, Endpoint, mapper};
use super::held::{Gate, HeldWrites};

/// An SDK client of one service, with its budgets, gate and endpoint.
#[derive(Clone, Debug)]
pub(super) struct Sender<C> {
    client: Paced<C>,
    /// `kms` or `sqs`, as IAM actions name it.
    service: &'static str,
    /// Where writes go: to AWS, or held back in a dry run.
    gate: Gate,
    /// Where the client sends its calls, for errors.
    endpoint: Endpoint,
}

impl<C: Clone> Sender<C> {
    /// Sends `client`'s calls, paced by `budgets`; `endpoint` is where the client sends them,
    /// for errors.
    pub(super) fn new(client: C, budgets: Arc<Budgets>, endpoint: Endpoint) -> Self {
        Self {
            service: budgets.service().name(),
            client: Paced::new(client, budgets),
            gate: Gate::default(),
            endpoint,
        }
    }

    /// The same sender, holding back every write into `held`.
    pub(super) fn holding_writes(&self, held: &HeldWrites) -> Self {
        Self {
            gate: Gate::holding(held),
            ..self.clone()
        }
    }

    /// Sends the read `operation` that `request` makes.
    pub(super) async fn read<T, E, F, Fut>(
        &self,
        operation: &'static str,
        request: F,
    ) -> Result<T, AwsError>
    where
        F: Fn(&C) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        self.send(operation, request).await
    }

    /// Sends the call `operation` that `request` makes, when its turn comes.
    async fn send<T, E, F, Fut>(&self, operation: &'static str, request: F) -> Result<T, AwsError>
    where
        F: Fn(&C) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        self.client.send(operation, request).await.map_err(mapper(
            self.service,
            operation,
            &self.endpoint,
        ))
    }

    /// Sends the lookup `operation` that `request` makes: `None` when AWS answers with an error
    /// that is `absent` (there is no such thing), which the pass's call log counts as no
    /// failure.
    pub(super) async fn look_up<T, E, F, Fut>(
        &self,
        operation: &'static str,
        request: F,
        absent: impl Fn(&E) -> bool,
    ) -> Result<Option<T>, AwsError>
    where
        F: Fn(&C) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        match self.client.send(operation, request).await {
            Ok(out) => Ok(Some(out)),
            Err(e) if e.as_service_error().is_some_and(&absent) => {
                super::calls::note_not_found(&format!("{}:{operation}", self.service));
                Ok(None)
            }
            Err(e) => Err(mapper(self.service, operation, &self.endpoint)(e)),
        }
    }

    /// Sends the write `operation` to `target` that `request` makes, unless the gate holds it
    /// back: then it is recorded, and answered with `None`.
    pub(super) async fn write<T, E, F, Fut>(
        &self,
        operation: &'static str,
        target: &str,
        request: F,
    ) -> Result<Option<T>, AwsError>
    where
        F: Fn(&C) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        if self.gate.holds(self.service, operation, target) {
            return Ok(None);
        }
        self.send(operation, request).await.map(Some)
    }

    /// The error for an answer to `operation` without `field`, which AWS documents as always
    /// present.
    pub(super) fn missing(&self, operation: &'static str, field: &str) -> AwsError {
        AwsError::missing(self.service, operation, field)
    }
}
