//! A pack (`lab pack DIR`): everything a lab needs without the internet, in
//! one folder, with a manifest (`lab-pack.json`) and `SHA256SUMS`. `lab up`
//! run from a pack checks every packed file against its SHA-256 before
//! anything runs, and loads the packed images this host's engine lacks.

use std::io::Read as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;

pub const MANIFEST: &str = "lab-pack.json";
pub const SUMS: &str = "SHA256SUMS";
pub const SCHEMA: &str = crate::model::schema::PACK;
/// Where `lab up` notes which packed files it has checked (and their size
/// and time), so that a second `up` does not read gigabytes again.
const CHECKED: &str = "pack-checked.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: String,
    pub lab: String,
    /// `lab --version` of the lab that made it.
    pub made_by: String,
    pub files: Vec<Packed>,
    /// Images saved with `docker save`, loaded by `lab up` where missing.
    pub images: Vec<PackedImage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packed {
    /// Relative to the pack, with `/`.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedImage {
    pub image: String,
    /// The archive, relative to the pack.
    pub file: String,
}

/// The SHA-256 of a file, in lower-case hex, and its size.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        ctx.update(&buf[..n]);
    }
    let hex = ctx
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hex, bytes))
}

/// `SHA256SUMS` as `sha256sum -c` reads it.
pub fn sums_text(files: &[Packed]) -> String {
    files
        .iter()
        .map(|f| format!("{}  {}\n", f.sha256, f.path))
        .collect()
}

/// The manifest of the pack at `root`, if `root` is one.
pub fn load(root: &Path) -> anyhow::Result<Option<Manifest>> {
    let path = root.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Corrupt {
                file: path,
                what: format!("cannot be read: {e}"),
            }
            .into())
        }
    };
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::Corrupt {
        file: path.clone(),
        what: format!("is not a pack's manifest: {e}"),
    })?;
    if manifest.schema != SCHEMA {
        return Err(Error::Corrupt {
            file: path,
            what: format!("is `{}`, and this lab reads `{SCHEMA}`", manifest.schema),
        }
        .into());
    }
    for f in manifest
        .files
        .iter()
        .map(|f| &f.path)
        .chain(manifest.images.iter().map(|i| &i.file))
    {
        if !is_inside(f) {
            return Err(Error::Corrupt {
                file: path,
                what: format!("names `{f}`, which is not a path inside the pack"),
            }
            .into());
        }
    }
    Ok(Some(manifest))
}

/// A relative path that stays inside the pack.
fn is_inside(path: &str) -> bool {
    let p = Path::new(path);
    !path.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Checked {
    files: Vec<(String, u64, u128, String)>,
}

fn modified_ns(meta: &std::fs::Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

/// Every packed file is there and has its SHA-256. Files checked before
/// (same size and time, noted in `state_dir`) are not read again.
/// `progress` hears of each file read.
pub fn verify(
    root: &Path,
    manifest: &Manifest,
    state_dir: &Path,
    progress: &dyn Fn(&str),
) -> Result<(), Error> {
    let noted: Checked = std::fs::read_to_string(state_dir.join(CHECKED))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let mut checked = Checked::default();
    for f in &manifest.files {
        let path = root.join(&f.path);
        let meta = std::fs::metadata(&path).map_err(|e| Error::Corrupt {
            file: path.clone(),
            what: format!("is missing from the pack ({e})"),
        })?;
        let stamp = (
            f.path.clone(),
            meta.len(),
            modified_ns(&meta),
            f.sha256.clone(),
        );
        if noted.files.contains(&stamp) {
            checked.files.push(stamp);
            continue;
        }
        if meta.len() != f.bytes {
            return Err(Error::Corrupt {
                file: path,
                what: format!(
                    "has {} bytes, and the pack's {} were packed with {}",
                    meta.len(),
                    f.path,
                    f.bytes
                ),
            });
        }
        progress(&f.path);
        let (sum, _) = sha256_file(&path).map_err(|e| Error::Corrupt {
            file: path.clone(),
            what: format!("cannot be read: {e}"),
        })?;
        if sum != f.sha256 {
            return Err(Error::Corrupt {
                file: path,
                what: format!(
                    "does not match its SHA-256 (packed {}, now {sum}): the file is damaged",
                    f.sha256
                ),
            });
        }
        checked.files.push(stamp);
    }
    if state_dir.is_dir() {
        if let Ok(text) = serde_json::to_string(&checked) {
            // A note to save time: losing it costs a re-read, nothing more.
            let _ =
                crate::process::files::write_atomically(&state_dir.join(CHECKED), text.as_bytes());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack_with(dir: &Path, files: &[(&str, &[u8])]) -> Manifest {
        let mut packed = Vec::new();
        for (name, content) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
            let (sha256, bytes) = sha256_file(&path).unwrap();
            packed.push(Packed {
                path: (*name).into(),
                sha256,
                bytes,
            });
        }
        Manifest {
            schema: SCHEMA.into(),
            lab: "lab".into(),
            made_by: "test".into(),
            files: packed,
            images: Vec::new(),
        }
    }

    #[test]
    fn sha256_is_the_standard_one() {
        let dir = tempfile::tempdir().unwrap();
        let m = pack_with(dir.path(), &[("abc", b"abc")]);
        assert_eq!(
            m.files[0].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sums_text(&m.files),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  abc\n"
        );
    }

    #[test]
    fn a_flipped_byte_is_found_and_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".lab");
        std::fs::create_dir(&state).unwrap();
        let m = pack_with(
            dir.path(),
            &[
                ("lab.toml", b"box = \"x\"\n"),
                ("images/a.tar", b"0123456789"),
            ],
        );
        verify(dir.path(), &m, &state, &|_| {}).unwrap();
        std::fs::write(dir.path().join("images/a.tar"), b"0123456788").unwrap();
        let err = verify(dir.path(), &m, &state, &|_| {}).unwrap_err();
        let Error::Corrupt { file, .. } = &err else {
            panic!("not a damaged file: {err}")
        };
        assert!(file.ends_with("images/a.tar"), "{err}");
        assert!(
            err.to_string().contains("does not match its SHA-256"),
            "{err}"
        );
        std::fs::remove_file(dir.path().join("images/a.tar")).unwrap();
        let err = verify(dir.path(), &m, &state, &|_| {}).unwrap_err();
        assert!(err.to_string().contains("missing from the pack"), "{err}");
    }

    #[test]
    fn files_checked_once_are_not_read_again_until_they_change() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".lab");
        std::fs::create_dir(&state).unwrap();
        let m = pack_with(dir.path(), &[("a.box", b"box")]);
        let read = std::cell::RefCell::new(Vec::new());
        verify(dir.path(), &m, &state, &|f| {
            read.borrow_mut().push(f.to_string())
        })
        .unwrap();
        verify(dir.path(), &m, &state, &|f| {
            read.borrow_mut().push(f.to_string())
        })
        .unwrap();
        assert_eq!(*read.borrow(), ["a.box"]);
        std::fs::write(dir.path().join("a.box"), b"bix").unwrap();
        assert!(verify(dir.path(), &m, &state, &|_| {}).is_err());
    }

    #[test]
    fn a_manifest_cannot_name_files_outside_the_pack() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = pack_with(dir.path(), &[("a", b"a")]);
        m.files[0].path = "../../etc/passwd".into();
        std::fs::write(
            dir.path().join(MANIFEST),
            serde_json::to_string(&m).unwrap(),
        )
        .unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a path inside the pack"), "{err}");
        assert!(load(&dir.path().join("nowhere")).unwrap().is_none());
    }
}
