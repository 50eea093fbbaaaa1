//! `lab pack DIR`: everything the lab needs without the internet, in one
//! folder for a USB stick or a class share: the box (or the docker
//! provider's image), the images the lab runs (Consul, the verify probe, the
//! stacks' and exercises' named), lab.toml with a profile pointing at the
//! packed box by a relative path, lab binaries, `SHA256SUMS`, a manifest
//! and a README.txt for students. Written beside DIR and moved into place
//! when whole, so a pack that failed leaves nothing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _};

use crate::cli::PackArgs;
use crate::host::pack::{self, Manifest, Packed, PackedImage};
use crate::model::{boxes::BoxProfile, Lab, Mode, Provider};
use crate::process::process_builder::Cmd;
use crate::process::runner::Runner;
use crate::process::tool::Tool;
use crate::session::Session;
use crate::tools::vagrant;

/// One thing the pack will hold, as data (`--dry-run` prints them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Copy {
        from: PathBuf,
        to: String,
    },
    /// `vagrant box repackage`: the installed box, as a file.
    Repackage {
        name: String,
        provider: String,
        version: String,
        to: String,
    },
    Save {
        image: String,
        to: String,
    },
    Write {
        to: String,
        text: String,
    },
}

impl Item {
    /// Where it goes in the pack.
    pub fn to(&self) -> &str {
        match self {
            Item::Copy { to, .. }
            | Item::Repackage { to, .. }
            | Item::Save { to, .. }
            | Item::Write { to, .. } => to,
        }
    }
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Item::Copy { from, to } => write!(f, "{to}  (copy of {})", from.display()),
            Item::Repackage {
                name,
                provider,
                version,
                to,
            } => {
                write!(
                    f,
                    "{to}  (vagrant box repackage {name} {provider} {version})"
                )
            }
            Item::Save { image, to } => write!(f, "{to}  (docker save {image})"),
            Item::Write { to, .. } => write!(f, "{to}"),
        }
    }
}

/// A file name for an image reference: `consul:1.15` -> `consul_1.15.tar`.
pub fn archive_name(image: &str) -> String {
    format!("images/{}.tar", file_name(image, '_'))
}

/// The images the lab itself runs (Consul where it has one, the verify
/// probe) and those of the stacks and exercises named, each once.
pub fn images(lab: &Lab, stacks: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut found = Vec::new();
    let mut add = |image: String| {
        if !image.is_empty() && !found.contains(&image) {
            found.push(image);
        }
    };
    if lab.consul.enabled {
        add(lab.consul.image.clone());
    }
    add(lab.probe_image.clone());
    for file in stacks {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the stack file {}", file.display()))?;
        let services = crate::tools::stack::parse(&text, &|k| std::env::var(k).ok())
            .map_err(anyhow::Error::msg)
            .with_context(|| file.display().to_string())?;
        for s in services {
            add(s.image);
        }
    }
    Ok(found)
}

/// The stack files the pack takes: each `--stack DIR`'s file for the lab's
/// mode, and each exercise's own stack where it sits beside it.
fn stack_files(lab: &Lab, args: &PackArgs) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let file_name = match lab.mode {
        Mode::Swarm => "stack.yml",
        Mode::Classic => "docker-compose.yml",
    };
    let mut files = Vec::new();
    for dir in &args.stack {
        let file = if dir.is_dir() {
            dir.join(file_name)
        } else {
            dir.clone()
        };
        if !file.is_file() {
            bail!(
                "{} does not exist\nhint: --stack wants a directory with {file_name} (like examples/redmine), or the file",
                file.display()
            );
        }
        files.push((
            file.clone(),
            format!("stacks/{}/{}", dir_name(&file), base_name(&file)),
        ));
    }
    for exercise in &args.exercise {
        let parsed = crate::model::exercise::load(exercise)?;
        let name = dir_name(exercise);
        if let Some(stack) = &parsed.stack {
            let beside = exercise.parent().unwrap_or(Path::new(".")).join(stack);
            if beside.is_file() {
                files.push((beside, format!("exercises/{name}/{}", stack.display())));
            }
        }
    }
    Ok(files)
}

fn base_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().to_string())
}

/// The name of the directory a file is in (`examples/redmine/stack.yml` ->
/// `redmine`), as a pack's folder name.
fn dir_name(file: &Path) -> String {
    let dir = std::fs::canonicalize(file)
        .ok()
        .and_then(|p| {
            p.parent()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().to_string())
        })
        .unwrap_or_else(|| "stack".into());
    safe(&dir)
}

fn safe(name: &str) -> String {
    file_name(name, '-')
}

/// `name` as one file name: letters, digits, `.`, `_` and `-` kept, every
/// other character `instead`.
fn file_name(name: &str, instead: char) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                instead
            }
        })
        .collect()
}

/// The profile the pack's lab.toml finds: the lab's own, pointing at the
/// packed box (or image) by a path relative to lab.toml, and pinned to
/// nothing else (the packed file is the version).
pub fn packed_profile(profile: &BoxProfile, provider: Provider, file: &str) -> BoxProfile {
    let mut p = profile.clone();
    p.box_url = None;
    match provider {
        Provider::Virtualbox | Provider::Libvirt => {
            p.box_file = Some(file.to_string());
            p.box_version = None;
        }
        Provider::Docker => p.image_file = Some(file.to_string()),
    }
    p
}

/// The profile's file name in the pack: its own name, so that it replaces
/// a compiled-in profile of that name (and a raw box's name made safe).
pub fn profile_file(profile: &BoxProfile) -> String {
    format!("boxes/{}.toml", safe(&profile.name))
}

fn readme(lab: &Lab, bins: &[String]) -> String {
    let has = |needle: &str| bins.iter().any(|b| b.contains(needle));
    let mut text = format!(
        "A pack of lab `{}`, made by lab {}: everything `lab up` needs, without the internet.\n\n",
        lab.name,
        crate::cli::VERSION
    );
    text.push_str("Copy this folder to your machine (or run it from the stick), open a terminal in it, and run:\n\n");
    if has("linux") {
        text.push_str("Linux:\n  sha256sum -c SHA256SUMS && install -m 755 bin/lab-*-x86_64-linux ~/.local/bin/lab\n  lab up\n");
        text.push_str("  (on an arm64 machine: bin/lab-*-aarch64-linux)\n\n");
    }
    if has("windows") {
        text.push_str("Windows (PowerShell):\n  Copy-Item bin\\lab-*-windows.exe $HOME\\lab.exe\n  & $HOME\\lab.exe up\n\n");
    }
    if has("macos") || !has("linux") && !has("windows") {
        text.push_str(
            "macOS: build lab on the Mac (`cargo build --release`), then run `lab up` here.\n\n",
        );
    }
    text.push_str("`lab up` checks every file of the pack against SHA256SUMS first (exit 9 names a damaged one), adds the box and loads the images; nothing is downloaded.\n");
    text.push_str("Then: eval \"$(lab env swarm-master)\"; docker node ls; lab verify. At the end: lab destroy.\n");
    text
}

/// What the pack will hold, in order, from the lab and what this host has.
fn plan(
    lab: &Lab,
    args: &PackArgs,
    installed: &[vagrant::InstalledBox],
    bins: &[(PathBuf, String)],
) -> anyhow::Result<Vec<Item>> {
    let mut items = Vec::new();
    let profile = &lab.profile;
    let box_item = match lab.provider {
        Provider::Virtualbox | Provider::Libvirt => {
            let name = profile.vagrant_box.clone().unwrap_or_default();
            let provider = lab.provider.as_str().to_string();
            let to = format!(
                "boxes/{}-{provider}-{}.box",
                safe(&name),
                crate::model::version::host_arch()
            );
            match profile.box_file.as_ref().map(|f| lab.root.join(f)) {
                Some(file) if file.is_file() => Item::Copy { from: file, to },
                _ => {
                    let version = vagrant::installed_box(profile, lab.provider, installed)
                        .map(|b| b.version.clone());
                    let Some(version) = version else {
                        bail!(
                            "box {name} ({provider}{}) is not on this host, so there is nothing to pack\nhint: `vagrant box add {name} --provider {provider}{}` on a machine with internet, then `lab pack` again",
                            profile.box_version.as_deref().map(|v| format!(", version {v}")).unwrap_or_default(),
                            profile.box_version.as_deref().map(|v| format!(" --box-version {v}")).unwrap_or_default()
                        );
                    };
                    Item::Repackage {
                        name,
                        provider,
                        version,
                        to,
                    }
                }
            }
        }
        Provider::Docker => {
            let image = profile.image.clone().unwrap_or_default();
            Item::Save {
                to: archive_name(&image),
                image,
            }
        }
    };
    let box_path = box_item.to().to_string();
    items.push(box_item);
    let stacks = stack_files(lab, args)?;
    let stack_paths: Vec<PathBuf> = stacks.iter().map(|(f, _)| f.clone()).collect();
    for image in images(lab, &stack_paths)? {
        items.push(Item::Save {
            to: archive_name(&image),
            image,
        });
    }
    items.push(Item::Copy {
        from: lab.file.clone(),
        to: "lab.toml".into(),
    });
    let packed = packed_profile(profile, lab.provider, &box_path);
    items.push(Item::Write {
        to: profile_file(profile),
        text: format!(
            "# Written by `lab pack`: the lab's box profile, pointing at the packed copy.\n{}",
            toml::to_string(&packed).context("writing the packed box profile")?
        ),
    });
    for (file, to) in &stacks {
        items.push(Item::Copy {
            from: file.clone(),
            to: to.clone(),
        });
    }
    for exercise in &args.exercise {
        items.push(Item::Copy {
            from: exercise.clone(),
            to: format!("exercises/{}/{}", dir_name(exercise), base_name(exercise)),
        });
    }
    for (file, to) in bins {
        items.push(Item::Copy {
            from: file.clone(),
            to: to.clone(),
        });
    }
    let names: Vec<String> = bins.iter().map(|(_, to)| to.clone()).collect();
    items.push(Item::Write {
        to: "README.txt".into(),
        text: readme(lab, &names),
    });
    Ok(items)
}

/// The binaries to pack: those given, or this one.
fn binaries(args: &PackArgs) -> anyhow::Result<Vec<(PathBuf, String)>> {
    if !args.bin.is_empty() {
        return args
            .bin
            .iter()
            .map(|b| {
                if !b.is_file() {
                    bail!(
                        "--bin {}: no such file\nhint: scripts/dist builds them into dist/",
                        b.display()
                    );
                }
                Ok((b.clone(), format!("bin/{}", base_name(b))))
            })
            .collect();
    }
    let me = std::env::current_exe().context("finding this lab binary to pack")?;
    let os = std::env::consts::OS;
    let ext = if cfg!(windows) { ".exe" } else { "" };
    Ok(vec![(
        me,
        format!(
            "bin/lab-{}-{}-{os}{ext}",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::ARCH
        ),
    )])
}

pub async fn run(lab: &Lab, args: &PackArgs, session: &Session) -> anyhow::Result<()> {
    let started = Instant::now();
    let host = crate::model::version::host_arch();
    for arch in args.arch.iter().flat_map(|a| a.split(',')).map(str::trim) {
        if arch != host {
            bail!(
                "--arch {arch}: this host is {host}; a pack holds this host's box and the images of this host's engine, and {arch} machines need their own of both\nhint: run `lab pack` on a {arch} machine (Vagrant 2.4 or later: `vagrant box add --architecture {arch}` there first), and hand each kind of student machine its pack"
            );
        }
    }
    let dest = &args.dir;
    if dest.exists()
        && std::fs::read_dir(dest)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{} exists and is not empty: lab pack writes a new folder\nhint: name another one, or remove it",
            dest.display()
        );
    }
    let mut tools = vec![Tool::Docker];
    if lab.provider.uses_boxes() {
        tools.push(Tool::Vagrant);
    }
    let runner = session.reader(&tools)?;
    let installed = if lab.provider.uses_boxes() {
        let out = runner.query(&vagrant::box_list()).await?;
        vagrant::parse_box_list(&out.stdout)
    } else {
        Vec::new()
    };
    let bins = binaries(args)?;
    let items = plan(lab, args, &installed, &bins)?;
    // Every image must be on this host before anything is written.
    let mut missing = Vec::new();
    for item in &items {
        if let Item::Save { image, .. } = item {
            if runner
                .query(&crate::tools::images::inspect_on_host(image))
                .await
                .is_err()
            {
                missing.push(image.clone());
            }
        }
    }
    if !missing.is_empty() {
        bail!(
            "not on this host's Docker engine: {}\nhint: `docker pull` (or build) each, on a machine with internet, then `lab pack` again",
            missing.join(", ")
        );
    }
    if args.dry_run {
        crate::outln!("# lab pack {}: {} files", dest.display(), items.len() + 3);
        for item in &items {
            crate::outln!("{item}");
        }
        crate::outln!(
            "{}\n{}\n{}",
            pack::MANIFEST,
            pack::SUMS,
            "(then moved into place)"
        );
        return Ok(());
    }
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let (lock, lock_path) = lock_and_sweep(parent, &base_name(dest))?;
    let work = parent.join(format!(
        ".{}.lab-pack-{}",
        base_name(dest),
        std::process::id()
    ));
    let result = write(&runner, lab, &items, &work).await;
    let result = finish(result, &work, dest, started);
    drop(lock);
    let _ = std::fs::remove_file(&lock_path);
    result
}

/// The written pack moved into place, or, on failure, taken away.
fn finish(
    result: anyhow::Result<Manifest>,
    work: &Path,
    dest: &Path,
    started: Instant,
) -> anyhow::Result<()> {
    match result {
        Ok(manifest) => {
            if dest.exists() {
                std::fs::remove_dir(dest)
                    .with_context(|| format!("replacing the empty folder {}", dest.display()))?;
            }
            std::fs::rename(work, dest)
                .with_context(|| format!("moving the pack into {}", dest.display()))?;
            let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
            crate::outln!(
                "packed {} files, {:.1} MiB, into {} in {:.0}s; students run `lab up` there (README.txt)",
                manifest.files.len(),
                bytes as f64 / 1048576.0,
                dest.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Err(e) => {
            // Nothing half-done: the unfinished pack goes.
            let _ = std::fs::remove_dir_all(work);
            Err(e)
        }
    }
}

/// One `lab pack` at a time into a folder: a lock beside it, held while
/// packing. Holding it, the unfinished packs a stopped `lab pack` left
/// beside the folder (`.NAME.lab-pack-PID`) are its own to take away.
fn lock_and_sweep(parent: &Path, base: &str) -> anyhow::Result<(std::fs::File, PathBuf)> {
    let path = parent.join(format!(".{base}.lab-pack.lock"));
    let Some(file) = crate::process::files::try_lock(&path)? else {
        return Err(crate::error::Error::Busy {
            holder: format!("another `lab pack` into {base}"),
            path,
        }
        .into());
    };
    let prefix = format!(".{base}.lab-pack-");
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let stale = name
            .strip_prefix(&prefix)
            .is_some_and(|pid| !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit()));
        if stale && entry.path().is_dir() {
            crate::errln!("removing {name}, left by a `lab pack` that was stopped");
            std::fs::remove_dir_all(entry.path())
                .with_context(|| format!("removing {}", entry.path().display()))?;
        }
    }
    Ok((file, path))
}

async fn write(
    runner: &Runner,
    lab: &Lab,
    items: &[Item],
    work: &Path,
) -> anyhow::Result<Manifest> {
    std::fs::create_dir_all(work).with_context(|| format!("creating {}", work.display()))?;
    let mut images = Vec::new();
    let mut files = Vec::new();
    for (i, item) in items.iter().enumerate() {
        crate::errln!("[{}/{}] {item}", i + 1, items.len());
        let to = item.to();
        let path = work.join(to);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        match item {
            Item::Copy { from, .. } => {
                std::fs::copy(from, &path)
                    .with_context(|| format!("copying {} into the pack", from.display()))?;
            }
            Item::Write { text, .. } => {
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Item::Save { image, .. } => {
                let save = crate::tools::containers::save(image, &path);
                runner.run(&save, &|_| {}).await?;
                if Some(image) != lab.profile.image.as_ref() || lab.provider != Provider::Docker {
                    images.push(PackedImage {
                        image: image.clone(),
                        file: to.to_string(),
                    });
                }
            }
            Item::Repackage {
                name,
                provider,
                version,
                ..
            } => {
                let dir = path.parent().unwrap_or(work).to_path_buf();
                let repackage =
                    Cmd::new(Tool::Vagrant, ["box", "repackage", name, provider, version])
                        .in_dir(&dir);
                runner
                    .run(&repackage, &|line| crate::errln!("  {line}"))
                    .await?;
                std::fs::rename(dir.join("package.box"), &path).with_context(|| {
                    format!(
                        "vagrant box repackage left no package.box in {}",
                        dir.display()
                    )
                })?;
            }
        }
        let (sha256, bytes) =
            pack::sha256_file(&path).with_context(|| format!("reading {}", path.display()))?;
        files.push(Packed {
            path: to.to_string(),
            sha256,
            bytes,
        });
    }
    let manifest = Manifest {
        schema: pack::SCHEMA.into(),
        lab: lab.name.clone(),
        made_by: crate::cli::VERSION.into(),
        files,
        images,
    };
    std::fs::write(work.join(pack::SUMS), pack::sums_text(&manifest.files))
        .context("writing SHA256SUMS")?;
    std::fs::write(
        work.join(pack::MANIFEST),
        serde_json::to_string_pretty(&manifest).context("writing the manifest")?,
    )
    .context("writing lab-pack.json")?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(text: &str) -> Lab {
        crate::model::parse(Path::new("lab.toml"), text).unwrap()
    }

    fn args() -> PackArgs {
        PackArgs {
            dir: PathBuf::from("pack"),
            stack: Vec::new(),
            exercise: Vec::new(),
            bin: Vec::new(),
            arch: None,
            dry_run: true,
        }
    }

    #[test]
    fn image_archives_have_safe_names() {
        assert_eq!(archive_name("consul:1.15"), "images/consul_1.15.tar");
        assert_eq!(
            archive_name("lab/debian-docker:bookworm"),
            "images/lab_debian-docker_bookworm.tar"
        );
        assert_eq!(archive_name("../x"), "images/.._x.tar");
        assert!(
            !archive_name("../x").contains('/') || archive_name("../x").matches('/').count() == 1
        );
    }

    #[test]
    fn a_vm_lab_packs_its_installed_box_under_the_profile_that_replaces_the_shipped_one() {
        let lab = lab("box = \"bento-ubuntu-2404\"\nmode = \"swarm\"\nengine = \"native\"\n");
        let installed = vec![vagrant::InstalledBox {
            name: "bento/ubuntu-24.04".into(),
            provider: "virtualbox".into(),
            version: "202510.26.0".into(),
        }];
        let bins = vec![(
            PathBuf::from("/x/lab"),
            "bin/lab-0.1.0-x86_64-linux".to_string(),
        )];
        let items = plan(&lab, &args(), &installed, &bins).unwrap();
        let arch = crate::model::version::host_arch();
        assert_eq!(
            items[0],
            Item::Repackage {
                name: "bento/ubuntu-24.04".into(),
                provider: "virtualbox".into(),
                version: "202510.26.0".into(),
                to: format!("boxes/bento-ubuntu-24.04-virtualbox-{arch}.box"),
            }
        );
        let profile = items
            .iter()
            .find_map(|i| match i {
                Item::Write { to, text } if to == "boxes/bento-ubuntu-2404.toml" => {
                    Some(text.clone())
                }
                _ => None,
            })
            .expect("the profile");
        assert!(
            profile.contains(&format!(
                "box_file = \"boxes/bento-ubuntu-24.04-virtualbox-{arch}.box\""
            )),
            "{profile}"
        );
        assert!(
            !profile.contains("box_version"),
            "the packed file is the version: {profile}"
        );
        assert!(items
            .iter()
            .any(|i| matches!(i, Item::Save { image, .. } if *image == lab.probe_image)));
        assert!(items.contains(&Item::Copy {
            from: PathBuf::from("/x/lab"),
            to: "bin/lab-0.1.0-x86_64-linux".into()
        }));
        // The packed profile is one lab reads back.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("boxes")).unwrap();
        std::fs::write(dir.path().join("boxes/bento-ubuntu-2404.toml"), &profile).unwrap();
        let back =
            crate::model::boxes::resolve(dir.path(), "bento-ubuntu-2404", Provider::Virtualbox)
                .unwrap();
        assert_eq!(
            back.box_file.as_deref(),
            Some(format!("boxes/bento-ubuntu-24.04-virtualbox-{arch}.box").as_str())
        );
        assert_eq!(back.vagrant_box.as_deref(), Some("bento/ubuntu-24.04"));
    }

    #[test]
    fn a_box_that_is_not_here_is_named_with_how_to_get_it() {
        let lab = lab("box = \"bento-ubuntu-2404\"\n");
        let err = plan(&lab, &args(), &[], &[]).unwrap_err().to_string();
        assert!(
            err.contains(
                "box bento/ubuntu-24.04 (virtualbox, version 202510.26.0) is not on this host"
            ),
            "{err}"
        );
        assert!(err.contains("--box-version 202510.26.0"), "{err}");
    }

    #[test]
    fn the_docker_providers_image_is_the_box_and_stack_images_come_along() {
        let lab = lab("provider = \"docker\"\nbox = \"debian-systemd\"\nmode = \"swarm\"\nengine = \"native\"\n");
        let mut a = args();
        a.stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/failover")];
        let items = plan(&lab, &a, &[], &[]).unwrap();
        let image = lab.profile.image.clone().unwrap();
        assert_eq!(
            items[0],
            Item::Save {
                to: archive_name(&image),
                image: image.clone()
            }
        );
        let saved: Vec<&str> = items
            .iter()
            .filter_map(|i| match i {
                Item::Save { image, .. } => Some(image.as_str()),
                _ => None,
            })
            .collect();
        let stack = std::fs::read_to_string(a.stack[0].join("stack.yml")).unwrap();
        let services = crate::tools::stack::parse(&stack, &|_| None).unwrap();
        for s in &services {
            assert!(
                saved.contains(&s.image.as_str()),
                "{} in {saved:?}",
                s.image
            );
        }
        assert!(items
            .iter()
            .any(|i| matches!(i, Item::Copy { to, .. } if to == "stacks/failover/stack.yml")));
        let profile = items
            .iter()
            .find_map(|i| match i {
                Item::Write { to, text } if to.starts_with("boxes/") => Some(text.clone()),
                _ => None,
            })
            .unwrap();
        assert!(
            profile.contains(&format!("image_file = \"{}\"", archive_name(&image))),
            "{profile}"
        );
    }
}
