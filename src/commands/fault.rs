//! `lab fault`: drills for a class on failure. `stop` powers a machine off
//! hard, as a crash; `cut` partitions it on the private network; `net` slows
//! its private link; `clear` undoes exactly what lab set; `list` shows it.
//! Each fault is noted in the lab's record once it is in place.

use std::net::Ipv4Addr;

use anyhow::{bail, Context as _};

use crate::cli::FaultCommand;
use crate::host::record::Fault;
use crate::model::{Lab, Provider};
use crate::process::process_builder::Cmd;
use crate::process::runner::Runner;
use crate::process::tool::Tool;
use crate::reconcile::observe;
use crate::reconcile::observed::Observed;
use crate::session::Session;
use crate::tools::{faults, ssh, vagrant};

pub async fn run(lab: &Lab, command: &FaultCommand, session: &Session) -> anyhow::Result<()> {
    if let FaultCommand::List { json } = command {
        return list(lab, *json);
    }
    // Every name is checked before anything is looked at or changed.
    let named: Vec<&String> = match command {
        FaultCommand::Stop { machine } | FaultCommand::Net { machine, .. } => vec![machine],
        FaultCommand::Cut { machine, peers } => std::iter::once(machine).chain(peers).collect(),
        FaultCommand::Clear { machine } => machine.iter().collect(),
        FaultCommand::List { .. } => Vec::new(),
    };
    for name in named {
        lab.known_machine(name)?;
    }
    if let FaultCommand::Cut { machine, peers } = command {
        if peers.contains(machine) {
            bail!(
                "{machine} cannot be cut off from itself\nhint: name the machines it should lose"
            );
        }
    }
    if !lab.state_dir().exists() {
        bail!(
            "lab `{}` is not built: there is nothing to break\nhint: run `lab up` first",
            lab.name
        );
    }
    let mut tools = vec![Tool::Vagrant, Tool::Ssh];
    if lab.provider == Provider::Docker {
        tools.push(Tool::Docker);
    }
    let ui = session.ui();
    let start_again = {
        let _lock = crate::host::state::lock(lab, "fault")?;
        let runner = session.runner(lab, &tools)?;
        match command {
            FaultCommand::Stop { machine } => {
                stop(&runner, lab, machine).await?;
                ui.say(&format!(
                    "{machine} is off, as after a crash; `lab fault clear {machine}` (or `lab up`) brings it back"
                ));
                false
            }
            FaultCommand::Cut { machine, peers } => {
                let detail = cut(&runner, lab, machine, peers).await?;
                ui.say(&format!(
                    "{machine}: {detail}; `lab fault clear {machine}` mends it"
                ));
                false
            }
            FaultCommand::Net {
                machine,
                delay,
                jitter,
                loss,
            } => {
                let detail = net(&runner, lab, machine, *delay, *jitter, *loss).await?;
                ui.say(&format!(
                    "{machine}: {detail}; `lab fault clear {machine}` mends it"
                ));
                false
            }
            FaultCommand::Clear { machine } => clear(&runner, lab, machine.as_deref(), &ui).await?,
            FaultCommand::List { .. } => unreachable!("answered above"),
        }
    };
    if start_again {
        // `up` takes the lab's lock itself, and brings back every stopped
        // machine with its engine and its place in the swarm.
        ui.say("starting the stopped machines again with `lab up`");
        super::up::mend(lab, session).await?;
    }
    Ok(())
}

fn noted(lab: &Lab, machine: &str, kind: &str, detail: &str) -> anyhow::Result<()> {
    let fault = Fault {
        machine: machine.to_string(),
        kind: kind.to_string(),
        detail: detail.to_string(),
        since: crate::model::time::rfc3339(std::time::SystemTime::now()),
    };
    crate::host::record::update(&lab.state_dir(), |r| r.faults.push(fault))
}

/// Off at once, without a shutdown: the container killed, the VM powered
/// off.
async fn stop(runner: &Runner, lab: &Lab, machine: &str) -> anyhow::Result<()> {
    let cmd = match lab.provider {
        Provider::Docker => {
            // Only a container the lab made, as `destroy` decides it.
            let container = lab.host_name(machine);
            let found =
                observe::host_containers(runner, lab, &crate::host::record::of(lab)).await?;
            if !found.ours.contains(&container) {
                bail!(
                    "{machine} has no container of this lab's (`{container}`) to stop: left alone\nhint: `lab status` shows its state"
                );
            }
            Cmd::new(Tool::Docker, ["kill", container.as_str()])
        }
        Provider::Virtualbox | Provider::Libvirt => {
            vagrant::halt_force(lab, &[machine.to_string()])
        }
    };
    runner.run(&cmd, &|_| {}).await?;
    noted(lab, machine, "stop", "powered off, as after a crash")
}

/// The running machines' SSH settings and private addresses.
async fn look(runner: &Runner, lab: &Lab, machine: &str) -> anyhow::Result<Observed> {
    let (seen, _, _) = observe::read_only(runner, lab).await?;
    if !seen.ssh.contains_key(machine) {
        bail!(
            "{machine} is not running\nhint: `lab status` shows its state; `lab fault clear {machine}` or `lab up` starts it"
        );
    }
    Ok(seen)
}

/// The script, as root on the machine.
async fn as_root(
    runner: &Runner,
    seen: &Observed,
    machine: &str,
    script: &str,
) -> Result<(), crate::process::process_error::RunError> {
    let config = &seen.ssh[machine];
    let remote = ssh::remote_command(&["sudo", "sh", "-c", script]);
    runner
        .run(&ssh::ssh(config, &remote), &|_| {})
        .await
        .map(|_| ())
}

/// `machine` and `peers` are lab.toml's names, checked by [`run`].
async fn cut(
    runner: &Runner,
    lab: &Lab,
    machine: &str,
    peers: &[String],
) -> anyhow::Result<String> {
    let seen = look(runner, lab, machine).await?;
    let addresses: Vec<Ipv4Addr> = peers
        .iter()
        .map(|p| {
            seen.ips.get(p).copied().with_context(|| {
                format!("{p}'s address cannot be read\nhint: `lab status` shows why")
            })
        })
        .collect::<anyhow::Result<_>>()?;
    as_root(
        runner,
        &seen,
        machine,
        &faults::cut_script(&lab.interface, &addresses),
    )
    .await
    .with_context(|| format!("cutting {machine} off"))?;
    let detail = if peers.is_empty() {
        format!("cut off from the private network ({})", lab.interface)
    } else {
        format!("cut off from {}", peers.join(", "))
    };
    noted(lab, machine, "cut", &detail)?;
    Ok(detail)
}

async fn net(
    runner: &Runner,
    lab: &Lab,
    machine: &str,
    delay: u32,
    jitter: u32,
    loss: f64,
) -> anyhow::Result<String> {
    let seen = look(runner, lab, machine).await?;
    let script = faults::net_script(&lab.interface, delay, jitter, loss);
    if let Err(e) = as_root(runner, &seen, machine, &script).await {
        if faults::netem_missing(e.stderr()) {
            bail!(
                "{machine}'s kernel has no netem (the sch_netem module), so its link cannot be slowed; nothing was changed{}\nhint: {}",
                if lab.provider == Provider::Docker {
                    ": machines of Vagrant's docker provider share this host's kernel"
                } else {
                    ""
                },
                if lab.provider == Provider::Docker {
                    "load it on this host (`sudo modprobe sch_netem`, from the package linux-modules-extra or your kernel's), or drill on a VM lab"
                } else {
                    "use a box whose kernel has sch_netem"
                }
            );
        }
        return Err(anyhow::Error::new(e).context(format!("slowing {machine}'s link")));
    }
    let mut detail = format!("{} delayed {delay} ms", lab.interface);
    if jitter > 0 {
        detail.push_str(&format!(" (± {jitter} ms)"));
    }
    if loss > 0.0 {
        detail.push_str(&format!(", {loss}% lost"));
    }
    // One slow link at a time: a new one replaces lab's last.
    crate::host::record::update(&lab.state_dir(), |r| {
        r.faults
            .retain(|f| !(f.machine == machine && f.kind == "net"));
    })?;
    noted(lab, machine, "net", &detail)?;
    Ok(detail)
}

/// Undoes lab's faults on `machine`, or on every machine; whether stopped
/// machines want starting.
async fn clear(
    runner: &Runner,
    lab: &Lab,
    machine: Option<&str>,
    ui: &crate::ui::Ui,
) -> anyhow::Result<bool> {
    let targets: Vec<String> = match machine {
        Some(m) => vec![lab.known_machine(m)?.name.clone()],
        None => lab.machines.iter().map(|m| m.name.clone()).collect(),
    };
    let record = crate::host::record::of(lab);
    let (seen, _, _) = observe::read_only(runner, lab).await?;
    let mut stopped = Vec::new();
    for name in &targets {
        if seen.ssh.contains_key(name) {
            as_root(runner, &seen, name, &faults::clear_script(&lab.interface))
                .await
                .with_context(|| format!("clearing {name}'s faults"))?;
        } else if record
            .faults
            .iter()
            .any(|f| &f.machine == name && f.kind == "stop")
        {
            stopped.push(name.clone());
        }
    }
    crate::host::record::update(&lab.state_dir(), |r| {
        r.faults.retain(|f| !targets.contains(&f.machine));
    })?;
    let cleared: Vec<&Fault> = record
        .faults
        .iter()
        .filter(|f| targets.contains(&f.machine))
        .collect();
    if cleared.is_empty() && stopped.is_empty() {
        ui.say("no fault of lab's was in place");
    }
    for fault in cleared {
        ui.say(&format!("cleared: {}: {}", fault.machine, fault.detail));
    }
    Ok(!stopped.is_empty())
}

/// `lab fault list [--json]`, from the record.
fn list(lab: &Lab, json: bool) -> anyhow::Result<()> {
    let faults = crate::host::record::of(lab).faults;
    if json {
        let document = serde_json::json!({
            "schema": crate::model::schema::FAULTS,
            "lab": lab.name,
            "faults": faults,
        });
        crate::outln!("{}", serde_json::to_string_pretty(&document)?);
        return Ok(());
    }
    if faults.is_empty() {
        crate::outln!("no fault in place");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = faults
        .iter()
        .map(|f| {
            vec![
                f.machine.clone(),
                f.kind.clone(),
                f.since.clone(),
                f.detail.clone(),
            ]
        })
        .collect();
    crate::out!(
        "{}",
        crate::ui::columns(&["MACHINE", "FAULT", "SINCE", "WHAT"], &rows)
    );
    Ok(())
}
