//! The parts of the node tier's suite (`tests/node_e2e.rs`): the cluster and the two commands
//! a user drives it with, the chart's release, its pods and their processes, the Lease as it is
//! watched, SecureQueues made with kubectl and counted in the emulator, and the failovers.

pub mod cluster;
pub mod failover;
pub mod frozen;
pub mod lease;
pub mod pods;
pub mod queues;
pub mod release;
