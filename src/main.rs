use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use securequeue::cli::{Cli, LogFormat};
use tracing_subscriber::EnvFilter;

/// mimalloc returns freed memory to the system, where glibc's allocator keeps the peak of a
/// large watch list (thousands of SecureQueues listed at once) for the life of the process.
#[cfg(not(feature = "dhat-heap"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// dhat's allocator, which records every allocation's backtrace for `bench --heap-profile`.
#[cfg(feature = "dhat-heap")]
#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

fn main() -> ExitCode {
    // The AWS SDK and the Kubernetes client both use rustls; name the one crypto provider.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,securequeue=info"));
    // Colours only for a person at a terminal, never in a pod's log or a file.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    cli.run()
}
