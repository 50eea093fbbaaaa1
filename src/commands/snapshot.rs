//! `lab snapshot save|restore|list|delete` and `lab reset`: checkpoints of
//! the whole lab. Every machine is paused first and all are snapshotted
//! while paused, so a manager and its nodes (the swarm's Raft state) come
//! from one moment; a restore brings them all back paused, resumes them
//! together, then `lab up` sees to addresses, certificates and the swarm.
//! Vagrant names each `lab-NAME`; the lab's record lists them, so the
//! snapshots a user took by hand are never taken for the lab's.

use std::time::Instant;

use anyhow::{bail, Context as _};

use crate::cli::SnapshotCommand;
use crate::error::Error;
use crate::host::record::Snapshot;
use crate::model::{Lab, Provider};
use crate::process::runner::Runner;
use crate::process::tool::Tool;
use crate::session::Session;
use crate::tools::vagrant;
use crate::ui::Ui;

use crate::reconcile::checkpoint::{save, AFTER_UP};

pub async fn run(lab: &Lab, command: &SnapshotCommand, session: &Session) -> anyhow::Result<()> {
    let name = match command {
        SnapshotCommand::List { json } => return list(lab, *json, session).await,
        SnapshotCommand::Save { name }
        | SnapshotCommand::Restore { name }
        | SnapshotCommand::Delete { name } => name.as_str(),
    };
    valid_name(name)?;
    supported(lab)?;
    if let SnapshotCommand::Restore { .. } = command {
        return restore(lab, name, session).await;
    }
    let ui = session.ui();
    let (runner, _lock) = super::on_existing_lab(lab, &[Tool::Vagrant], "snapshot", session)?;
    if let SnapshotCommand::Save { .. } = command {
        save(&runner, lab, name, &ui).await
    } else {
        delete(&runner, lab, name, &ui).await
    }
}

/// `lab reset`: back to the snapshot of the first successful `lab up`.
pub async fn reset(lab: &Lab, session: &Session) -> anyhow::Result<()> {
    supported(lab)?;
    if !crate::host::record::of(lab)
        .snapshots
        .iter()
        .any(|s| s.name == AFTER_UP)
    {
        bail!(
            "lab `{}` has no `{AFTER_UP}` snapshot to go back to\nhint: the first `lab up` takes it unless lab.toml says `[snapshots] after_up = false`; `lab snapshot save NAME` takes one by hand",
            lab.name
        );
    }
    restore(lab, AFTER_UP, session).await
}

/// Snapshot names: what Vagrant, libvirt and VirtualBox all take.
fn valid_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        bail!(
            "`{name}` is not a snapshot name: letters, digits, '-', '_' and '.', starting with a letter or digit, at most 40"
        );
    }
    Ok(())
}

fn supported(lab: &Lab) -> anyhow::Result<()> {
    if lab.provider == Provider::Docker {
        return Err(Error::Unsupported {
            what: "a snapshot of the lab".into(),
            provider: lab.provider.as_str().into(),
            hint: "Vagrant's docker provider has no snapshots; `lab destroy` and `lab up` build the lab anew, or use provider = \"libvirt\" or \"virtualbox\"".into(),
        }
        .into());
    }
    Ok(())
}

/// Every machine back to the snapshot (paused, as taken), resumed
/// together; then `lab up` re-reads addresses and mends what the moment
/// before left (certificates for a changed address, the swarm).
async fn restore(lab: &Lab, name: &str, session: &Session) -> anyhow::Result<()> {
    let ui = session.ui();
    let started = Instant::now();
    {
        let (runner, _lock) = super::on_existing_lab(lab, &[Tool::Vagrant], "snapshot", session)?;
        let record = crate::host::record::of(lab);
        let snapshot = recorded(&record, name)?;
        let vagrant_name = vagrant::snapshot_name(name);
        let task = ui.task("restore");
        for machine in &snapshot.machines {
            task.begin(&format!("{machine}: back to {vagrant_name}"));
            runner
                .run(
                    &vagrant::snapshot_restore(lab, machine, &vagrant_name),
                    &|l| task.progress(l),
                )
                .await
                .with_context(|| format!("restoring {machine} to `{name}`"))?;
        }
        let vms = crate::reconcile::observe::vms(&runner, lab).await?;
        let paused: Vec<String> = vms
            .iter()
            .filter(|v| snapshot.machines.contains(&v.name) && !v.is_running())
            .map(|v| v.name.clone())
            .collect();
        if !paused.is_empty() {
            task.begin(&format!("resuming {}", paused.join(", ")));
            runner
                .run(&vagrant::resume(lab, &paused), &|l| task.progress(l))
                .await
                .context("resuming the restored machines")?;
        }
        // The faults are those of the snapshot's moment again.
        let faults = snapshot.faults.clone();
        crate::host::record::update(&lab.state_dir(), |r| r.faults = faults)?;
        task.finish(&format!("machines back to `{name}`"));
    }
    ui.say("checking the restored lab with `lab up`");
    super::up::mend(lab, session).await?;
    ui.say(&format!(
        "the lab is back at `{name}` ({}s)",
        started.elapsed().as_secs()
    ));
    Ok(())
}

async fn delete(runner: &Runner, lab: &Lab, name: &str, ui: &Ui) -> anyhow::Result<()> {
    let record = crate::host::record::of(lab);
    let snapshot = recorded(&record, name)?;
    let vagrant_name = vagrant::snapshot_name(name);
    for machine in &snapshot.machines {
        runner
            .run(
                &vagrant::snapshot_delete(lab, machine, &vagrant_name),
                &|_| {},
            )
            .await
            .with_context(|| format!("deleting {machine}'s snapshot `{name}`"))?;
    }
    crate::host::record::update(&lab.state_dir(), |r| r.snapshots.retain(|s| s.name != name))?;
    ui.say(&format!("deleted snapshot `{name}`"));
    Ok(())
}

/// The lab's snapshot `name`, as its record has it.
fn recorded<'a>(
    record: &'a crate::host::record::Record,
    name: &str,
) -> anyhow::Result<&'a Snapshot> {
    record
        .snapshots
        .iter()
        .find(|s| s.name == name)
        .with_context(|| {
            let names: Vec<&str> = record.snapshots.iter().map(|s| s.name.as_str()).collect();
            format!(
            "the lab has no snapshot `{name}`; it has: {}\nhint: `lab snapshot list` shows them",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        )
        })
}

/// The lab's snapshots from its record; with Vagrant there, the ones each
/// machine has that the lab did not take, listed apart.
async fn list(lab: &Lab, json: bool, session: &Session) -> anyhow::Result<()> {
    let record = crate::host::record::of(lab);
    let mut others: Vec<(String, String)> = Vec::new();
    if lab.provider != Provider::Docker && lab.state_dir().join(".vagrant").exists() {
        if let Ok(runner) = session.reader(&[Tool::Vagrant]) {
            for machine in &lab.machines {
                let Ok(out) = runner
                    .query(&vagrant::snapshot_list(lab, &machine.name))
                    .await
                else {
                    continue;
                };
                for found in vagrant::parse_snapshot_list(&out.stdout) {
                    let ours = found
                        .strip_prefix("lab-")
                        .is_some_and(|n| record.snapshots.iter().any(|s| s.name == n));
                    if !ours {
                        others.push((machine.name.clone(), found));
                    }
                }
            }
        }
    }
    if json {
        let document = serde_json::json!({
            "schema": crate::model::schema::SNAPSHOTS,
            "lab": lab.name,
            "snapshots": record.snapshots,
            "not_labs": others
                .iter()
                .map(|(m, n)| serde_json::json!({"machine": m, "name": n}))
                .collect::<Vec<_>>(),
        });
        crate::outln!("{}", serde_json::to_string_pretty(&document)?);
        return Ok(());
    }
    if record.snapshots.is_empty() {
        crate::outln!("no snapshot of the lab");
    } else {
        let rows: Vec<Vec<String>> = record
            .snapshots
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    s.taken.clone(),
                    format!("{}s", s.seconds),
                    s.machines.join(", "),
                ]
            })
            .collect();
        crate::out!(
            "{}",
            crate::ui::columns(&["NAME", "TAKEN", "TOOK", "MACHINES"], &rows)
        );
    }
    for (machine, name) in &others {
        crate::outln!("not lab's (left alone): {machine}: {name}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_are_plain() {
        for good in ["after-up", "ex3", "a.b_c"] {
            assert!(valid_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-x", "a b", "a/b", "x;y", &"a".repeat(41)] {
            assert!(valid_name(bad).is_err(), "{bad}");
        }
    }
}
