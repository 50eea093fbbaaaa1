//! Files only their owner may read: lab's logs, keys and state.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Creates `dir` and its missing parents readable by their owner only.
/// A directory that exists is left as it is: it may be the user's own.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    let existed = dir.is_dir();
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    if !existed && cfg!(windows) {
        owner_only(dir).with_context(|| format!("making {} private", dir.display()))?;
    }
    Ok(())
}

/// Creates or opens a file that only its owner may read: logs and keys.
pub fn private_file(path: &Path, append: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true);
    if append {
        options.append(true);
    } else {
        options.write(true).truncate(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    // An older lab wrote its log world-readable: mode applies at creation only.
    owner_only(path)?;
    Ok(file)
}

/// Makes `path` (a file or a directory) its owner's alone: mode 0600 or
/// 0700 on Unix; on Windows, where modes do not exist, an ACL that grants
/// the current user full control and inherits nothing from the folder
/// above (which on a home drive grants Administrators and SYSTEM too).
#[cfg(unix)]
pub fn owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = if path.is_dir() { 0o700 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(windows)]
pub use super::acl::owner_only;

/// An exclusive lock on `path` (made if missing), the operating system's,
/// so that it goes with its process; `None` while another process holds it.
pub fn try_lock(path: &Path) -> anyhow::Result<Option<File>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// Writes `path` whole: to a temporary file beside it, flushed to disk,
/// then renamed over it, so that neither a reader nor a crash ever sees
/// half of it. Owner-only, like everything lab keeps.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_whole(path, bytes, true)
}

/// [`write_atomically`], readable by others where `private` is false (a
/// certificate). A failed write (a full disk, a read-only file system)
/// leaves the file as it was and no temporary file beside it, and its
/// error names the file.
pub fn write_whole(path: &Path, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(name);
    let written = (|| -> std::io::Result<()> {
        let mut file = if private {
            private_file(&tmp, false)?
        } else {
            File::create(&tmp)?
        };
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("could not write {}", path.display()))
}

/// The path that names the file for good: canonical where it exists,
/// else made absolute; as given when neither can be had.
pub fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| std::path::absolute(path).unwrap_or(path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20: a write that failed left `labs.json.tmp<pid>` behind and
    /// named neither file.
    #[test]
    fn a_failed_write_names_the_file_and_leaves_no_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should go: the rename fails, after
        // the temporary file was written.
        let path = dir.path().join("labs.json");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), "x").unwrap();
        let err = format!("{:#}", write_atomically(&path, b"[]").unwrap_err());
        assert!(
            err.starts_with(&format!("could not write {}", path.display())),
            "{err}"
        );
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["labs.json"], "a temporary file stayed");
        // A directory that is not there: nothing is made.
        let missing = dir.path().join("none/labs.json");
        let err = format!("{:#}", write_atomically(&missing, b"[]").unwrap_err());
        assert!(err.contains(&missing.display().to_string()), "{err}");
        // And a write that works replaces the file whole.
        let ok = dir.path().join("ok.json");
        write_atomically(&ok, b"one").unwrap();
        write_atomically(&ok, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&ok).unwrap(), "two");
    }
}
