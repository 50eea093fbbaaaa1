//! `lab env`: docker-machine's environment for a machine, written for a shell.

use crate::session::Session;
use std::path::Path;

use anyhow::Context as _;

use crate::cli::EnvArgs;
use crate::model::{Lab, Mode, Role};
use crate::shell::{self, Shell};
use crate::tools::docker_machine;

const VARIABLES: [&str; 4] = [
    "DOCKER_TLS_VERIFY",
    "DOCKER_HOST",
    "DOCKER_CERT_PATH",
    "DOCKER_MACHINE_NAME",
];

pub async fn run(lab: &Lab, args: &EnvArgs, file: &Path, session: &Session) -> anyhow::Result<()> {
    let shell = args.shell.unwrap_or_else(Shell::detect);
    let mut again = vec!["lab".to_string(), "env".to_string()];
    if file != Path::new("lab.toml") {
        again.extend(["--file".to_string(), file.display().to_string()]);
    }
    if args.shell.is_some() {
        again.extend(["--shell".to_string(), shell.name().to_string()]);
    }
    if args.unset {
        again.push("--unset".into());
        crate::out!(
            "{}",
            shell::render_unset(shell, &VARIABLES, &shell::command_line(shell, &again))
        );
        return Ok(());
    }
    if args.all {
        return handout(lab, shell, session).await;
    }
    let machine = lab.known_machine(args.machine.as_deref().unwrap_or_default())?;
    // Classic Swarm has its own API beside the master's engine; in swarm
    // mode the master's engine is the cluster's API.
    let swarm = machine.role == Role::Master && lab.mode == Mode::Classic && !args.no_swarm;
    if args.no_swarm {
        again.push("--no-swarm".into());
    }
    again.push(machine.name.clone());

    let vars = variables(lab, machine, swarm, session).await?;
    crate::out!(
        "{}",
        shell::render_set(shell, &vars, &shell::command_line(shell, &again))
    );
    Ok(())
}

/// The variables that aim `docker` at `machine` (at the classic swarm when
/// `swarm`).
async fn variables(
    lab: &Lab,
    machine: &crate::model::Machine,
    swarm: bool,
    session: &Session,
) -> anyhow::Result<Vec<(String, String)>> {
    let Some(program) = crate::reconcile::driver::of(lab).program() else {
        // Engines lab itself secured: the certificates are in its state.
        return Ok(crate::host::tls::native_from_state(lab, &machine.name)?.env());
    };
    let runner = session.reader(&[program])?;
    let out = runner.query(&docker_machine::env(&lab.dm_name(&machine.name), swarm)).await.with_context(|| {
        format!("{} has no usable docker-machine entry\nhint: run `lab up` (it redoes what is missing), then `lab status`", machine.name)
    })?;
    let vars = docker_machine::parse_env(&out.stdout);
    if vars.is_empty() {
        anyhow::bail!(
            "docker-machine printed no variables for {}:\n{}",
            machine.name,
            out.stdout
        );
    }
    Ok(vars)
}

/// `lab env --all`: a handout with every machine's variables, the master's
/// active; `lab_use MACHINE` switches.
async fn handout(lab: &Lab, shell: Shell, session: &Session) -> anyhow::Result<()> {
    let mut machines = Vec::new();
    for machine in &lab.machines {
        let swarm = machine.role == Role::Master && lab.mode == Mode::Classic;
        machines.push((
            machine.name.clone(),
            variables(lab, machine, swarm, session).await?,
        ));
    }
    crate::out!(
        "{}",
        shell::render_handout(shell, &lab.name, &machines, &lab.master().name)
            .map_err(anyhow::Error::msg)?
    );
    Ok(())
}
