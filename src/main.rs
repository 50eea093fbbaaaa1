use std::process::ExitCode;

use clap::Parser as _;

// lab runs on the main thread. It once needed a 16 MiB thread of its own:
// two 8 KiB read buffers held across `.await` in every command's future
// made `lab up`'s future 97 KB deep, unoptimised. Read on the heap
// (process/read2.rs), it is 13 KB, and `up` to `destroy` peaks at 536 KiB
// of stack unoptimised, under Windows' 1 MiB (scripts/measure-stack,
// docs/architecture.md).
fn main() -> ExitCode {
    run(lab::cli::Cli::parse())
}

fn run(cli: lab::cli::Cli) -> ExitCode {
    let session = lab::session::Session::new(
        cli.quiet,
        cli.verbose,
        cli.timeout.map(std::time::Duration::from_secs),
    );
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            lab::errln!("lab: error: cannot start: {e}");
            return ExitCode::from(lab::error::FAILED);
        }
    };
    let result = runtime.block_on(async {
        // Ctrl-C, SIGTERM or SIGHUP stops every running command (politely,
        // then for good) and lets the steps fail as they would; a second
        // signal ends lab at once.
        tokio::spawn(async {
            let first = lab::process::children::next_signal().await;
            if !lab::process::children::ends_by_interrupt() {
                say(&format!(
                    "lab: {}: stopping the running commands (again to quit at once)",
                    name(first)
                ));
            }
            tokio::spawn(async {
                let again = lab::process::children::next_signal().await;
                lab::process::children::kill_all();
                std::process::exit(128 + again);
            });
            lab::process::children::stop_all(std::time::Duration::from_secs(90)).await;
        });
        lab::commands::run(cli, &session).await
    });
    if let Some(summary) = session.summary() {
        lab::errln!("{summary}");
    }
    let expected = lab::process::children::ends_by_interrupt()
        && lab::process::children::signal() == Some(lab::process::children::SIGINT);
    if lab::process::children::interrupted() && !expected {
        say("lab: interrupted; nothing is left running. `lab up` finishes the job, `lab destroy` removes what exists");
        let signal = lab::process::children::signal().unwrap_or(lab::process::children::SIGINT);
        return ExitCode::from(u8::try_from(128 + signal).unwrap_or(lab::error::INTERRUPTED));
    }
    if let Some(why) = lab::ui::stdout_failure() {
        lab::errln!("lab: error: could not write the output to stdout: {why}\nhint: make room where stdout goes (a full disk?), or send it elsewhere");
        if result.is_ok() {
            return ExitCode::from(lab::error::FAILED);
        }
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `lab ssh`: the remote command has said what went wrong.
            if !matches!(
                lab::error::find(&error),
                Some(lab::error::Error::RemoteExit(_))
            ) {
                lab::errln!("lab: error: {error:#}");
            }
            ExitCode::from(lab::error::code(&error))
        }
    }
}

/// To stderr, if there is still someone to read it.
fn say(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn name(signal: i32) -> &'static str {
    match signal {
        lab::process::children::SIGTERM => "terminated (SIGTERM)",
        lab::process::children::SIGHUP => "the terminal closed (SIGHUP)",
        _ => "interrupted",
    }
}
