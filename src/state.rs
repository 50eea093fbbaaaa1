//! The lab's state directory and its lock: one `lab up`, `destroy` or
//! `deploy` at a time per lab. The lock is the operating system's (flock),
//! so it goes with its process: a lab command that died leaves no stale lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;

use crate::config::Lab;

/// Another lab command is working on this lab.
#[derive(Debug, thiserror::Error)]
#[error("another lab command is working on this lab ({holder})\nhint: wait for it to finish, or stop it (Ctrl-C in its terminal); its lock is {}", path.display())]
pub struct Busy {
    pub holder: String,
    pub path: PathBuf,
}

/// Held while a command changes the lab; released when dropped or when the
/// process ends, however it ends.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

pub fn lock(lab: &Lab, command: &str) -> anyhow::Result<Lock> {
    let dir = lab.state_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("lock");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim().to_string();
            return Err(Busy {
                holder: if holder.is_empty() {
                    "unknown".into()
                } else {
                    holder
                },
                path,
            }
            .into());
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
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
        let lab = crate::config::parse(&file, "box = \"x/y\"\n").unwrap();
        let first = lock(&lab, "up").unwrap();
        let err = lock(&lab, "destroy").unwrap_err();
        let busy = err.downcast_ref::<Busy>().expect("a Busy error");
        assert!(busy.holder.starts_with("`lab up`, pid "), "{busy}");
        drop(first);
        // Released (as when its process dies): the next one gets it.
        let again = lock(&lab, "destroy");
        assert!(again.is_ok(), "{again:?}");
    }
}
