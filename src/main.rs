use std::process::ExitCode;

use clap::Parser;
use securequeue::cli::Cli;

fn main() -> ExitCode {
    Cli::parse().run()
}
