//! What this lab made, written down as it makes it: the only things lab
//! removes or reuses. A docker-machine entry, a container or a VM that
//! merely bears one of the lab's names may be another lab's, or the user's
//! own; names alone never decide.
//!
//! `record.json` in the lab's state directory holds the lab's id (also set
//! as the `lab.id` label on every container Vagrant's docker provider makes
//! for it), the machines it brought up with Vagrant's ids for them, and the
//! docker-machine entries it claimed with their driver. Machines stay in the
//! record until `lab destroy`, so lowering `nodes`, renaming a machine or
//! the lab itself leaves nothing behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::model::{Lab, Machine, Role};

const FILE: &str = "record.json";
/// The label on every container made for the lab.
pub const LABEL: &str = "lab.id";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// [`RECORD`](crate::model::schema::RECORD); empty in records written
    /// before records carried one.
    #[serde(default)]
    pub schema: String,
    pub id: String,
    /// The lab.toml, absolute.
    pub file: PathBuf,
    /// The lab's name when this was written: its state directory's and its
    /// host names' prefix.
    pub name: String,
    pub subnet: String,
    /// Lab machine name → what was made for it.
    #[serde(default)]
    pub machines: BTreeMap<String, MachineRecord>,
    /// docker-machine name → the entry lab made under it.
    #[serde(default)]
    pub docker_machine: BTreeMap<String, DmRecord>,
    /// lab.toml as the last `up` read it: the lab can be taken down after
    /// the file is gone.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub lab_toml: String,
    /// Stacks `lab grade` deployed and has not removed yet (a grading
    /// that was stopped): the next one removes them first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grading: Vec<String>,
    /// Fault drills lab set and has not cleared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
    /// Snapshots lab took of the whole lab (Vagrant's `lab-NAME` on each
    /// machine), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<Snapshot>,
}

/// A checkpoint of the whole lab: every machine's snapshot from one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub name: String,
    /// When it was taken (RFC 3339).
    pub taken: String,
    pub machines: Vec<String>,
    /// How long taking it took, in seconds.
    pub seconds: u64,
    /// The fault drills in place when it was taken: a restore brings them
    /// back with the machines' memory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
}

/// A fault drill in place: `lab fault list` and `lab status` show it,
/// `lab fault clear` undoes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub machine: String,
    /// `stop`, `cut` or `net`.
    pub kind: String,
    /// What it does, as a person reads it.
    pub detail: String,
    /// When it was set (RFC 3339).
    pub since: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineRecord {
    /// The VM's or container's name on the host.
    pub host_name: String,
    pub role: Option<Role>,
    /// Vagrant's id for it (the container's id, the VM's UUID), once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vagrant_id: Option<String>,
}

/// A docker-machine entry lab's own create made. It is the lab's only
/// while docker-machine's entry of that name has this driver and points at
/// this address: an entry the user made later under the same name is not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmRecord {
    pub machine: String,
    pub driver: String,
    /// The machine's address lab created the entry for (records written
    /// before had the engine's URL, `tcp://IP:2376`: read the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl DmRecord {
    /// The recorded address, from either form.
    pub fn ip(&self) -> Option<std::net::Ipv4Addr> {
        let address = self.address.as_deref()?;
        let host = address.strip_prefix("tcp://").unwrap_or(address);
        host.split(':').next()?.parse().ok()
    }
}

/// Record changes by concurrent steps of one run (two creates finishing
/// together) go one at a time: each reads what the other wrote.
static UPDATES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Changes the record in `dir`, if there is one, and saves it when it
/// changed.
pub fn update(dir: &Path, change: impl FnOnce(&mut Record)) -> anyhow::Result<()> {
    let _one_at_a_time = UPDATES.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut record) = load(dir)? else {
        return Ok(());
    };
    let before = record.clone();
    change(&mut record);
    if record != before {
        record.save(dir)?;
    }
    Ok(())
}

/// The docker-machine driver lab registers with.
pub const DRIVER: &str = "generic";

impl Record {
    /// A new record for `lab`, with a new id.
    pub fn new(lab: &Lab) -> Record {
        Record {
            id: uuid::Uuid::new_v4().to_string(),
            file: crate::process::files::absolute(&lab.file),
            name: lab.name.clone(),
            subnet: lab.subnet.to_string(),
            ..Record::default()
        }
    }

    /// Notes that the lab is about to make its machines as lab.toml now
    /// describes them; what was recorded before stays. docker-machine
    /// entries are recorded by their creates, once made (see
    /// [`Record::made_entry`]).
    pub fn claim(&mut self, lab: &Lab) {
        // A lab whose directory moved is the same lab, now here.
        self.file = crate::process::files::absolute(&lab.file);
        self.subnet = lab.subnet.to_string();
        if let Ok(text) = std::fs::read_to_string(&lab.file) {
            self.lab_toml = text;
        }
        for m in &lab.machines {
            self.machines
                .entry(m.name.clone())
                .or_insert_with(|| MachineRecord {
                    host_name: lab.host_name(&m.name),
                    role: Some(m.role),
                    vagrant_id: None,
                });
        }
    }

    /// Machines the lab made that lab.toml no longer lists (`nodes`
    /// lowered, a machine renamed): still the lab's until `up` retires them
    /// or `destroy` takes the lab down.
    pub fn extras(&self, lab: &Lab) -> Vec<String> {
        if self.name != lab.name {
            return Vec::new();
        }
        self.machines
            .keys()
            .filter(|m| lab.machine(m).is_none())
            .cloned()
            .collect()
    }

    /// Forgets `machines` and the docker-machine entries made for them.
    pub fn forget(&mut self, machines: &[String]) {
        self.machines.retain(|m, _| !machines.contains(m));
        self.docker_machine
            .retain(|_, entry| !machines.contains(&entry.machine));
    }

    /// docker-machine's entry `name`, which lab's create made for `machine`
    /// at `ip`.
    pub fn made_entry(&mut self, name: &str, machine: &str, ip: &str) {
        self.docker_machine.insert(
            name.to_string(),
            DmRecord {
                machine: machine.to_string(),
                driver: DRIVER.into(),
                address: Some(ip.to_string()),
            },
        );
    }

    /// Whether docker-machine's entry `name` with `driver`, pointing at
    /// `ip`, is one lab made: name, driver and address must all match.
    pub fn owns_entry(&self, name: &str, driver: &str, ip: Option<std::net::Ipv4Addr>) -> bool {
        self.docker_machine
            .get(name)
            .is_some_and(|r| r.driver == driver && ip.is_some() && r.ip() == ip)
    }

    /// Whether an entry named `name` with `driver` may be the lab's, so
    /// its address is worth asking for (docker-machine's list shows none
    /// for a machine that is down).
    pub fn may_own_entry(&self, name: &str, driver: &str) -> bool {
        self.docker_machine
            .get(name)
            .is_some_and(|r| r.driver == driver && r.address.is_some())
    }

    /// Whether a host container is the lab's: it carries the lab's label,
    /// or it is the container Vagrant made for one of its machines.
    pub fn owns_container(&self, label: &str, id: &str) -> bool {
        (!self.id.is_empty() && label == self.id)
            || (!id.is_empty()
                && self.machines.values().any(|m| {
                    m.vagrant_id
                        .as_deref()
                        .is_some_and(|v| v.starts_with(id) || id.starts_with(v))
                }))
    }

    /// The lab as this record knows it, for taking it down: today's
    /// settings under the recorded name and subnet, with every machine it
    /// made, those lab.toml no longer lists among them.
    pub fn lab(&self, today: &Lab) -> Lab {
        let mut lab = today.clone();
        lab.name.clone_from(&self.name);
        if let Ok(subnet) = crate::model::parse_subnet(&self.subnet) {
            lab.subnet = subnet;
        }
        if lab.name != today.name {
            lab.machines.clear();
        }
        for (name, made) in &self.machines {
            if lab.machine(name).is_none() {
                lab.machines.push(Machine {
                    name: name.clone(),
                    role: made.role.unwrap_or(Role::Node),
                });
            }
        }
        // Roles decide what a lab is built of, not what goes: a lab with
        // no master on record gets its first machine as one.
        if !lab.machines.iter().any(|m| m.role == Role::Master) {
            if let Some(first) = lab.machines.first_mut() {
                first.role = Role::Master;
            }
        }
        lab
    }

    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let mut versioned = self.clone();
        versioned.schema = crate::model::schema::RECORD.into();
        let text = serde_json::to_string_pretty(&versioned)?;
        crate::process::files::write_atomically(&dir.join(FILE), text.as_bytes())
    }
}

/// The record in a state directory, if there is one.
pub fn load(dir: &Path) -> anyhow::Result<Option<Record>> {
    let path = dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let record: Record = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not lab's record of what it made\nhint: lab touches only what it recorded; mend the file, or remove what the lab made yourself and then the file",
                    path.display()
                )
            })?;
            if !record.schema.is_empty() && record.schema != crate::model::schema::RECORD {
                anyhow::bail!(
                    "{} is a record of schema {}, and this lab reads {}: a newer lab wrote it\nhint: use that lab, or a newer one",
                    path.display(),
                    record.schema,
                    crate::model::schema::RECORD
                );
            }
            Ok(Some(record))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The lab's record, or an empty one (nothing is the lab's).
pub fn of(lab: &Lab) -> Record {
    load(&lab.state_dir()).ok().flatten().unwrap_or_default()
}

/// The records in the state directories beside `file` (`.lab`, `.lab-NAME`)
/// that were written for it.
fn records_for(file: &Path) -> Vec<(PathBuf, Record)> {
    let me = crate::process::files::absolute(file);
    let root = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, Record)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == ".lab" || n.starts_with(".lab-"))
        })
        .filter_map(|dir| Some((dir.clone(), load(&dir).ok().flatten()?)))
        .filter(|(_, r)| r.file == me)
        .collect();
    found.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    found
}

/// A lab whose lab.toml is gone, as its record knows it (the file as the
/// last `up` read it): enough to take it down, or to look at it.
pub fn lab_without_file(file: &Path) -> Option<Lab> {
    records_for(file)
        .into_iter()
        .map(|(_, r)| r)
        .find(|r| !r.lab_toml.is_empty())
        .and_then(|r| crate::model::parse(file, &r.lab_toml).ok())
}

/// Records of this lab.toml's labs in other state directories beside it:
/// left by a lab whose `name` has changed since.
pub fn elsewhere(lab: &Lab) -> Vec<Record> {
    records_for(&lab.file)
        .into_iter()
        .filter(|(dir, _)| *dir != lab.state_dir())
        .map(|(_, r)| r)
        .collect()
}

/// Vagrant's id for each machine it has made in the lab's state directory.
pub fn vagrant_ids(lab: &Lab) -> BTreeMap<String, String> {
    let base = lab.state_dir().join(".vagrant").join("machines");
    lab.machines
        .iter()
        .filter_map(|m| {
            let id =
                std::fs::read_to_string(base.join(&m.name).join(lab.provider.as_str()).join("id"))
                    .ok()?;
            let id = id.trim().to_string();
            (!id.is_empty()).then(|| (m.name.clone(), id))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_in(dir: &Path, text: &str) -> Lab {
        let file = dir.join("lab.toml");
        std::fs::write(&file, text).unwrap();
        crate::model::parse(&file, text).unwrap()
    }

    #[test]
    fn a_record_keeps_machines_lab_toml_no_longer_lists() {
        let dir = tempfile::tempdir().unwrap();
        let three = lab_in(dir.path(), "box = \"x/y\"\n[swarm]\nnodes = 3\n");
        let mut record = Record::new(&three);
        record.claim(&three);
        let one = lab_in(dir.path(), "box = \"x/y\"\n[swarm]\nnodes = 1\n");
        record.claim(&one);
        let names: Vec<String> = record
            .lab(&one)
            .machines
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(
            names,
            [
                "consul",
                "swarm-master",
                "swarm-node01",
                "swarm-node02",
                "swarm-node03"
            ]
        );
        assert!(
            record.docker_machine.is_empty(),
            "no entry is the lab's before its create made it"
        );
    }

    #[test]
    fn an_entry_is_the_labs_only_by_name_driver_and_address() {
        let mut record = Record::default();
        let at = |ip: &str| Some(ip.parse().unwrap());
        assert!(!record.owns_entry("swarm-master", "generic", at("192.168.61.3")));
        record.made_entry("swarm-master", "swarm-master", "192.168.61.3");
        assert!(record.owns_entry("swarm-master", "generic", at("192.168.61.3")));
        assert!(!record.owns_entry("swarm-master", "virtualbox", at("192.168.61.3")));
        assert!(
            !record.owns_entry("swarm-master", "generic", at("203.0.113.7")),
            "the user's own entry under the lab's name"
        );
        assert!(!record.owns_entry("swarm-master", "generic", None));
        assert!(!record.owns_entry("consul", "generic", at("192.168.61.3")));
        // What a record written by an earlier lab says: the engine's URL,
        // or (a claim before the create) no address at all.
        record
            .docker_machine
            .get_mut("swarm-master")
            .unwrap()
            .address = Some("tcp://192.168.61.3:2376".into());
        assert!(record.owns_entry("swarm-master", "generic", at("192.168.61.3")));
        record
            .docker_machine
            .get_mut("swarm-master")
            .unwrap()
            .address = None;
        assert!(!record.owns_entry("swarm-master", "generic", at("192.168.61.3")));
        assert!(!record.may_own_entry("swarm-master", "generic"));
    }

    #[test]
    fn a_renamed_lab_is_found_by_its_file_and_taken_down_under_its_old_name() {
        let dir = tempfile::tempdir().unwrap();
        let old = lab_in(
            dir.path(),
            "name = \"old\"\nbox = \"x/y\"\n[swarm]\nnodes = 1\n",
        );
        crate::host::state::ensure(&old).unwrap();
        let mut record = Record::new(&old);
        record.claim(&old);
        record.save(&old.state_dir()).unwrap();
        let new = lab_in(
            dir.path(),
            "name = \"new\"\nbox = \"x/y\"\n[swarm]\nnodes = 1\n",
        );
        let found = elsewhere(&new);
        assert_eq!(found.len(), 1);
        let as_was = found[0].lab(&new);
        assert_eq!(as_was.state_dir(), old.state_dir());
        assert_eq!(as_was.host_name("consul"), "old-consul");
        // Another lab.toml's record in the same directory is not this lab's.
        let other_file = dir.path().join("other.toml");
        std::fs::write(&other_file, "name = \"x\"\nbox = \"x/y\"\n").unwrap();
        let other = crate::model::load(&other_file).unwrap();
        assert!(elsewhere(&other).is_empty());
    }

    #[test]
    fn containers_are_the_labs_by_label_or_by_vagrants_id() {
        let mut record = Record {
            id: "abc".into(),
            ..Record::default()
        };
        record.machines.insert(
            "consul".into(),
            MachineRecord {
                host_name: "lab-consul".into(),
                role: None,
                vagrant_id: Some("0123456789abcdef".into()),
            },
        );
        assert!(record.owns_container("abc", "ffff"));
        assert!(record.owns_container("", "0123456789ab"));
        assert!(!record.owns_container("", "999999999999"));
        assert!(!record.owns_container("other", "999999999999"));
        assert!(!Record::default().owns_container("", ""));
    }
}
