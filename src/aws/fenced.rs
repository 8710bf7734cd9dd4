//! Every AWS write passes the process's [`WriteFence`] just before each attempt is sent: after
//! any wait for its turn at a request budget, and again before each retry, so a pass that
//! waited for a CreateKey turn while leadership was lost never sends it.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::fence::WriteFence;

use super::calls;

/// The interceptor on every SDK client that refuses a write once the fence is shut; reads go on.
#[derive(Debug)]
pub struct FenceGate(pub WriteFence);

impl Intercept for FenceGate {
    fn name(&self) -> &'static str {
        "securequeue::FenceGate"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if calls::is_read(&calls::operation_name(cfg)) {
            return Ok(());
        }
        self.0.check().map_err(BoxError::from)
    }
}
