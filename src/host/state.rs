//! The lab's state directory and its lock: one `lab up`, `destroy` or
//! `deploy` at a time per lab. The lock is the operating system's (flock),
//! so it goes with its process: a lab command that died leaves no stale lock.

use std::fs::File;
use std::io::{Seek as _, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;

use crate::error::Error;
use crate::model::Lab;

/// Held while a command changes the lab; released when dropped or when the
/// process ends, however it ends.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// The lab's state directory, owner-only (it holds the CA key, Vagrant's
/// private keys and a log), with a .gitignore so that a `git add -A` in
/// the lab's directory never takes it.
pub fn ensure(lab: &Lab) -> anyhow::Result<PathBuf> {
    let dir = lab.state_dir();
    crate::process::files::private_dir(&dir)?;
    crate::process::files::owner_only(&dir)
        .with_context(|| format!("making {} private", dir.display()))?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(
            &ignore,
            "# lab's state: keys, Vagrant's data, logs. Never commit it.\n*\n",
        )
        .with_context(|| format!("writing {}", ignore.display()))?;
    }
    Ok(dir)
}

pub fn lock(lab: &Lab, command: &str) -> anyhow::Result<Lock> {
    let dir = ensure(lab)?;
    let path = dir.join("lock");
    let Some(mut file) = crate::process::files::try_lock(&path)? else {
        let holder = std::fs::read_to_string(&path).unwrap_or_default();
        let holder = holder.trim().to_string();
        return Err(Error::Busy {
            holder: if holder.is_empty() {
                "unknown".into()
            } else {
                holder
            },
            path,
        }
        .into());
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    file.set_len(0)?;
    file.rewind()?;
    write!(
        file,
        "`lab {command}`, pid {}, since {stamp} (unix time)",
        std::process::id()
    )?;
    file.flush()?;
    Ok(Lock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_the_lock_comes_back_when_released() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lab.toml");
        let lab = crate::model::parse(&file, "box = \"x/y\"\n").unwrap();
        let first = lock(&lab, "up").unwrap();
        let err = lock(&lab, "destroy").unwrap_err();
        let Some(Error::Busy { holder, .. }) = crate::error::find(&err) else {
            panic!("not a Busy error: {err}")
        };
        assert!(holder.starts_with("`lab up`, pid "), "{err}");
        drop(first);
        // Released (as when its process dies): the next one gets it.
        let again = lock(&lab, "destroy");
        assert!(again.is_ok(), "{again:?}");
    }

    #[cfg(unix)]
    #[test]
    fn the_state_directory_is_private_and_ignored_by_git() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lab.toml");
        let lab = crate::model::parse(&file, "name = \"p\"\nbox = \"x/y\"\n").unwrap();
        std::fs::create_dir(lab.state_dir()).unwrap();
        std::fs::set_permissions(lab.state_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let state = ensure(&lab).unwrap();
        let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let ignore = std::fs::read_to_string(state.join(".gitignore")).unwrap();
        assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
        let log = state.join("lab.log");
        std::fs::write(&log, "old\n").unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(crate::process::files::private_file(&log, true).unwrap());
        assert_eq!(
            std::fs::metadata(&log).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
