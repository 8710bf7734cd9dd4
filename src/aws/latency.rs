//! Added network latency, for benchmarks: an HTTP client that waits before handing each request
//! to the real one. It sits under the SDK, so retries, signing and the reconciler are untouched.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// An HTTP client adding `delay` to every request of `inner`.
#[derive(Debug, Clone)]
pub struct DelayedHttpClient {
    inner: SharedHttpClient,
    delay: Duration,
}

impl DelayedHttpClient {
    /// Wraps `inner`.
    pub fn new(inner: SharedHttpClient, delay: Duration) -> Self {
        Self { inner, delay }
    }
}

impl HttpClient for DelayedHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(DelayedConnector {
            inner: self.inner.http_connector(settings, components),
            delay: self.delay,
        })
    }
}

#[derive(Debug)]
struct DelayedConnector {
    inner: SharedHttpConnector,
    delay: Duration,
}

impl HttpConnector for DelayedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let delay = self.delay;
        HttpConnectorFuture::new(async move {
            tokio::time::sleep(delay).await;
            inner.call(request).await
        })
    }
}
