//! Images on machines that cannot reach a registry: what is missing on a
//! machine is copied from this host's engine (`docker save` / `docker load`),
//! and pulled only when the host has no copy either.

use std::path::Path;

use crate::checks::report::Check;
use crate::checks::verify::{on, words};
use crate::process::runner::{Cmd, Runner, Tool};
use crate::tools::engine::Engine;

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
    let inspect = words(&["image", "inspect", "--format", "{{.Id}}", image]);
    if on(runner, engine, &inspect).await.is_ok() {
        return Check::pass(name, format!("{image} is there"));
    }
    let host_has = Cmd::new(
        Tool::Docker,
        ["image", "inspect", "--format", "{{.Id}}", image],
    );
    if runner.query(&host_has).await.is_ok() {
        let loaded = async {
            if !archive.exists() {
                let save = Cmd::new(
                    Tool::Docker,
                    ["save", "-o", &archive.display().to_string(), image],
                );
                runner.quiet(&save).await?;
            }
            on(
                runner,
                engine,
                &words(&["load", "-i", &archive.display().to_string()]),
            )
            .await
        }
        .await;
        return match loaded {
            Ok(_) => Check::pass(name, format!("{image} loaded from this host's engine")),
            Err(e) => Check::fail(
                name,
                format!("loading {image} from this host failed: {e:#}"),
            ),
        };
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

/// The images a compose or stack file names, with `${VAR}`, `${VAR:-default}`
/// and `$VAR` taken from `env` as `docker stack deploy` does.
pub fn images_in(compose: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    static LINE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"^\s*image:\s*["']?([^"'#\s]+)["']?"#).expect("valid regex")
    });
    let line = &*LINE;
    let mut images: Vec<String> = Vec::new();
    for text in compose.lines() {
        if let Some(caps) = line.captures(text) {
            let image = expand(&caps[1], env);
            if !image.is_empty() && !images.contains(&image) {
                images.push(image);
            }
        }
    }
    images
}

fn expand(value: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    static VAR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)",
        )
        .expect("valid regex")
    });
    VAR.replace_all(value, |caps: &regex::Captures| {
        let name = caps.get(1).or(caps.get(3)).map_or("", |m| m.as_str());
        match (env(name).filter(|v| !v.is_empty()), caps.get(2)) {
            (Some(v), _) => v,
            (None, Some(default)) => default.as_str().to_string(),
            (None, None) => String::new(),
        }
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_of_the_redmine_example_follow_the_environment() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/redmine/stack.yml"
        ))
        .unwrap();
        let none = |_: &str| None;
        assert_eq!(images_in(&text, &none), ["redmine:5.1", "postgres:15"]);
        let set = |k: &str| (k == "REDMINE_IMAGE").then(|| "local/redmine:dev".to_string());
        assert_eq!(images_in(&text, &set), ["local/redmine:dev", "postgres:15"]);
        assert_eq!(
            images_in("  image: 'a:1' # x\n  image: a:1\nimage: $X\n", &|_| Some(
                "b".into()
            )),
            ["a:1", "b"]
        );
    }
}
