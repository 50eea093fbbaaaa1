//! A Docker engine's containers as `docker ps` lists them: the command
//! lines and pure parsers of what they print.

use serde::Serialize;

use crate::process::process_builder::Cmd;
use crate::process::tool::Tool;

/// A container's state, as far as lab looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    /// Not looked at (the engine is not there yet, or a dry run could not ask).
    #[default]
    Unknown,
    Absent,
    Running,
    Stopped,
}

/// `docker ps -a` with names and states, one per line.
pub fn list_args() -> Vec<String> {
    ["ps", "-a", "--format", "{{.Names}}\t{{.State}}"]
        .map(String::from)
        .to_vec()
}

pub fn parse_state(ps: &str, name: &str) -> ContainerState {
    ps.lines()
        .filter_map(|l| l.split_once('\t'))
        .find(|(n, _)| *n == name)
        .map_or(ContainerState::Absent, |(_, state)| {
            if state.trim() == "running" {
                ContainerState::Running
            } else {
                ContainerState::Stopped
            }
        })
}

/// `docker ps -a` of the containers whose names start with `prefix`: id,
/// name and the value of the label `label`, tab-separated.
pub fn named_like(prefix: &str, label: &str) -> Cmd {
    let filter = format!("name={prefix}");
    let format = format!("{{{{.ID}}}}\t{{{{.Names}}}}\t{{{{.Label \"{label}\"}}}}");
    Cmd::new(
        Tool::Docker,
        [
            "ps",
            "-a",
            "--no-trunc",
            "--filter",
            &filter,
            "--format",
            &format,
        ],
    )
}

/// The rows of [`named_like`]'s output: id, name and label (empty when the
/// container has none).
pub fn parse_named(ps: &str) -> Vec<(&str, &str, &str)> {
    ps.lines()
        .filter_map(|line| {
            let mut cells = line.trim_end_matches('\r').splitn(3, '\t');
            let (id, name) = (cells.next()?, cells.next()?);
            Some((id, name, cells.next().unwrap_or("").trim()))
        })
        .collect()
}

/// `docker rm -f NAME`: a container gone, running or not.
pub fn remove_args(name: &str) -> Vec<String> {
    ["rm", "-f", name].map(String::from).to_vec()
}

/// `docker rm -f -v NAME` on this host's engine: a container and its
/// anonymous volumes.
pub fn remove_with_volumes(name: &str) -> Cmd {
    Cmd::new(Tool::Docker, ["rm", "-f", "-v", name])
}

/// `docker inspect` of a container's networks, as JSON.
pub fn networks_args(name: &str) -> Vec<String> {
    [
        "inspect",
        "--format",
        "{{json .NetworkSettings.Networks}}",
        name,
    ]
    .map(String::from)
    .to_vec()
}

/// `docker ps -aq` of the containers that carry `label`.
pub fn labelled_args(label: &str) -> Vec<String> {
    ["ps", "-aq", "--filter", label].map(String::from).to_vec()
}

/// `docker save -o ARCHIVE IMAGE` on this host's engine.
pub fn save(image: &str, archive: &std::path::Path) -> Cmd {
    Cmd::new(
        Tool::Docker,
        [
            std::ffi::OsStr::new("save"),
            "-o".as_ref(),
            archive.as_os_str(),
            image.as_ref(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_state_from_ps() {
        let ps = "consul-old\trunning\nconsul\texited\nweb\trunning\n";
        assert_eq!(parse_state(ps, "consul"), ContainerState::Stopped);
        assert_eq!(parse_state(ps, "web"), ContainerState::Running);
        assert_eq!(parse_state(ps, "db"), ContainerState::Absent);
        assert_eq!(parse_state("", "consul"), ContainerState::Absent);
    }

    #[test]
    fn named_containers_with_and_without_a_label() {
        let cmd = named_like("class-", "lab.id");
        assert_eq!(
            cmd.to_string(),
            "docker ps -a --no-trunc --filter name=class- --format '{{.ID}}\t{{.Names}}\t{{.Label \"lab.id\"}}'"
        );
        let rows = parse_named("abc\tclass-consul\tx1\r\ndef\tclass-web\t\nbroken\n");
        assert_eq!(
            rows,
            [("abc", "class-consul", "x1"), ("def", "class-web", "")]
        );
    }

    #[test]
    fn host_commands_print_as_a_person_would_type_them() {
        assert_eq!(
            remove_with_volumes("lab-consul").to_string(),
            "docker rm -f -v lab-consul"
        );
        let archive = std::path::Path::new("/a b/probe.tar");
        assert_eq!(
            save("busybox:latest", archive).to_string(),
            "docker save -o '/a b/probe.tar' busybox:latest"
        );
    }
}
