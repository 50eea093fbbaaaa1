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
        // Ctrl-C stops every running command (politely, then for good) and
        // lets the steps fail as they would; a second Ctrl-C ends lab at once.
        tokio::spawn(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("lab: interrupted: stopping the running commands (Ctrl-C again to quit at once)");
                tokio::spawn(async {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        lab::children::kill_all();
                        std::process::exit(130);
                    }
                });
                lab::children::stop_all(std::time::Duration::from_secs(90)).await;
            }
        });
        lab::commands::run(cli).await
    });
    if let Some(summary) = lab::runner::summary() {
        eprintln!("{summary}");
    }
    if lab::children::interrupted() {
        eprintln!("lab: interrupted; nothing is left running. `lab up` finishes the job, `lab destroy` removes what exists");
        return ExitCode::from(lab::exit::INTERRUPTED);
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
