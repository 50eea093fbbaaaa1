//! The labs on this host. Names and subnets are global on a host (VM and
//! container names, docker-machine entries, host-only networks), so `lab up`
//! records each lab here, refuses a clash before anything runs, gives a lab
//! without a configured subnet one no other lab uses, and `lab status --all`
//! lists them.
//!
//! One JSON file (see [`path_from`]), changed only under its lock.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::error::Error;

use crate::model::{overlaps, parse_subnet, Lab, Provider, Subnet, DEFAULT_SUBNET};
use crate::process::files::absolute;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    /// The lab's lab.toml, absolute.
    pub file: PathBuf,
    pub subnet: String,
    /// The names the lab takes on the host: docker-machine entries, VMs and
    /// containers. Empty in lists written before lab recorded them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The id in the lab's record (`.lab/record.json`): a lab whose
    /// directory was moved is the same lab, found by it. Empty in lists
    /// written before.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
}

impl Entry {
    /// Whether the lab's directory is there now (a removable disk, a
    /// network share may be away for a while).
    pub fn present(&self) -> bool {
        self.file.exists()
    }

    /// The host names this lab takes, from the entry or, for an old entry,
    /// from its lab.toml.
    fn taken_names(&self) -> Vec<String> {
        if !self.names.is_empty() {
            return self.names.clone();
        }
        crate::model::load(&self.file)
            .map(|lab| global_names(&lab))
            .unwrap_or_default()
    }
}

/// `$LAB_REGISTRY`, else `labs.json` in lab's directory among the
/// platform's per-user state or data (`platform`): on Linux
/// `$XDG_STATE_HOME/lab` or `~/.local/state/lab` (a relative or empty
/// `XDG_STATE_HOME` counts as unset, as the XDG spec says), on Windows
/// `%LOCALAPPDATA%\lab\data`, on macOS `~/Library/Application Support/lab`.
/// So the list never lands in the current directory, and without a home it
/// is an error rather than a shared directory such as /tmp, where another
/// user could write it.
/// A relative `LAB_REGISTRY` is refused: read from each lab's own
/// directory, it would give every lab a list of its own, and two labs the
/// same subnet.
pub fn path_from(
    var: impl Fn(&str) -> Option<OsString>,
    platform: impl FnOnce() -> Option<PathBuf>,
) -> Result<PathBuf, Error> {
    if let Some(p) = var("LAB_REGISTRY").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(p);
        if !path.is_absolute() {
            return Err(Error::Invalid(format!(
                    "LAB_REGISTRY={} is a relative path: each lab's directory would get a list of labs of its own, and two labs the same subnet\nhint: give the list's absolute path (LAB_REGISTRY=\"$HOME/labs.json\"), or unset it",
                    path.display()
                )));
        }
        return Ok(path);
    }
    platform().map(|dir| dir.join("labs.json")).ok_or_else(|| Error::Invalid("lab keeps its list of labs in your home directory, but this account has none\nhint: set HOME (Windows: USERPROFILE), or LAB_REGISTRY=/path/to/labs.json".into()))
}

/// lab's per-user directory for what it keeps between runs.
fn platform_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "lab")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
}

pub fn path() -> anyhow::Result<PathBuf> {
    Ok(path_from(|name| std::env::var_os(name), platform_dir)?)
}

/// Every lab recorded, those whose directory is missing now included:
/// their subnets and names stay theirs until `lab destroy` or
/// `lab status --all --prune`.
pub fn load(path: &Path) -> anyhow::Result<Vec<Entry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let invalid = |why: String| -> anyhow::Error {
        Error::Invalid(format!(
                "{} is not lab's list of labs ({why})\nhint: look at it and mend it, or move it away: `lab up` in each lab's directory records that lab again",
                path.display()
            ))
        .into()
    };
    // Lists written before they carried a schema are a bare array.
    match serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))? {
        List::Bare(entries) => Ok(entries),
        List::Versioned { schema, .. } if schema != crate::model::schema::LABS => {
            Err(invalid(format!(
                "its schema is {schema}, and this lab reads {}: a newer lab wrote it",
                crate::model::schema::LABS
            )))
        }
        List::Versioned { labs, .. } => Ok(labs),
    }
}

/// `labs.json` as written, schema [`LABS`](crate::model::schema::LABS), or
/// as lists before it were.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum List {
    Versioned { schema: String, labs: Vec<Entry> },
    Bare(Vec<Entry>),
}

/// Holds the list's lock: every change is a read-modify-write under it, so
/// labs started at the same time neither lose entries nor share a subnet.
struct Locked {
    _file: File,
}

fn lock(path: &Path) -> anyhow::Result<Locked> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::process::files::private_dir(dir)?;
    let lock_path = path.with_extension("lock");
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    file.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    Ok(Locked { _file: file })
}

/// Saved only under the list's lock, whole (see `write_atomically`).
fn save(path: &Path, entries: &[Entry], _lock: &Locked) -> anyhow::Result<()> {
    let list = List::Versioned {
        schema: crate::model::schema::LABS.into(),
        labs: entries.to_vec(),
    };
    crate::process::files::write_atomically(path, serde_json::to_string_pretty(&list)?.as_bytes())
}

/// Subnets a lab without one may get, the default first. VirtualBox on
/// Linux and macOS allows host-only networks inside 192.168.56.0/21 only:
/// its labs get those (clear of vboxnet0's 192.168.56.0/24 and minikube's
/// 192.168.59.0/24). Labs of the docker and libvirt providers go on into
/// 10.231.0.0/16, a /24 each, so that a class server holds hundreds.
fn candidates(provider: Provider) -> Vec<Subnet> {
    let virtualbox = (57..=63)
        // minikube's VirtualBox default, and the default itself.
        .filter(|n| *n != 59 && *n != 61)
        .map(|n| format!("192.168.{n}.0/24"));
    let larger = (0..=255).map(|n| format!("10.231.{n}.0/24"));
    let mut all = vec![DEFAULT_SUBNET.to_string()];
    // The others leave VirtualBox's few to VirtualBox's labs.
    if provider == Provider::Virtualbox {
        all.extend(virtualbox);
    } else {
        all.extend(larger.chain(virtualbox));
    }
    all.iter()
        .map(|s| parse_subnet(s).expect("candidate subnets parse"))
        .collect()
}

const LIBVIRT_NETWORK: &str = "libvirt network ";

/// The names a lab takes on the host, compared without case: its
/// docker-machine entries and its VM or container names.
pub fn global_names(lab: &Lab) -> Vec<String> {
    let networks = lab.libvirt_networks().map(|(a, b)| [a, b]);
    // Machines lab.toml no longer lists are the lab's until retired.
    let recorded = crate::host::record::load(&lab.state_dir())
        .ok()
        .flatten()
        .map(|r| r.extras(lab))
        .unwrap_or_default();
    let mut names: Vec<String> = lab
        .machines
        .iter()
        .map(|m| m.name.clone())
        .chain(recorded)
        .flat_map(|m| [lab.dm_name(&m), lab.host_name(&m)])
        // Another namespace than the machines': the same text is no clash.
        .chain(
            networks
                .into_iter()
                .flatten()
                .map(|n| format!("{LIBVIRT_NETWORK}{n}")),
        )
        .map(|n| n.to_ascii_lowercase())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The lab as it stands among the others: its names checked, its subnet
/// chosen when lab.toml leaves it open. Changes nothing on disk.
pub fn settle(lab: Lab, entries: &[Entry]) -> Result<Lab, Error> {
    settle_avoiding(lab, entries, &[])
}

/// [`settle`], and a lab without a subnet of its own also keeps clear of
/// `avoid`: networks the host already has that no lab made (VirtualBox's
/// host-only interfaces of minikube or another tool, say).
pub fn settle_avoiding(mut lab: Lab, entries: &[Entry], avoid: &[Subnet]) -> Result<Lab, Error> {
    let mine = is_mine(&lab);
    let others: Vec<&Entry> = entries.iter().filter(|e| !mine(e)).collect();
    if let Some(other) = others
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(&lab.name))
    {
        return Err(Error::Clash(format!(
                "a lab named `{}` already exists on this host ({}), and names are global: its machines are `{}-...`\nhint: set another `name` in {}, or run `lab destroy` in that lab first",
                other.name,
                other.file.display(),
                other.name,
                lab.file.display()
            )));
    }
    names_free(&lab, &others)?;
    let taken: Vec<(Subnet, &Entry)> = others
        .iter()
        .filter_map(|e| Some((parse_subnet(&e.subnet).ok()?, *e)))
        .collect();
    if lab.subnet_configured {
        if let Some((subnet, other)) = taken.iter().find(|(s, _)| overlaps(s, &lab.subnet)) {
            return Err(Error::Clash(format!(
                    "subnet {} overlaps {subnet} of lab `{}` ({})\nhint: choose another [network] subnet in {}, or leave it out and lab picks a free one",
                    lab.subnet,
                    other.name,
                    other.file.display(),
                    lab.file.display()
                )));
        }
        return Ok(lab);
    }
    if let Some(mine) = entries.iter().find(|e| mine(e)) {
        if let Ok(subnet) = parse_subnet(&mine.subnet) {
            lab.subnet = subnet;
            return Ok(lab);
        }
    }
    // A built lab the list lost (a list removed by hand) keeps the subnet
    // its machines are on, unless another lab took it since.
    let recorded = crate::host::record::load(&lab.state_dir())
        .ok()
        .flatten()
        .and_then(|r| parse_subnet(&r.subnet).ok())
        .filter(|s| !taken.iter().any(|(t, _)| overlaps(t, s)));
    if let Some(subnet) = recorded {
        lab.subnet = subnet;
        return Ok(lab);
    }
    lab.subnet = candidates(lab.provider)
        .into_iter()
        .find(|c| !taken.iter().any(|(s, _)| overlaps(s, c)) && !avoid.iter().any(|s| overlaps(s, c)))
        .ok_or_else(|| Error::Clash(format!(
                "every subnet lab picks from ({}) is taken by another lab or the host\nhint: set [network] subnet in {}, or `lab status --all` to see them (`--prune` forgets labs whose directory is gone)",
                if lab.provider == Provider::Virtualbox {
                    "192.168.57.0/24 to 192.168.63.0/24, but 59, as VirtualBox allows"
                } else {
                    "192.168.57.0/24 to 192.168.63.0/24, but 59, and 10.231.0.0/16"
                },
                lab.file.display()
            )))?;
    Ok(lab)
}

/// Which entry is this lab's: the one for its lab.toml, or the one with its
/// record's id (the lab's directory was moved, or renamed).
fn is_mine(lab: &Lab) -> impl Fn(&Entry) -> bool {
    let id = crate::host::record::load(&lab.state_dir())
        .ok()
        .flatten()
        .map(|r| r.id);
    same_lab(absolute(&lab.file), id)
}

/// An entry is the lab's when it names its lab.toml (absolute) or its
/// record's id (a moved lab).
fn same_lab(file: PathBuf, id: Option<String>) -> impl Fn(&Entry) -> bool {
    let id = id.filter(|id| !id.is_empty());
    move |e: &Entry| e.file == file || id.as_deref().is_some_and(|id| e.id == id)
}

/// No name the lab would take on the host (docker-machine entries, VMs,
/// containers) is another lab's.
fn names_free(lab: &Lab, others: &[&Entry]) -> Result<(), Error> {
    let mine = global_names(lab);
    for other in others {
        let theirs = other.taken_names();
        if let Some(name) = mine.iter().find(|n| theirs.contains(n)) {
            return Err(Error::Clash(format!(
                    "this lab would take the name `{name}` on this host (a docker-machine entry, VM, container or libvirt network), which lab `{}` ({}) already takes\nhint: set another `name` in {}, or other machine names in its [swarm] and [consul]",
                    other.name,
                    other.file.display(),
                    lab.file.display()
                )));
        }
    }
    Ok(())
}

/// Settles the lab among the others and records it, in one step under the
/// list's lock (on `lab up`).
pub fn claim(path: &Path, lab: Lab, avoid: &[Subnet]) -> anyhow::Result<Lab> {
    let lock = lock(path)?;
    let mut entries = load(path)?;
    let lab = settle_avoiding(lab, &entries, avoid)?;
    let mine = is_mine(&lab);
    let id = entries
        .iter()
        .find(|e| mine(e))
        .map(|e| e.id.clone())
        .unwrap_or_default();
    entries.retain(|e| !mine(e));
    entries.push(Entry {
        name: lab.name.clone(),
        file: absolute(&lab.file),
        subnet: lab.subnet.to_string(),
        names: global_names(&lab),
        id,
    });
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    save(path, &entries, &lock)?;
    Ok(lab)
}

/// Notes the lab's record id on its entry (once `up` has a record), so
/// that the lab is found by it after its directory moves.
pub fn note_id(path: &Path, lab: &Lab, id: &str) -> anyhow::Result<()> {
    let lock = lock(path)?;
    let mut entries = load(path)?;
    let me = absolute(&lab.file);
    let Some(entry) = entries.iter_mut().find(|e| e.file == me) else {
        return Ok(());
    };
    if entry.id != id {
        entry.id = id.to_string();
        save(path, &entries, &lock)?;
    }
    Ok(())
}

/// The lab's entry in the list, as `lab destroy` takes it off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// The list of labs (`labs.json`).
    pub list: PathBuf,
    /// The lab's lab.toml, absolute.
    pub file: PathBuf,
    /// The lab's record id, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl Listing {
    fn matches(&self) -> impl Fn(&Entry) -> bool {
        same_lab(self.file.clone(), self.id.clone())
    }
}

/// The lab's entry, found by its lab.toml or by its record's id; `None`
/// when the list does not hold it.
pub fn listing(path: &Path, lab: &Lab, id: Option<&str>) -> anyhow::Result<Option<Listing>> {
    let listing = Listing {
        list: path.to_path_buf(),
        file: absolute(&lab.file),
        id: id.filter(|id| !id.is_empty()).map(str::to_string),
    };
    let found = load(path)?.iter().any(listing.matches());
    Ok(found.then_some(listing))
}

/// Forgets the lab (on `lab destroy`, under the lab's lock): its entry by
/// lab.toml or by its record's id.
pub fn unregister(listing: &Listing) -> anyhow::Result<()> {
    let path = &listing.list;
    if !path.exists() {
        return Ok(());
    }
    let lock = lock(path)?;
    let mut entries = load(path)?;
    let before = entries.len();
    let matches = listing.matches();
    entries.retain(|e| !matches(e));
    if entries.len() != before {
        save(path, &entries, &lock)?;
    }
    Ok(())
}

/// Forgets the labs whose directory is gone; returns them.
pub fn prune(path: &Path) -> anyhow::Result<Vec<Entry>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let lock = lock(path)?;
    let (kept, gone): (Vec<Entry>, Vec<Entry>) = load(path)?.into_iter().partition(Entry::present);
    if !gone.is_empty() {
        save(path, &kept, &lock)?;
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_in(dir: &Path, text: &str) -> Lab {
        std::fs::create_dir_all(dir).unwrap();
        let file = dir.join("lab.toml");
        std::fs::write(&file, text).unwrap();
        crate::model::parse(&file, text).unwrap()
    }

    #[test]
    fn labs_get_their_own_subnets_and_keep_them() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = tmp.path().join("labs.json");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        let first = claim(&reg, lab_in(&a, "name = \"a\"\nbox = \"x/y\"\n"), &[]).unwrap();
        assert_eq!(first.subnet.to_string(), DEFAULT_SUBNET);
        let second = claim(&reg, lab_in(&b, "name = \"b\"\nbox = \"x/y\"\n"), &[]).unwrap();
        assert_eq!(second.subnet.to_string(), "192.168.57.0/24");
        // Settling again gives each the subnet it was registered with.
        let again = settle(
            lab_in(&a, "name = \"a\"\nbox = \"x/y\"\n"),
            &load(&reg).unwrap(),
        )
        .unwrap();
        assert_eq!(again.subnet.to_string(), DEFAULT_SUBNET);
        let listed = listing(&reg, &second, None).unwrap().unwrap();
        unregister(&listed).unwrap();
        assert_eq!(load(&reg).unwrap().len(), 1);
        assert_eq!(listing(&reg, &second, None).unwrap(), None);
    }

    #[test]
    fn a_second_lab_with_the_same_name_or_an_overlapping_subnet_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = tmp.path().join("labs.json");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        let first = lab_in(
            &a,
            "name = \"class\"\nbox = \"x/y\"\n[network]\nsubnet = \"10.9.0.0/16\"\n",
        );
        claim(&reg, first, &[]).unwrap();
        let err = settle(
            lab_in(&b, "name = \"Class\"\nbox = \"x/y\"\n"),
            &load(&reg).unwrap(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("a lab named `class` already exists"),
            "{err}"
        );
        let err = settle(
            lab_in(
                &b,
                "name = \"other\"\nbox = \"x/y\"\n[network]\nsubnet = \"10.9.3.0/24\"\n",
            ),
            &load(&reg).unwrap(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("overlaps 10.9.0.0/16 of lab `class`"),
            "{err}"
        );
    }

    #[test]
    fn labs_whose_derived_names_collide_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = tmp.path().join("labs.json");
        // The default lab's docker-machine names are the bare machine names.
        claim(
            &reg,
            lab_in(&tmp.path().join("seed"), "box = \"x/y\"\n"),
            &[],
        )
        .unwrap();
        let swarm = lab_in(
            &tmp.path().join("s"),
            "name = \"swarm\"\nbox = \"x/y\"\n[swarm]\nmaster = \"master\"\nnode_prefix = \"node\"\n",
        );
        let err = settle(swarm, &load(&reg).unwrap()).unwrap_err();
        assert!(err.to_string().contains("`swarm-master`"), "{err}");
        // Lab `a` with machine `b-c` and lab `a-b` with machine `c`: both `a-b-c`.
        claim(
            &reg,
            lab_in(
                &tmp.path().join("a"),
                "name = \"a\"\nbox = \"x/y\"\n[swarm]\nmaster = \"b-c\"\n",
            ),
            &[],
        )
        .unwrap();
        let ab = lab_in(
            &tmp.path().join("ab"),
            "name = \"a-b\"\nbox = \"x/y\"\n[swarm]\nmaster = \"c\"\n",
        );
        let err = claim(&reg, ab, &[]).unwrap_err();
        assert!(err.to_string().contains("`a-b-c`"), "{err}");
        assert_eq!(
            load(&reg).unwrap().len(),
            2,
            "a refused lab is not recorded"
        );
    }

    #[test]
    fn labs_whose_directory_is_missing_keep_their_subnet_until_pruned() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = tmp.path().join("labs.json");
        std::fs::write(
            &reg,
            r#"[{"name":"away","file":"/nonexistent/lab.toml","subnet":"192.168.61.0/24"}]"#,
        )
        .unwrap();
        assert_eq!(load(&reg).unwrap().len(), 1);
        let lab = claim(
            &reg,
            lab_in(tmp.path(), "name = \"here\"\nbox = \"x/y\"\n"),
            &[],
        )
        .unwrap();
        assert_eq!(lab.subnet.to_string(), "192.168.57.0/24", "61 stays away's");
        let gone = prune(&reg).unwrap();
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].name, "away");
        let left: Vec<String> = load(&reg).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(left, ["here"]);
    }

    #[test]
    fn labs_claimed_at_the_same_time_keep_every_entry_and_distinct_subnets() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = tmp.path().join("labs.json");
        let labs: Vec<Lab> = (0..20)
            .map(|i| {
                let subnet = if i < 6 {
                    String::new()
                } else {
                    format!("[network]\nsubnet = \"10.{i}.0.0/16\"\n")
                };
                lab_in(
                    &tmp.path().join(format!("l{i}")),
                    &format!("name = \"l{i}\"\nbox = \"x/y\"\n{subnet}"),
                )
            })
            .collect();
        let barrier = std::sync::Barrier::new(labs.len());
        std::thread::scope(|scope| {
            for lab in labs {
                let (reg, barrier) = (&reg, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    claim(reg, lab, &[]).unwrap();
                });
            }
        });
        let entries = load(&reg).unwrap();
        assert_eq!(entries.len(), 20, "{entries:#?}");
        let subnets: Vec<Subnet> = entries
            .iter()
            .map(|e| parse_subnet(&e.subnet).unwrap())
            .collect();
        for (i, a) in subnets.iter().enumerate() {
            for b in &subnets[..i] {
                assert!(!overlaps(a, b), "{a} and {b} were both handed out");
            }
        }
    }

    /// Issue 20: the seventh of twelve labs got "every subnet ... is
    /// taken", and a host's own network was handed out to a docker lab.
    #[test]
    fn a_class_server_holds_thirty_docker_labs_clear_of_the_hosts_networks() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = tmp.path().join("labs.json");
        let hosts_own = [
            parse_subnet("192.168.61.0/24").unwrap(),
            parse_subnet("10.231.0.0/24").unwrap(),
        ];
        let mut given = Vec::new();
        for i in 0..30 {
            let text = format!("name = \"s{i}\"\nprovider = \"docker\"\nbox = \"debian-docker\"\n");
            let lab = claim(
                &reg,
                lab_in(&tmp.path().join(format!("s{i}")), &text),
                &hosts_own,
            )
            .unwrap();
            assert!(
                !hosts_own.iter().any(|h| overlaps(h, &lab.subnet)),
                "{} is the host's",
                lab.subnet
            );
            given.push(lab.subnet);
        }
        for (i, a) in given.iter().enumerate() {
            for b in &given[..i] {
                assert!(!overlaps(a, b), "{a} and {b} were both handed out");
            }
        }
        // VirtualBox's labs stay inside the range VirtualBox allows.
        let vbox = claim(
            &reg,
            lab_in(&tmp.path().join("v"), "name = \"v\"\nbox = \"x/y\"\n"),
            &hosts_own,
        );
        let subnet = vbox.unwrap().subnet;
        assert!(
            overlaps(&subnet, &parse_subnet("192.168.56.0/21").unwrap()),
            "{subnet}"
        );
    }

    /// Issue 20: labs `x` and `x-mgmt` both declared libvirt network
    /// `x-mgmt`.
    #[test]
    fn a_libvirt_labs_networks_are_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = tmp.path().join("labs.json");
        let libvirt = |name: &str, subnet: &str| {
            format!("name = \"{name}\"\nprovider = \"libvirt\"\nbox = \"debian-libvirt\"\n[network]\nsubnet = \"{subnet}\"\n")
        };
        claim(
            &reg,
            lab_in(&tmp.path().join("a"), &libvirt("x", "10.236.4.0/24")),
            &[],
        )
        .unwrap();
        let clash = claim(
            &reg,
            lab_in(&tmp.path().join("b"), &libvirt("x-mgmt", "10.236.5.0/24")),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(clash.contains("libvirt network x-mgmt"), "{clash}");
        // Names of other kinds do not clash with a network's.
        let names = global_names(&lab_in(
            &tmp.path().join("c"),
            &libvirt("y", "10.236.6.0/24"),
        ));
        assert!(
            names.contains(&"libvirt network y-mgmt".to_string()),
            "{names:?}"
        );
        assert!(names.contains(&"y-consul".to_string()), "{names:?}");
    }

    #[test]
    fn a_corrupt_list_names_its_file_and_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = tmp.path().join("labs.json");
        std::fs::write(&reg, "").unwrap();
        let err = load(&reg).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains(&reg.display().to_string()) && text.contains("hint:"),
            "{text}"
        );
        assert!(matches!(crate::error::find(&err), Some(Error::Invalid(_))));
    }

    #[test]
    fn the_list_lives_in_the_users_state_directory_unless_lab_registry_says() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let state = || Some(PathBuf::from("/home/s/.local/state/lab"));
        assert_eq!(
            path_from(vars(&[]), state).unwrap(),
            PathBuf::from("/home/s/.local/state/lab/labs.json")
        );
        assert_eq!(
            path_from(vars(&[("LAB_REGISTRY", "")]), state).unwrap(),
            PathBuf::from("/home/s/.local/state/lab/labs.json")
        );
        assert!(path_from(vars(&[]), || None)
            .unwrap_err()
            .to_string()
            .contains("has none"));
        let absolute = if cfg!(windows) {
            "C:\\r.json"
        } else {
            "/r.json"
        };
        let abs_vars = move |name: &str| (name == "LAB_REGISTRY").then(|| OsString::from(absolute));
        assert_eq!(
            path_from(abs_vars, || None).unwrap(),
            PathBuf::from(absolute)
        );
        // Issue 20: a relative one gave each lab's directory a list of its own.
        let err = path_from(vars(&[("LAB_REGISTRY", "labs.json")]), state).unwrap_err();
        assert!(err.to_string().contains("relative path"), "{err}");
    }

    #[test]
    fn a_new_lab_keeps_clear_of_the_hosts_own_networks() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = tmp.path().join("labs.json");
        let minikube_and_default = [
            parse_subnet("192.168.59.0/24").unwrap(),
            parse_subnet(DEFAULT_SUBNET).unwrap(),
        ];
        let lab = claim(
            &reg,
            lab_in(tmp.path(), "box = \"x/y\"\n"),
            &minikube_and_default,
        )
        .unwrap();
        assert_eq!(lab.subnet.to_string(), "192.168.57.0/24");
        // Its own network (Vagrant made it) does not move it later.
        let again = claim(&reg, lab_in(tmp.path(), "box = \"x/y\"\n"), &[lab.subnet]).unwrap();
        assert_eq!(again.subnet, lab.subnet);
    }
}
