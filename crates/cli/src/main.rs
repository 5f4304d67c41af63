//! `remedy`: why did the anomaly detector fire, and what to do about it. This binary only
//! parses arguments, resolves settings and calls the library crates.

mod args;
mod cmd;
mod output;
mod progress;
mod sink;

/// mimalloc instead of the system allocator: training allocates and frees multi-megabyte
/// intermediates every step, and glibc returns each to the kernel (mmap/munmap), which more
/// than doubled training time in our measurements (Loan autoencoder: 59 s → 25 s).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// Exit status for bad input (unreadable or invalid data, graph, arguments).
const EXIT_BAD_INPUT: u8 = 2;
/// Exit status for other failures.
const EXIT_FAILURE: u8 = 1;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    init_tracing(cli.verbose);
    let result = match cli.command {
        Command::Generate(a) => cmd::generate::run(&a),
        Command::Scm(a) => cmd::scm::run(&a),
        Command::Graph(a) => cmd::graph::run(&a),
        Command::Reproduce(a) => cmd::reproduce::run(&a),
        Command::Bench(a) => cmd::bench::run(&a),
        Command::Demo(a) => cmd::demo::run(&a),
        Command::Fit(a) => cmd::fit::run(&a),
        Command::Detect(a) => cmd::detect::run(&a),
        Command::Explain(a) => cmd::explain::run(&a),
        Command::Recommend(a) => cmd::recommend::run(&a),
        Command::Counterfactual(a) => cmd::whatif::counterfactual(&a),
        Command::Intervene(a) => cmd::whatif::intervene(&a),
        Command::Report(a) => cmd::report::run(&a),
        Command::Ts(a) => cmd::ts::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_bad_input() {
                EXIT_BAD_INPUT
            } else {
                EXIT_FAILURE
            })
        }
    }
}

/// Prints help and version as clap does; prints any usage error on one line, exit status 2.
fn clap_exit(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let text = e.render().to_string();
            let line: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with("Usage:")
                        && !l.starts_with("For more information")
                })
                .collect();
            eprintln!("{} (see 'remedy --help')", line.join(" "));
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("REMEDY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Warnings are lines for people: no clock, and colour only on a terminal (a log file or a
    // pipe gets plain text).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
