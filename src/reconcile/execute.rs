//! Runs a plan: stage by stage, the machines of a stage at the same time.
//! When one machine fails, the others of its stage still finish, and every
//! failure is reported with its machine, its command and the command's stderr.

use std::fmt;

use tokio::task::JoinSet;

use std::time::Duration;

use crate::host::tls;
use crate::process::runner::Runner;
use crate::reconcile::plan::{Action, Plan, Step};
use crate::tools::engine::Engine;
use crate::tools::swarm;
use crate::ui::{Task, Ui};

/// One machine's failed step.
#[derive(Debug)]
pub struct StepFailure {
    pub machine: String,
    pub action: String,
    pub error: anyhow::Error,
}

/// Some steps failed; the ones before them and beside them stand.
#[derive(Debug, thiserror::Error)]
pub struct PlanFailed {
    pub failures: Vec<StepFailure>,
    pub log: Option<String>,
    pub retry_hint: &'static str,
}

impl fmt::Display for PlanFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.failures.iter().map(|x| x.machine.as_str()).collect();
        write!(f, "{} failed", names.join(", "))?;
        for failure in &self.failures {
            write!(
                f,
                "\n\n{}: {}\n{:#}",
                failure.machine, failure.action, failure.error
            )?;
        }
        if let Some(log) = &self.log {
            write!(f, "\n\nfull output of every command: {log}")?;
        }
        write!(f, "\nhint: {}", self.retry_hint)
    }
}

pub async fn execute(
    plan: &Plan,
    runner: &Runner,
    ui: &Ui,
    retry_hint: &'static str,
) -> Result<(), PlanFailed> {
    for stage in plan.stages() {
        let mut by_machine: Vec<(String, Vec<Step>)> = Vec::new();
        for step in stage {
            let label = step
                .machine
                .clone()
                .unwrap_or_else(|| "all machines".to_string());
            match by_machine.iter_mut().find(|(m, _)| *m == label) {
                Some((_, steps)) => steps.push(step.clone()),
                None => by_machine.push((label, vec![step.clone()])),
            }
        }
        let mut tasks = JoinSet::new();
        for (label, steps) in by_machine {
            let runner = runner.clone();
            let task = ui.task(&label);
            tasks.spawn(async move { run_machine_steps(&runner, task, &label, &steps).await });
        }
        let mut failures = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(failure)) => failures.push(failure),
                Err(panic) => failures.push(StepFailure {
                    machine: "lab".into(),
                    action: "internal task".into(),
                    error: anyhow::anyhow!("{panic}"),
                }),
            }
        }
        if !failures.is_empty() {
            failures.sort_by(|a, b| a.machine.cmp(&b.machine));
            return Err(PlanFailed {
                failures,
                log: runner.log_path.as_ref().map(|p| p.display().to_string()),
                retry_hint,
            });
        }
    }
    Ok(())
}

async fn run_machine_steps(
    runner: &Runner,
    task: Task,
    label: &str,
    steps: &[Step],
) -> Result<(), StepFailure> {
    for step in steps {
        let shown = step.action.to_string();
        task.begin(&short(&shown));
        if let Err(error) = run_step(runner, &task, &step.action).await {
            task.finish("failed");
            return Err(StepFailure {
                machine: label.to_string(),
                action: shown,
                error,
            });
        }
    }
    task.finish("done");
    Ok(())
}

async fn run_step(runner: &Runner, task: &Task, action: &Action) -> anyhow::Result<()> {
    let on_line = |line: &str| task.progress(line);
    match action {
        Action::Run { command } => {
            runner.run(command, &on_line).await?;
        }
        Action::Docker { engine, args } => {
            let cmd = engine.docker(runner, args).await?;
            runner.run(&cmd, &on_line).await?;
        }
        Action::EnsureCa { dir, lab } => tls::ensure_ca(dir, lab)?,
        Action::IssueCert {
            dir,
            lab,
            machine,
            names,
        } => tls::issue_server(dir, lab, machine, names)?,
        Action::WriteFile { path, text } => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, text)
                .map_err(|e| anyhow::anyhow!("could not write {}: {e}", path.display()))?;
        }
        Action::Upload { command, from } => {
            let bytes = std::fs::read(from)
                .map_err(|e| anyhow::anyhow!("could not read {}: {e}", from.display()))?;
            runner.run_with_input(command, &bytes).await?;
        }
        Action::WaitEngine { engine } => wait_engine(runner, task, engine).await?,
        Action::SwarmJoin {
            node,
            node_ssh,
            manager,
            advertise,
            manager_addr,
        } => {
            // The plan was made before the node's engine was set up; what
            // the node says now decides: already a Ready member, nothing to
            // do; in some other swarm (or a stale one), leave it first.
            let info_cmd = node.docker(runner, &swarm::info_args()).await?;
            let info = swarm::parse_info(&runner.query(&info_cmd).await?.stdout)
                .map_err(anyhow::Error::msg)?;
            if info.is_active() {
                let ls = manager.docker(runner, &swarm::node_ls_args()).await?;
                let members = swarm::parse_node_ls(&runner.query(&ls).await?.stdout)
                    .map_err(anyhow::Error::msg)?;
                if members.iter().any(|n| n.id == info.node_id && n.is_ready()) {
                    return Ok(());
                }
                let leave = node.docker(runner, &swarm::leave_args()).await?;
                runner.run(&leave, &on_line).await?;
            }
            let token_cmd = manager
                .docker(runner, &swarm::join_token_args())
                .await?
                .secret_output();
            let token = runner.query(&token_cmd).await?.stdout.trim().to_string();
            let join = swarm::join_over_ssh(node_ssh, advertise, manager_addr).secret(&token);
            runner
                .run_with_input(&join, format!("{token}\n").as_bytes())
                .await?;
        }
        Action::RemoveDir { path } => {
            if path.exists() {
                std::fs::remove_dir_all(path)
                    .map_err(|e| anyhow::anyhow!("could not remove {}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// The start of a command line, for a bar's one line.
/// A restarted engine takes a few seconds before it answers; a TLS
/// handshake with the lab's certificates is the proof that it is ready.
async fn wait_engine(runner: &Runner, task: &Task, engine: &Engine) -> anyhow::Result<()> {
    const TRIES: u32 = 60;
    let args: Vec<String> = ["version", "--format", "{{.Server.Version}}"]
        .map(String::from)
        .to_vec();
    let cmd = engine.docker(runner, &args).await?;
    let mut last = None;
    for attempt in 1..=TRIES {
        match runner.query(&cmd).await {
            Ok(out) => {
                task.progress(&format!("Docker {} answers over TLS", out.stdout.trim()));
                return Ok(());
            }
            Err(e) => last = Some(e),
        }
        if attempt < TRIES {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    Err(anyhow::anyhow!(
        "{}'s engine did not answer over TLS within {TRIES}s: {}\nhint: look at its log with `vagrant ssh {} -c 'sudo journalctl -u docker -n 30'` in .lab/",
        engine.machine(),
        last.map(|e| e.to_string()).unwrap_or_default(),
        engine.machine()
    ))
}

fn short(text: &str) -> String {
    const MAX: usize = 72;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}
