//! The parts of the kill-anywhere soak (`tests/soak.rs`): its own emulator, the wave of
//! SecureQueues with the operator killed under it, and the census of what the emulator holds
//! afterwards.

pub mod census;
pub mod emulator_process;
pub mod wave;
