//! Images on machines that may reach no registry: what an engine lacks is
//! copied from this host's engine (`docker save` / `docker load`), so that a
//! class without internet can use the copies its instructor loaded.

use std::path::Path;

use crate::process::process_builder::Cmd;

use crate::process::runner::Runner;

use crate::process::tool::Tool;
use crate::tools::engine::Engine;

/// Where the engine's copy of an image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    There,
    Loaded,
    /// Neither the engine nor this host has it: a `docker run` or `pull`
    /// on the engine may still fetch it.
    Absent,
}

/// `image` on `engine`, loaded from this host's engine when it lacks it.
/// `archive` caches the host's `docker save` for the next machine.
pub async fn copy_if_missing(
    runner: &Runner,
    engine: &Engine,
    image: &str,
    archive: &Path,
) -> anyhow::Result<Source> {
    let inspect = inspect_args(image);
    let on_engine = engine.docker(runner, &inspect).await?;
    if runner.quiet(&on_engine).await.is_ok() {
        return Ok(Source::There);
    }
    if runner.query(&inspect_on_host(image)).await.is_err() {
        return Ok(Source::Absent);
    }
    let archive_arg = archive.display().to_string();
    if !archive.exists() {
        // Machines are served at once: each save goes to a file of its own,
        // renamed into place whole, so that no load reads a half-written one.
        static SAVES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let partial = archive.with_extension(format!("{}-{n}.partial", std::process::id()));
        let saved = runner
            .quiet(&super::containers::save(image, &partial))
            .await;
        if let Err(e) = saved {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
        std::fs::rename(&partial, archive)?;
    }
    let load = engine
        .docker(runner, &["load".to_string(), "-i".to_string(), archive_arg])
        .await?;
    runner.quiet(&load).await?;
    Ok(Source::Loaded)
}

/// `docker image inspect` of `image` on this host's engine: it succeeds
/// when the engine has it.
pub fn inspect_on_host(image: &str) -> Cmd {
    Cmd::new(Tool::Docker, inspect_args(image))
}

/// `docker load -i ARCHIVE` into this host's engine.
pub fn load_on_host(archive: &Path) -> Cmd {
    Cmd::new(
        Tool::Docker,
        [
            "load".to_string(),
            "-i".into(),
            archive.display().to_string(),
        ],
    )
}

fn inspect_args(image: &str) -> Vec<String> {
    ["image", "inspect", "--format", "{{.Id}}", image]
        .map(String::from)
        .to_vec()
}
