//! An exercise's checks against a live lab: each asks the swarm's manager,
//! a machine's engine, a machine over ssh or a port over HTTP, and says
//! what it saw (the evidence), whether it passed or not. A check with a
//! `within` keeps asking until it passes or its time is up; the checks run
//! side by side.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::checks::verify::{on, words};
use crate::model::exercise::{
    Check, ExecCheck, ExecOn, Exercise, HttpCheck, Kind, ServiceCheck, Target,
};
use crate::model::{Lab, Role};
use crate::process::runner::Runner;
use crate::reconcile::observe::engine_of;
use crate::reconcile::observed::Observed;
use crate::tools::swarm;

/// How often a check that has a `within` asks again.
const AGAIN: Duration = Duration::from_secs(3);
/// How long one HTTP request may take.
const HTTP_LIMIT: Duration = Duration::from_secs(15);
/// How much of an answer a report shows.
const SHOWN: usize = 120;

/// One check's result, as `lab check` prints it and `lab.check/1` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub name: String,
    pub passed: bool,
    pub points: u32,
    pub max_points: u32,
    /// What was seen.
    pub detail: String,
    /// The exercise's hint, for a check that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Outcome {
    /// `PASS  name  detail` (and the hint under a FAIL), continuation lines
    /// indented as `lab verify` does.
    pub fn lines(&self) -> String {
        let word = if self.passed { "PASS" } else { "FAIL" };
        let mut text = format!(
            "{word}  {}  ({}/{})\n      {}",
            self.name,
            self.points,
            self.max_points,
            self.detail.replace('\n', "\n      ")
        );
        if let (false, Some(hint)) = (self.passed, &self.hint) {
            text.push_str(&format!("\n      hint: {hint}"));
        }
        text
    }
}

/// What every check reads: the lab, what was observed of it, a runner,
/// and how far it may look.
struct Context {
    runner: Runner,
    lab: Lab,
    seen: Observed,
    scope: Scope,
}

/// Where the checks look and until when: `lab grade` checks the one
/// stack it deployed, within each submission's time limit.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Services are this stack's only (`STACK_name`).
    pub stack: Option<String>,
    /// No check starts a new look after this; one still running then is
    /// stopped and fails.
    pub deadline: Option<Instant>,
}

/// Runs every check of `exercise`, side by side; the outcomes in the
/// exercise's order. `done` hears of each outcome as it comes.
pub async fn run(
    runner: &Runner,
    lab: &Lab,
    seen: &Observed,
    exercise: &Exercise,
    scope: &Scope,
    done: &dyn Fn(usize, &Outcome),
) -> Vec<Outcome> {
    let context = Arc::new(Context {
        runner: runner.clone(),
        lab: lab.clone(),
        seen: seen.clone(),
        scope: scope.clone(),
    });
    let mut running = tokio::task::JoinSet::new();
    for (i, check) in exercise.checks.iter().cloned().enumerate() {
        let context = context.clone();
        running.spawn(async move { (i, outcome(&context, &check).await) });
    }
    let mut outcomes: Vec<Option<Outcome>> = vec![None; exercise.checks.len()];
    let mut finished = 0;
    loop {
        let next = match scope.deadline {
            Some(deadline) => {
                // A look that hangs past the deadline (a stalled engine) is
                // given a little grace, then stopped.
                let until = tokio::time::Instant::from_std(deadline + AGAIN);
                match tokio::time::timeout_at(until, running.join_next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        running.abort_all();
                        break;
                    }
                }
            }
            None => running.join_next().await,
        };
        let Some(joined) = next else { break };
        if let Ok((i, outcome)) = joined {
            finished += 1;
            done(finished, &outcome);
            outcomes[i] = Some(outcome);
        }
    }
    outcomes
        .into_iter()
        .zip(&exercise.checks)
        .map(|(o, check)| {
            o.unwrap_or_else(|| Outcome {
                name: check.name.clone(),
                passed: false,
                points: 0,
                max_points: check.points,
                detail: if scope.deadline.is_some() {
                    "stopped at the time limit before it could say".into()
                } else {
                    "the check stopped before it could say".into()
                },
                hint: check.hint.clone(),
            })
        })
        .collect()
}

/// One check, asked again until it passes or its `within` (or the
/// scope's deadline) is up.
async fn outcome(context: &Context, check: &Check) -> Outcome {
    let started = Instant::now();
    let mut tries = 0u32;
    let result = loop {
        tries += 1;
        let result = once(context, &check.kind).await;
        let past_deadline = context
            .scope
            .deadline
            .is_some_and(|d| Instant::now() + AGAIN > d);
        if result.is_ok() || started.elapsed() + AGAIN > check.within || past_deadline {
            break result;
        }
        tokio::time::sleep(AGAIN).await;
    };
    let (passed, mut detail) = match result {
        Ok(seen) => (true, seen),
        Err(seen) => (false, seen),
    };
    if tries > 1 {
        detail.push_str(&format!(
            " ({} after {:.0}s, {tries} looks)",
            if passed { "passed" } else { "still so" },
            started.elapsed().as_secs_f64()
        ));
    }
    Outcome {
        name: check.name.clone(),
        passed,
        points: if passed { check.points } else { 0 },
        max_points: check.points,
        detail,
        hint: check.hint.clone(),
    }
}

/// One look: Ok with what was seen when the check holds, else Err with it.
async fn once(context: &Context, kind: &Kind) -> Result<String, String> {
    match kind {
        Kind::Nodes { ready, managers } => nodes(context, *ready, *managers).await,
        Kind::Service(check) => service(context, check).await,
        Kind::Http(check) => http(context, check).await,
        Kind::Exec(check) => exec(context, check).await,
    }
}

/// `docker ARGS` on the swarm's manager.
async fn on_manager(context: &Context, args: &[String]) -> Result<String, String> {
    let manager = engine_of(&context.lab, &context.seen, &context.lab.master().name);
    on(&context.runner, &manager, args)
        .await
        .map_err(|e| format!("{e:#}"))
}

async fn nodes(
    context: &Context,
    ready: Option<u32>,
    managers: Option<u32>,
) -> Result<String, String> {
    let listed = on_manager(context, &swarm::node_ls_args()).await?;
    let nodes = swarm::parse_node_ls(&listed)?;
    let up: Vec<&str> = nodes
        .iter()
        .filter(|n| n.is_ready())
        .map(|n| n.hostname.as_str())
        .collect();
    let leading = nodes
        .iter()
        .filter(|n| !n.manager_status.is_empty())
        .count();
    let seen = format!(
        "{} Ready ({}), {leading} manager{}",
        up.len(),
        up.join(", "),
        if leading == 1 { "" } else { "s" }
    );
    let holds = ready.is_none_or(|r| up.len() == r as usize)
        && managers.is_none_or(|m| leading == m as usize);
    if holds {
        Ok(seen)
    } else {
        let wanted: Vec<String> = [
            ready.map(|r| format!("{r} Ready")),
            managers.map(|m| format!("{m} manager{}", if m == 1 { "" } else { "s" })),
        ]
        .into_iter()
        .flatten()
        .collect();
        Err(format!("{seen}; expected {}", wanted.join(", ")))
    }
}

/// The swarm's name for the stack file's service `wanted`.
async fn service_name(context: &Context, wanted: &str) -> Result<String, String> {
    let listed = on_manager(context, &swarm::service_ls_args()).await?;
    let services: Vec<String> = listed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .filter(|s| {
            context
                .scope
                .stack
                .as_ref()
                .is_none_or(|stack| s.starts_with(&format!("{stack}_")))
        })
        .collect();
    swarm::resolve_service(&services, wanted)
}

/// The running tasks of a service.
async fn running_tasks(context: &Context, service: &str) -> Result<Vec<swarm::StackTask>, String> {
    let listed = on_manager(context, &swarm::service_ps_args(service)).await?;
    Ok(swarm::parse_stack_ps(&listed)?
        .into_iter()
        .filter(swarm::StackTask::is_running)
        .collect())
}

async fn service(context: &Context, check: &ServiceCheck) -> Result<String, String> {
    let name = service_name(context, &check.service).await?;
    let tasks = running_tasks(context, &name).await?;
    let placed: Vec<String> = tasks
        .iter()
        .map(|t| format!("{} on {}", t.name, t.node))
        .collect();
    let mut seen = vec![format!(
        "{name}: {} running{}",
        tasks.len(),
        if placed.is_empty() {
            String::new()
        } else {
            format!(" ({})", placed.join(", "))
        }
    )];
    let mut wrong = Vec::new();
    if let Some(n) = check.running {
        if tasks.len() != n as usize {
            wrong.push(format!("expected {n} running"));
        }
    }
    if !check.nodes.is_empty() {
        let elsewhere: Vec<&str> = tasks
            .iter()
            .filter(|t| !check.nodes.contains(&t.node))
            .map(|t| t.node.as_str())
            .collect();
        if !elsewhere.is_empty() || tasks.is_empty() {
            wrong.push(format!(
                "expected every task on {}",
                check.nodes.join(" or ")
            ));
        }
    }
    if let Some(k) = check.spread {
        let mut hosts: Vec<&str> = tasks.iter().map(|t| t.node.as_str()).collect();
        hosts.sort_unstable();
        hosts.dedup();
        if hosts.len() < k as usize {
            wrong.push(format!(
                "expected tasks on {k} machines, they are on {}",
                hosts.len()
            ));
        }
    }
    if check.image.is_some() || check.published.is_some() || check.replicas {
        let inspected = on_manager(context, &swarm::service_inspect_args(&name)).await?;
        let spec = swarm::parse_service_spec(&inspected)?;
        if let Some(re) = &check.image {
            seen.push(format!("image {}", spec.image));
            if !re.is_match(&spec.image) {
                wrong.push(format!("expected an image matching `{}`", re.as_str()));
            }
        }
        if let Some(port) = check.published {
            let shown: Vec<String> = spec.published.iter().map(ToString::to_string).collect();
            seen.push(format!(
                "publishes {}",
                if shown.is_empty() {
                    "no port".to_string()
                } else {
                    shown.join(", ")
                }
            ));
            if !spec.published.contains(&port) {
                wrong.push(format!("expected port {port} published"));
            }
        }
        if check.replicas {
            match spec.replicas {
                Some(r) => {
                    seen.push(format!("declares {r} replicas"));
                    if tasks.len() as u64 != r {
                        wrong.push(format!("expected all {r} declared replicas running"));
                    }
                }
                None => seen.push("a global service".into()),
            }
        }
    }
    let seen = seen.join("; ");
    if wrong.is_empty() {
        Ok(seen)
    } else {
        Err(format!("{seen}; {}", wrong.join("; ")))
    }
}

/// The machines an HTTP check asks: one, or every swarm machine.
fn targets(lab: &Lab, target: &Target) -> Result<Vec<String>, String> {
    match target {
        Target::Machine(m) => Ok(vec![lab
            .known_machine(m)
            .map_err(|e| e.to_string())?
            .name
            .clone()]),
        Target::Every => Ok(lab
            .machines
            .iter()
            .filter(|m| m.role != Role::Consul)
            .map(|m| m.name.clone())
            .collect()),
    }
}

async fn http(context: &Context, check: &HttpCheck) -> Result<String, String> {
    let mut seen = Vec::new();
    let mut failed = false;
    for machine in targets(&context.lab, &check.machine)? {
        let Some(ip) = context.seen.ips.get(&machine) else {
            failed = true;
            seen.push(format!(
                "{machine}: its address is unknown (is it running?)"
            ));
            continue;
        };
        let url = format!("http://{ip}:{}{}", check.port, check.path);
        match crate::tools::http::get(*ip, check.port, &check.path, HTTP_LIMIT).await {
            Err(e) => {
                failed = true;
                seen.push(format!("{url}: {e}"));
            }
            Ok(response) => {
                let status_ok = check
                    .status
                    .map_or(response.status < 400, |s| response.status == s);
                let body_ok = check
                    .body
                    .as_ref()
                    .is_none_or(|re| re.is_match(&response.body));
                failed |= !(status_ok && body_ok);
                let mut line = format!("{url}: {} {}", response.status, shown(&response.body));
                if !status_ok {
                    line.push_str(&format!(
                        "; expected status {}",
                        check
                            .status
                            .map_or("below 400".to_string(), |s| s.to_string())
                    ));
                }
                if let (false, Some(re)) = (body_ok, &check.body) {
                    line.push_str(&format!("; expected a body matching `{}`", re.as_str()));
                }
                seen.push(line);
            }
        }
    }
    let seen = seen.join("\n");
    if failed {
        Err(seen)
    } else {
        Ok(seen)
    }
}

/// The start of a text, on one line.
fn shown(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > SHOWN {
        format!("{:?}…", flat.chars().take(SHOWN).collect::<String>())
    } else {
        format!("{flat:?}")
    }
}

async fn exec(context: &Context, check: &ExecCheck) -> Result<String, String> {
    let (place, output) = match &check.on {
        ExecOn::Machine(m) => {
            let machine = context.lab.known_machine(m).map_err(|e| e.to_string())?;
            let config = context.seen.ssh.get(&machine.name).ok_or_else(|| {
                format!(
                    "{}: not running, or its SSH settings are unknown",
                    machine.name
                )
            })?;
            let words: Vec<&str> = check.command.iter().map(String::as_str).collect();
            let cmd = crate::tools::ssh::ssh(config, &crate::tools::ssh::remote_command(&words));
            let out = context
                .runner
                .output(&cmd.query(), &|_| {})
                .await
                .map_err(|e| e.to_string())?;
            (machine.name.clone(), out)
        }
        ExecOn::Service(wanted) => {
            let name = service_name(context, wanted).await?;
            let task = running_tasks(context, &name)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| format!("{name} has no running task to run the command in"))?;
            let container = on_manager(context, &swarm::task_container_args(&task.id)).await?;
            let engine = engine_of(&context.lab, &context.seen, &task.node);
            let mut args = words(&["exec", container.trim()]);
            args.extend(check.command.iter().cloned());
            let cmd = engine
                .docker(&context.runner, &args)
                .await
                .map_err(|e| format!("{e:#}"))?;
            let out = context
                .runner
                .output(&cmd.query(), &|_| {})
                .await
                .map_err(|e| e.to_string())?;
            (format!("{} on {}", task.name, task.node), out)
        }
    };
    let code = output.code.unwrap_or(-1);
    let mut seen = format!("in {place}: exit {code}");
    if !output.stdout.trim().is_empty() {
        seen.push_str(&format!(", stdout {}", shown(&output.stdout)));
    }
    if !output.stderr.trim().is_empty() {
        seen.push_str(&format!(", stderr {}", shown(&output.stderr)));
    }
    let mut wrong = Vec::new();
    if code != check.exit {
        wrong.push(format!("expected exit {}", check.exit));
    }
    if let Some(re) = check
        .stdout
        .as_ref()
        .filter(|re| !re.is_match(&output.stdout))
    {
        wrong.push(format!("expected stdout matching `{}`", re.as_str()));
    }
    if let Some(re) = check
        .stderr
        .as_ref()
        .filter(|re| !re.is_match(&output.stderr))
    {
        wrong.push(format!("expected stderr matching `{}`", re.as_str()));
    }
    if wrong.is_empty() {
        Ok(seen)
    } else {
        Err(format!("{seen}; {}", wrong.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_outcome_shows_its_evidence_and_hint() {
        let outcome = Outcome {
            name: "PostgreSQL runs on swarm-node02".into(),
            passed: false,
            points: 0,
            max_points: 2,
            detail: "redmine_db: 1 running (redmine_db.1 on swarm-node01); expected every task on swarm-node02".into(),
            hint: Some("a placement constraint: node.hostname == swarm-node02".into()),
        };
        let text = outcome.lines();
        assert!(
            text.starts_with(
                "FAIL  PostgreSQL runs on swarm-node02  (0/2)\n      redmine_db: 1 running"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("\n      hint: a placement constraint: node.hostname == swarm-node02"),
            "{text}"
        );
        let passed = Outcome {
            passed: true,
            points: 2,
            ..outcome
        };
        assert!(!passed.lines().contains("hint:"));
    }

    #[test]
    fn long_answers_are_shown_by_their_start_on_one_line() {
        assert_eq!(shown("a\n  b"), "\"a b\"");
        let long = "x".repeat(500);
        assert!(shown(&long).ends_with("\"…") && shown(&long).len() < 200);
    }
}
