use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = lab::cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lab: error: cannot start: {e}");
            return ExitCode::from(lab::exit::FAILED);
        }
    };
    let result = runtime.block_on(async {
        // Ctrl-C, SIGTERM or SIGHUP stops every running command (politely,
        // then for good) and lets the steps fail as they would; a second
        // signal ends lab at once.
        tokio::spawn(async {
            let first = lab::children::next_signal().await;
            say(&format!(
                "lab: {}: stopping the running commands (again to quit at once)",
                name(first)
            ));
            tokio::spawn(async {
                let again = lab::children::next_signal().await;
                lab::children::kill_all();
                std::process::exit(128 + again);
            });
            lab::children::stop_all(std::time::Duration::from_secs(90)).await;
        });
        lab::commands::run(cli).await
    });
    if let Some(summary) = lab::runner::summary() {
        eprintln!("{summary}");
    }
    if lab::children::interrupted() {
        say("lab: interrupted; nothing is left running. `lab up` finishes the job, `lab destroy` removes what exists");
        let signal = lab::children::signal().unwrap_or(lab::children::SIGINT);
        return ExitCode::from(u8::try_from(128 + signal).unwrap_or(lab::exit::INTERRUPTED));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `lab ssh`: the remote command has said what went wrong.
            if !error.is::<lab::commands::ssh::RemoteExit>() {
                eprintln!("lab: error: {error:#}");
            }
            ExitCode::from(lab::exit::code(&error))
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
        lab::children::SIGTERM => "terminated (SIGTERM)",
        lab::children::SIGHUP => "the terminal closed (SIGHUP)",
        _ => "interrupted",
    }
}
