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
}
