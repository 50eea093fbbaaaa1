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
    match runtime.block_on(lab::commands::run(cli)) {
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
