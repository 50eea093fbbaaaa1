//! Images on machines that cannot reach a registry: what is missing on a
//! machine is copied from this host's engine (`docker save` / `docker load`),
//! and pulled only when the host has no copy either.

use std::path::Path;

use crate::checks::report::Check;
use crate::checks::verify::{on, words};
use crate::process::runner::Runner;
use crate::tools::engine::Engine;
use crate::tools::images::{copy_if_missing, Source};

/// `image` on `machine`: there already, loaded from this host, or pulled.
/// `archive` caches the host's `docker save` for the next machine.
pub async fn ensure_on(
    runner: &Runner,
    machine: &str,
    engine: &Engine,
    image: &str,
    archive: &Path,
) -> Check {
    let name = format!("image on {machine}");
    match copy_if_missing(runner, engine, image, archive).await {
        Ok(Source::There) => return Check::pass(name, format!("{image} is there")),
        Ok(Source::Loaded) => {
            return Check::pass(name, format!("{image} loaded from this host's engine"))
        }
        Ok(Source::Absent) => {}
        Err(e) => {
            return Check::fail(
                name,
                format!("loading {image} from this host failed: {e:#}"),
            )
        }
    }
    match on(runner, engine, &words(&["pull", image])).await {
        Ok(_) => Check::pass(name, format!("{image} pulled")),
        Err(e) => Check::fail(
            name,
            format!(
                "{image} is neither on {machine} nor on this host, and pulling it failed: {e:#}\nhint: `docker pull {image}` (or build or `docker load` it) on this host"
            ),
        ),
    }
}
