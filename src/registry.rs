//! The labs on this host. Names and subnets are global on a host (VM and
//! container names, docker-machine entries, host-only networks), so `lab up`
//! records each lab here, refuses a clash before anything runs, gives a lab
//! without a configured subnet one no other lab uses, and `lab status --all`
//! lists them.
//!
//! One JSON file: `$LAB_REGISTRY`, else `$XDG_STATE_HOME/lab/labs.json`, else
//! `~/.local/state/lab/labs.json`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::config::{parse_subnet, Lab, Subnet, DEFAULT_SUBNET};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    /// The lab's lab.toml, absolute.
    pub file: PathBuf,
    pub subnet: String,
}

/// Another lab on this host already has this lab's name or subnet.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Clash {
    pub message: String,
}

pub fn path() -> PathBuf {
    if let Some(p) = std::env::var_os("LAB_REGISTRY") {
        return PathBuf::from(p);
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    base.join("lab").join("labs.json")
}

/// The labs recorded, without those whose lab.toml is gone.
pub fn load(path: &Path) -> anyhow::Result<Vec<Entry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let entries: Vec<Entry> = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not lab's list of labs\nhint: remove it; `lab up` in each lab's directory records it again",
            path.display()
        )
    })?;
    Ok(entries.into_iter().filter(|e| e.file.exists()).collect())
}

fn save(path: &Path, entries: &[Entry]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Written whole and renamed, so a reader never sees half a file.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_string_pretty(entries)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn absolute(file: &Path) -> PathBuf {
    std::fs::canonicalize(file)
        .unwrap_or_else(|_| std::path::absolute(file).unwrap_or(file.to_path_buf()))
}

pub fn overlaps(a: &Subnet, b: &Subnet) -> bool {
    let prefix = a.prefix.min(b.prefix);
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    u32::from(a.network) & mask == u32::from(b.network) & mask
}

/// Subnets a lab without one may get: inside VirtualBox's allowed
/// 192.168.56.0/21, clear of vboxnet0's 192.168.56.0/24, the default first.
fn candidates() -> impl Iterator<Item = Subnet> {
    std::iter::once(DEFAULT_SUBNET.to_string())
        .chain(
            (57..=63)
                .filter(|n| *n != 59)
                .map(|n| format!("192.168.{n}.0/24")),
        )
        .map(|s| parse_subnet(&s).expect("candidate subnets parse"))
}

/// The lab as it stands among the others: its name checked, its subnet
/// chosen when lab.toml leaves it open. Changes nothing on disk.
pub fn settle(mut lab: Lab, entries: &[Entry]) -> Result<Lab, Clash> {
    let me = absolute(&lab.file);
    let others: Vec<&Entry> = entries.iter().filter(|e| e.file != me).collect();
    if let Some(other) = others.iter().find(|e| e.name == lab.name) {
        return Err(Clash {
            message: format!(
                "a lab named `{}` already exists on this host ({}), and names are global: its machines are `{}-...`\nhint: set another `name` in {}, or run `lab destroy` in that lab first",
                lab.name,
                other.file.display(),
                lab.name,
                lab.file.display()
            ),
        });
    }
    let taken: Vec<(Subnet, &Entry)> = others
        .iter()
        .filter_map(|e| Some((parse_subnet(&e.subnet).ok()?, *e)))
        .collect();
    if lab.subnet_configured {
        if let Some((subnet, other)) = taken.iter().find(|(s, _)| overlaps(s, &lab.subnet)) {
            return Err(Clash {
                message: format!(
                    "subnet {} overlaps {subnet} of lab `{}` ({})\nhint: choose another [network] subnet in {}, or leave it out and lab picks a free one",
                    lab.subnet,
                    other.name,
                    other.file.display(),
                    lab.file.display()
                ),
            });
        }
        return Ok(lab);
    }
    if let Some(mine) = entries.iter().find(|e| e.file == me) {
        if let Ok(subnet) = parse_subnet(&mine.subnet) {
            lab.subnet = subnet;
            return Ok(lab);
        }
    }
    lab.subnet = candidates()
        .find(|c| !taken.iter().any(|(s, _)| overlaps(s, c)))
        .ok_or_else(|| Clash {
            message: format!(
                "every subnet lab picks from (192.168.57.0/24 to 192.168.63.0/24) is taken by another lab\nhint: set [network] subnet in {}",
                lab.file.display()
            ),
        })?;
    Ok(lab)
}

/// Records the lab (on `lab up`).
pub fn register(path: &Path, lab: &Lab) -> anyhow::Result<()> {
    let mut entries = load(path)?;
    let me = absolute(&lab.file);
    entries.retain(|e| e.file != me);
    entries.push(Entry {
        name: lab.name.clone(),
        file: me,
        subnet: lab.subnet.to_string(),
    });
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    save(path, &entries)
}

/// Forgets the lab (after `lab destroy`).
pub fn unregister(path: &Path, lab: &Lab) -> anyhow::Result<()> {
    let mut entries = load(path)?;
    let before = entries.len();
    let me = absolute(&lab.file);
    entries.retain(|e| e.file != me);
    if entries.len() != before || path.exists() {
        save(path, &entries)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_in(dir: &Path, text: &str) -> Lab {
        let file = dir.join("lab.toml");
        std::fs::write(&file, text).unwrap();
        crate::config::parse(&file, text).unwrap()
    }

    #[test]
    fn labs_get_their_own_subnets_and_keep_them() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = tmp.path().join("labs.json");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let first = settle(
            lab_in(&a, "name = \"a\"\nbox = \"x/y\"\n"),
            &load(&reg).unwrap(),
        )
        .unwrap();
        assert_eq!(first.subnet.to_string(), DEFAULT_SUBNET);
        register(&reg, &first).unwrap();
        let second = settle(
            lab_in(&b, "name = \"b\"\nbox = \"x/y\"\n"),
            &load(&reg).unwrap(),
        )
        .unwrap();
        assert_eq!(second.subnet.to_string(), "192.168.57.0/24");
        register(&reg, &second).unwrap();
        // Settling again gives each the subnet it was registered with.
        let again = settle(
            lab_in(&a, "name = \"a\"\nbox = \"x/y\"\n"),
            &load(&reg).unwrap(),
        )
        .unwrap();
        assert_eq!(again.subnet.to_string(), DEFAULT_SUBNET);
        unregister(&reg, &second).unwrap();
        assert_eq!(load(&reg).unwrap().len(), 1);
    }

    #[test]
    fn a_second_lab_with_the_same_name_or_an_overlapping_subnet_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = tmp.path().join("labs.json");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let first = lab_in(
            &a,
            "name = \"class\"\nbox = \"x/y\"\n[network]\nsubnet = \"10.9.0.0/16\"\n",
        );
        register(&reg, &first).unwrap();
        let err = settle(
            lab_in(&b, "name = \"class\"\nbox = \"x/y\"\n"),
            &load(&reg).unwrap(),
        )
        .unwrap_err();
        assert!(
            err.message.contains("a lab named `class` already exists"),
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
            err.message.contains("overlaps 10.9.0.0/16 of lab `class`"),
            "{err}"
        );
    }

    #[test]
    fn labs_whose_file_is_gone_do_not_count() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = tmp.path().join("labs.json");
        std::fs::write(
            &reg,
            r#"[{"name":"old","file":"/nonexistent/lab.toml","subnet":"192.168.59.0/24"}]"#,
        )
        .unwrap();
        assert!(load(&reg).unwrap().is_empty());
        let lab = settle(
            lab_in(tmp.path(), "name = \"old\"\nbox = \"x/y\"\n"),
            &load(&reg).unwrap(),
        )
        .unwrap();
        assert_eq!(lab.subnet.to_string(), DEFAULT_SUBNET);
    }
}
