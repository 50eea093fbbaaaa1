//! `lab ssh NAME [-- CMD...]`: Vagrant's SSH settings, plain ssh, the
//! user's terminal.

use crate::session::Session;
use std::io::IsTerminal as _;

use anyhow::Context as _;

use crate::cli::SshArgs;
use crate::model::Lab;
use crate::process::tool::Tool;
use crate::tools::ssh::{self, remote_command};

pub async fn run(lab: &Lab, args: &SshArgs, session: &Session) -> anyhow::Result<()> {
    let machine = lab.known_machine(&args.machine)?;
    let runner = session.reader(&[Tool::Vagrant, Tool::Ssh])?;
    let configs = crate::reconcile::observe::ssh_configs_of(
        &runner,
        lab,
        std::slice::from_ref(&machine.name),
    )
    .await
    .with_context(|| {
        format!(
            "{} is not reachable over SSH\nhint: `lab status` shows its state; `lab up` starts it",
            machine.name
        )
    })?;
    let config = configs
        .into_values()
        .next()
        .with_context(|| format!("vagrant printed no SSH settings for {}", machine.name))?;
    // As with ssh itself: one argument is a command line for the remote
    // shell (`lab ssh m -- 'ls | wc -l'`); several are words, each quoted.
    let words: Vec<&str> = args.command.iter().map(String::as_str).collect();
    let remote = match words.as_slice() {
        [] => None,
        [line] => Some(line.to_string()),
        many => Some(remote_command(many)),
    };
    let tty = remote.is_none() && std::io::stdin().is_terminal();
    let code = runner
        .interactive(&ssh::session(&config, remote.as_deref(), tty))
        .await?;
    if code == 0 {
        Ok(())
    } else {
        Err(crate::error::Error::RemoteExit(code).into())
    }
}
