//! Taking a checkpoint of the whole lab (`lab snapshot save`, and the
//! first successful `lab up`): every machine paused first and all
//! snapshotted while paused, so a manager and its nodes (the swarm's Raft
//! state) come from one moment; the lab's record lists what was taken.

use std::time::{Instant, SystemTime};

use anyhow::{bail, Context as _};

use crate::host::record::Snapshot;
use crate::model::Lab;
use crate::process::runner::Runner;
use crate::tools::vagrant;
use crate::ui::Ui;

/// The snapshot the first successful `lab up` takes, and `lab reset` goes
/// back to.
pub const AFTER_UP: &str = "after-up";

/// Every machine of the lab, paused together, snapshotted, resumed. A
/// failure part-way removes what this save took and resumes the machines.
pub async fn save(runner: &Runner, lab: &Lab, name: &str, ui: &Ui) -> anyhow::Result<()> {
    let record = crate::host::record::of(lab);
    if record.snapshots.iter().any(|s| s.name == name) {
        bail!(
            "the lab already has a snapshot `{name}`\nhint: `lab snapshot delete {name}` first, or choose another name"
        );
    }
    let vms = crate::reconcile::observe::vms(runner, lab).await?;
    let machines: Vec<String> = lab.machines.iter().map(|m| m.name.clone()).collect();
    let missing: Vec<&str> = machines
        .iter()
        .filter(|m| !vms.iter().any(|v| &v.name == *m && v.is_created()))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} not made yet: a snapshot takes the whole lab\nhint: run `lab up` first",
            missing.join(", ")
        );
    }
    let running: Vec<String> = vms
        .iter()
        .filter(|v| v.is_running() && machines.contains(&v.name))
        .map(|v| v.name.clone())
        .collect();
    let started = Instant::now();
    let task = ui.task("snapshot");
    let vagrant_name = vagrant::snapshot_name(name);
    if !running.is_empty() {
        task.begin(&format!("pausing {}", running.join(", ")));
        runner
            .run(&vagrant::suspend(lab, &running), &|l| task.progress(l))
            .await?;
    }
    let mut taken = Vec::new();
    let mut failure = None;
    for machine in &machines {
        task.begin(&format!("{machine}: taking {vagrant_name}"));
        match runner
            .run(&vagrant::snapshot_save(lab, machine, &vagrant_name), &|l| {
                task.progress(l)
            })
            .await
        {
            Ok(_) => taken.push(machine.clone()),
            Err(e) => {
                failure =
                    Some(anyhow::Error::new(e).context(format!("taking {machine}'s snapshot")));
                break;
            }
        }
    }
    if failure.is_some() {
        for machine in &taken {
            let _ = runner
                .run(
                    &vagrant::snapshot_delete(lab, machine, &vagrant_name),
                    &|_| {},
                )
                .await;
        }
    }
    if !running.is_empty() {
        task.begin(&format!("resuming {}", running.join(", ")));
        runner
            .run(&vagrant::resume(lab, &running), &|l| task.progress(l))
            .await
            .context("resuming the machines after the snapshot")?;
    }
    if let Some(e) = failure {
        task.finish("failed: nothing was kept");
        return Err(e);
    }
    let seconds = started.elapsed().as_secs();
    crate::host::record::update(&lab.state_dir(), |r| {
        r.snapshots.push(Snapshot {
            name: name.to_string(),
            taken: crate::model::time::rfc3339(SystemTime::now()),
            machines: machines.clone(),
            seconds,
            faults: r.faults.clone(),
        });
    })?;
    task.finish(&format!(
        "saved `{name}` of {} machines in {seconds}s",
        machines.len()
    ));
    Ok(())
}
