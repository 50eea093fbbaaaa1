//! What the lab owns, for `lab up`: the record claimed before anything is
//! made, refused when something that only bears the lab's names stands in
//! the way, and kept up to date (Vagrant's ids, where entries point) after.

use anyhow::Context as _;

use crate::error::{Error, NotOurs};
use crate::host::record::{self, Record};
use crate::model::Lab;
use crate::process::runner::Runner;
use crate::reconcile::observe;
use crate::reconcile::observed::Observed;
use crate::ui::Ui;

/// A lab this lab.toml built under another name is taken down first:
/// building beside it would leave it running with nothing to find it by.
pub fn not_renamed(lab: &Lab) -> anyhow::Result<()> {
    let Some(old) = record::elsewhere(lab).into_iter().next() else {
        return Ok(());
    };
    Err(Error::NotOurs(NotOurs {
        things: vec![crate::error::Foreign {
            what: format!(
                "lab `{}`, which this lab.toml built before its name changed (its machines are `{}-...`)",
                old.name, old.name
            ),
            remove_with: None,
        }],
        file: lab.file.clone(),
    }))
    .context("run `lab destroy` first: it takes the lab down under its old name too; then `lab up`")
}

/// Before anything runs: the lab's record, claiming what lab.toml
/// describes now. What bears the lab's names on this host but is not its
/// own (another lab's container, the user's docker-machine VM) stops `up`
/// here. Returns docker-machine's entries that are the lab's own.
pub async fn claim(
    runner: &Runner,
    vbox: Option<&Runner>,
    lab: &Lab,
    ui: &Ui,
) -> anyhow::Result<std::collections::BTreeMap<String, crate::tools::docker_machine::DmMachine>> {
    let dir = crate::host::state::ensure(lab)?;
    let recorded = record::load(&dir)?;
    let earlier = recorded.is_none() && dir.join("Vagrantfile").exists();
    let mut record = recorded.unwrap_or_else(|| Record::new(lab));
    if earlier {
        adopt(runner, lab, &mut record, ui).await?;
    }
    let mut foreign = Vec::new();
    let mut ours = Default::default();
    if crate::reconcile::driver::of(lab).keeps_entries() {
        let found = observe::docker_machines(runner, lab, &record).await?;
        foreign.extend(found.foreign);
        ours = found.ours;
    }
    foreign.extend(
        observe::host_containers(runner, lab, &record)
            .await?
            .foreign,
    );
    if let Some(vbox) = vbox {
        foreign.extend(observe::host_vms(vbox, lab, &record).await?.foreign);
    }
    if !foreign.is_empty() {
        return Err(Error::NotOurs(NotOurs {
            things: foreign,
            file: lab.file.clone(),
        })
        .into());
    }
    record.claim(lab);
    record.save(&dir)?;
    Ok(ours)
}

/// A lab built before lab kept records: the machines Vagrant made for it
/// (its ids in the lab's own state) are the lab's, and so are generic
/// docker-machine entries under their names that point into the lab's
/// subnet; an entry with another driver, or elsewhere, still is not.
async fn adopt(runner: &Runner, lab: &Lab, record: &mut Record, ui: &Ui) -> anyhow::Result<()> {
    let made = record::vagrant_ids(lab);
    if made.is_empty() {
        return Ok(());
    }
    if crate::reconcile::driver::of(lab).keeps_entries() {
        let vagrant_made = |name: &str, driver: &str| {
            driver == record::DRIVER
                && lab
                    .machine_of_dm_name(name)
                    .is_some_and(|m| made.contains_key(&m.name))
        };
        for (entry, ip) in observe::dm_entries(runner, lab, vagrant_made).await? {
            let (Some(machine), Some(ip)) = (lab.machine_of_dm_name(&entry.name), ip) else {
                continue;
            };
            if vagrant_made(&entry.name, &entry.driver) && lab.subnet.contains(ip) {
                record.made_entry(&entry.name, &machine.name, &ip.to_string());
            }
        }
    }
    ui.say("this lab was built before lab kept a record of what it makes; what Vagrant made for it is recorded now");
    Ok(())
}

/// Vagrant's ids for the machines it made, into the record.
pub fn note_vagrant_ids(lab: &Lab) -> anyhow::Result<()> {
    record::update(&lab.state_dir(), |record| {
        for (machine, id) in record::vagrant_ids(lab) {
            if let Some(made) = record.machines.get_mut(&machine) {
                made.vagrant_id = Some(id);
            }
        }
    })
}

/// Running machines whose private interface is missing.
pub async fn half_made_machines(
    runner: &Runner,
    lab: &Lab,
    seen: &Observed,
) -> anyhow::Result<Vec<String>> {
    let ssh = observe::ssh_configs(runner, lab, &seen.vms).await?;
    Ok(observe::addresses(runner, lab, &ssh)
        .await
        .into_iter()
        .filter(|(_, r)| r.as_ref().is_err_and(|e| e.contains("has no interface")))
        .map(|(name, _)| name)
        .collect())
}
