//! `lab deploy DIR`: the seed's sample stack (or any like it) on the lab;
//! `--rm` takes it away. Swarm mode deploys `DIR/stack.yml` as a stack;
//! classic mode sends `DIR/docker-compose.yml` to the Swarm manager.

use crate::session::Session;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::checks::verify::{on, on_swarm, words};
use crate::cli::DeployArgs;
use crate::model::{Lab, Mode};
use crate::process::runner::Runner;
use crate::reconcile::observe;
use crate::reconcile::observed::Observed;
use crate::tools::engine::Engine;
use crate::tools::{stack, swarm};

/// How long the services get to start on their nodes.
const CONVERGE: Duration = Duration::from_secs(180);

pub async fn run(lab: &Lab, args: &DeployArgs, session: &Session) -> anyhow::Result<()> {
    let file_name = match lab.mode {
        Mode::Swarm => "stack.yml",
        Mode::Classic => "docker-compose.yml",
    };
    let (file, name) = locate(&args.path, file_name)?;
    // Locking would make the state directory of a lab never built.
    if !lab.state_dir().exists() {
        bail!(
            "lab `{}` is not built: there is nothing to deploy to\nhint: run `lab up` first",
            lab.name
        );
    }
    let _lock = crate::host::state::lock(lab, "deploy")?;
    let runner = session.runner(lab, &crate::reconcile::driver::of(lab).tools())?;
    let (seen, _, _) = observe::read_only(&runner, lab).await?;
    match lab.mode {
        Mode::Swarm => swarm_mode(&runner, lab, &seen, &file, &name, args.rm).await,
        Mode::Classic => classic(&runner, lab, &file, &name, args.rm).await,
    }
}

/// The compose file and the stack's name (its directory's name).
fn locate(path: &Path, file_name: &str) -> anyhow::Result<(PathBuf, String)> {
    let file = if path.is_dir() {
        path.join(file_name)
    } else {
        path.to_path_buf()
    };
    if !file.is_file() {
        bail!(
            "{} does not exist\nhint: `lab deploy DIR` wants DIR/{file_name} (see examples/redmine)",
            file.display()
        );
    }
    let base = std::fs::canonicalize(stack_dir(path, path.is_dir()))
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_default();
    Ok((file, stack_name(&base)))
}

/// The directory a stack is named after: the one given, or the stack
/// file's (for a bare `stack.yml`, `""`: the current one, as for `.`).
fn stack_dir(path: &Path, is_dir: bool) -> &Path {
    if is_dir {
        path
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }
}

/// The stack's name from its directory's: what Docker allows (lower-case
/// letters, digits, '-'), starting with a letter or digit, so that
/// `docker stack deploy` never reads it as a flag.
pub fn stack_name(directory: &str) -> String {
    let name: String = directory
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-');
    if name.is_empty() {
        "stack".into()
    } else {
        name.into()
    }
}

async fn swarm_mode(
    runner: &Runner,
    lab: &Lab,
    seen: &Observed,
    file: &Path,
    name: &str,
    remove: bool,
) -> anyhow::Result<()> {
    let master = lab.master();
    if seen.nodes.is_none() {
        bail!(
            "{} manages no swarm yet\nhint: run `lab up` first",
            master.name
        );
    }
    let manager = crate::reconcile::observe::engine_of(lab, seen, &master.name);
    if remove {
        on(runner, &manager, &words(&["stack", "rm", name])).await?;
        crate::outln!("removed stack {name}");
        return Ok(());
    }
    put(runner, lab, seen, file, name).await?;
    let tasks = converge(runner, &manager, name).await?;
    let rows = service_rows(runner, lab, seen, &manager, name, &tasks).await?;
    crate::out!(
        "{}",
        crate::ui::columns(&["SERVICE", "NODE", "STATE", "URL"], &rows)
    );
    Ok(())
}

/// The stack file's images copied where its services may run, then
/// `docker stack deploy` as `name` (what `lab grade` does too).
pub async fn put(
    runner: &Runner,
    lab: &Lab,
    seen: &Observed,
    file: &Path,
    name: &str,
) -> anyhow::Result<()> {
    let manager = crate::reconcile::observe::engine_of(lab, seen, &lab.master().name);
    copy_images(runner, lab, seen, file).await?;
    let deploy = words(&[
        "stack",
        "deploy",
        "--resolve-image",
        "never",
        "-c",
        &file.display().to_string(),
        name,
    ]);
    let deployed = on_swarm(runner, &manager, &deploy)
        .await
        .with_context(|| format!("deploying {} to the swarm", file.display()))?;
    if let Some(note) = swarm::tries_note(&deployed.retried) {
        crate::errln!("deployed {note}");
    }
    Ok(())
}

/// Machines without a registry get the stack's images from this host, each
/// image only on the machines where a service that uses it may run.
async fn copy_images(
    runner: &Runner,
    lab: &Lab,
    seen: &Observed,
    file: &Path,
) -> anyhow::Result<()> {
    let env = |k: &str| std::env::var(k).ok();
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let services = stack::parse(&text, &env)
        .map_err(anyhow::Error::msg)
        .with_context(|| file.display().to_string())?;
    let mut problems = Vec::new();
    for (i, (image, machines)) in stack::images_by_machine(&services, lab).iter().enumerate() {
        let archive = lab.state_dir().join(format!("deploy-image-{i}.tar"));
        for m in machines {
            let engine = crate::reconcile::observe::engine_of(lab, seen, &m.name);
            let check =
                crate::checks::images::ensure_on(runner, &m.name, &engine, image, &archive).await;
            if !check.passed {
                problems.push(check.detail);
            }
        }
        let _ = std::fs::remove_file(&archive);
    }
    if !problems.is_empty() {
        bail!(
            "the stack's images are not on the machines that run them:\n{}",
            problems.join("\n")
        );
    }
    Ok(())
}

/// One row per service of the stack: where its task runs, its state, and
/// the URLs it answers on.
async fn service_rows(
    runner: &Runner,
    lab: &Lab,
    seen: &Observed,
    manager: &Engine,
    name: &str,
    tasks: &[swarm::StackTask],
) -> anyhow::Result<Vec<Vec<String>>> {
    let out = on(runner, manager, &swarm::stack_services_args(name)).await?;
    let mut rows = Vec::new();
    for service in out.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let inspect = swarm::published_ports_args(service);
        let published = swarm::parse_published_ports(&on(runner, manager, &inspect).await?);
        let task = tasks.iter().find(|t| t.service() == service);
        // The node that runs the task answers in both publishing modes
        // (the routing mesh's and the node's own port).
        let ip = task
            .and_then(|t| seen.ips.get(&t.node))
            .or_else(|| seen.ips.get(&lab.master().name))
            .map(ToString::to_string)
            .unwrap_or_default();
        let urls: Vec<String> = published
            .iter()
            .map(|p| format!("http://{ip}:{p}/"))
            .collect();
        rows.push(vec![
            service.to_string(),
            task.map_or("-".into(), |t| t.node.clone()),
            task.map_or("-".into(), |t| t.current_state.clone()),
            urls.join(" "),
        ]);
    }
    Ok(rows)
}

/// Waits until every service of the stack has a running task; a task that
/// fails is reported with the swarm's own error.
async fn converge(
    runner: &Runner,
    manager: &Engine,
    name: &str,
) -> anyhow::Result<Vec<swarm::StackTask>> {
    let started = Instant::now();
    let services_cmd = swarm::stack_services_args(name);
    let ps = swarm::stack_ps_args(name);
    loop {
        let services: Vec<String> = on_swarm(runner, manager, &services_cmd)
            .await?
            .stdout
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        let tasks = swarm::parse_stack_ps(&on_swarm(runner, manager, &ps).await?.stdout)
            .map_err(anyhow::Error::msg)?;
        let running: Vec<swarm::StackTask> =
            tasks.iter().filter(|t| t.is_running()).cloned().collect();
        if !services.is_empty()
            && services
                .iter()
                .all(|s| running.iter().any(|t| t.service() == s))
        {
            return Ok(running);
        }
        if started.elapsed() > CONVERGE {
            let failing: Vec<String> = tasks
                .iter()
                .filter(|t| !t.is_running())
                .map(|t| {
                    format!(
                        "{} on {}: {} {}",
                        t.name,
                        if t.node.is_empty() {
                            "no node"
                        } else {
                            &t.node
                        },
                        t.current_state,
                        t.error
                    )
                })
                .collect();
            bail!(
                "the stack's services did not all start within {}s:\n{}\nhint: `docker stack ps {name}` on the master (`eval \"$(lab env <master>)\"`) shows why",
                CONVERGE.as_secs(),
                failing.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Classic Swarm: the compose file goes to the Swarm manager, whose
/// scheduler reads the `constraint:node==` variables.
async fn classic(
    runner: &Runner,
    lab: &Lab,
    file: &Path,
    name: &str,
    remove: bool,
) -> anyhow::Result<()> {
    let swarm = Engine::classic_swarm(lab);
    let master = swarm.machine().to_string();
    let mut args = words(&["compose", "-p", name, "-f", &file.display().to_string()]);
    args.extend(if remove {
        words(&["down"])
    } else {
        words(&["up", "-d"])
    });
    let cmd = swarm.docker(runner, &args).await?;
    runner.run(&cmd, &|l| crate::errln!("  {l}")).await?;
    crate::outln!(
        "{} {name} on the classic Swarm of {master}",
        if remove { "removed" } else { "deployed" }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20: `lab deploy stack.yml` and `lab deploy .` named one stack
    /// twice (so `--rm` missed it), and a directory `_help` gave `-help`.
    #[test]
    fn a_stack_has_one_name_however_it_is_given_and_never_a_flags() {
        assert_eq!(stack_dir(Path::new("stack.yml"), false), Path::new("."));
        assert_eq!(stack_dir(Path::new("."), true), Path::new("."));
        assert_eq!(stack_dir(Path::new("a/stack.yml"), false), Path::new("a"));
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().join("My_Stack");
        std::fs::create_dir_all(&here).unwrap();
        std::fs::write(here.join("stack.yml"), "services: {}\n").unwrap();
        let by_file = locate(&here.join("stack.yml"), "stack.yml").unwrap().1;
        let by_dir = locate(&here, "stack.yml").unwrap().1;
        assert_eq!(
            (by_file.as_str(), by_dir.as_str()),
            ("my-stack", "my-stack")
        );
        assert_eq!(stack_name("_help"), "help");
        assert_eq!(stack_name("--"), "stack");
        assert_eq!(stack_name(""), "stack");
    }
}
