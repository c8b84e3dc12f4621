//! The `stance` command line: parses arguments, calls the library, maps errors to exit codes
//! (0 success, 1 usage error, 2 bad input or failure, 130 stopped by Ctrl-C) and prints each
//! error once, with its chain.

mod cli;
mod cli_eval;
mod cli_extract;
mod progress_bar;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    stance::tune_allocator();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            // Printing help can only fail on a closed pipe, which is not an error.
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    cli::init_logging(cli.verbose, cli.quiet);
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) if is_interruption(&error) => {
            eprintln!("{error}");
            ExitCode::from(cli::INTERRUPTED_EXIT_CODE as u8)
        }
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}

/// `stance show big.parquet | head` closes our stdout early; like ripgrep, exit quietly.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A run stopped by Ctrl-C: not a failure, but not a finished run either.
fn is_interruption(error: &anyhow::Error) -> bool {
    matches!(
        error.downcast_ref::<stance::Error>(),
        Some(stance::Error::Run(stance::checkpoint::RunError::Interrupted { .. }))
    )
}
