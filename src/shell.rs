//! Environment variables written for each shell, quoted so that any value
//! (a certificate path with spaces, quotes or `$`) arrives intact.

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// bash, zsh and other POSIX shells
    Bash,
    Fish,
    Powershell,
    Cmd,
}

impl Shell {
    /// The user's shell from `$SHELL`, bash when it is not one lab knows.
    pub fn detect() -> Shell {
        let shell = std::env::var("SHELL").unwrap_or_default();
        match shell.rsplit('/').next().unwrap_or("") {
            "fish" => Shell::Fish,
            "pwsh" | "powershell" => Shell::Powershell,
            _ => Shell::Bash,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Fish => "fish",
            Shell::Powershell => "powershell",
            Shell::Cmd => "cmd",
        }
    }
}

fn escape(value: &str, specials: &[char], escape_char: char) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if specials.contains(&c) {
            out.push(escape_char);
        }
        out.push(c);
    }
    out
}

fn set_line(shell: Shell, name: &str, value: &str) -> String {
    match shell {
        Shell::Bash => format!(
            "export {name}=\"{}\"",
            escape(value, &['\\', '"', '$', '`'], '\\')
        ),
        Shell::Fish => format!(
            "set -gx {name} \"{}\";",
            escape(value, &['\\', '"', '$'], '\\')
        ),
        Shell::Powershell => format!("$Env:{name} = \"{}\"", escape(value, &['`', '"', '$'], '`')),
        Shell::Cmd => format!(
            "SET {name}={}",
            escape(value, &['^', '&', '|', '<', '>'], '^')
        ),
    }
}

fn unset_line(shell: Shell, name: &str) -> String {
    match shell {
        Shell::Bash => format!("unset {name}"),
        Shell::Fish => format!("set -e {name};"),
        Shell::Powershell => format!("Remove-Item Env:\\{name}"),
        Shell::Cmd => format!("SET {name}="),
    }
}

/// The closing comment that tells how to load these lines, like docker-machine's.
fn hint(shell: Shell, command: &str) -> String {
    let (comment, how) = match shell {
        Shell::Bash => ("#", format!("eval \"$({command})\"")),
        Shell::Fish => ("#", format!("eval ({command})")),
        Shell::Powershell => ("#", format!("& {command} | Invoke-Expression")),
        Shell::Cmd => (
            "REM",
            format!("\t@FOR /f \"tokens=*\" %i IN ('{command}') DO @%i"),
        ),
    };
    format!("{comment} Run this command to configure your shell:\n{comment} {how}\n")
}

pub fn render_set(shell: Shell, vars: &[(String, String)], command: &str) -> String {
    let mut out = String::new();
    for (name, value) in vars {
        out.push_str(&set_line(shell, name, value));
        out.push('\n');
    }
    out + &hint(shell, command)
}

pub fn render_unset(shell: Shell, names: &[&str], command: &str) -> String {
    let mut out = String::new();
    for name in names {
        out.push_str(&unset_line(shell, name));
        out.push('\n');
    }
    out + &hint(shell, command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker_machine::parse_env;
    use crate::testdata::dm_stdout;

    #[test]
    fn bash_lines_match_docker_machine() {
        let vars = parse_env(&dm_stdout("env"));
        let ours = render_set(Shell::Bash, &vars, "lab env node1");
        let theirs = dm_stdout("env");
        let var_lines = |t: &str| {
            t.lines()
                .filter(|l| !l.starts_with('#'))
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(var_lines(&ours), var_lines(&theirs));
        assert!(ours.ends_with("# eval \"$(lab env node1)\"\n"), "{ours}");
    }

    #[test]
    fn fish_and_powershell_lines_match_docker_machine() {
        let vars = parse_env(&dm_stdout("env"));
        for (shell, fixture) in [
            (Shell::Fish, "env-fish"),
            (Shell::Powershell, "env-powershell"),
        ] {
            let ours = render_set(shell, &vars, "lab env node1");
            let theirs = dm_stdout(fixture);
            assert_eq!(
                ours.lines().take(4).collect::<Vec<_>>(),
                theirs.lines().take(4).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn hostile_values_stay_values() {
        let vars = vec![(
            "DOCKER_CERT_PATH".to_string(),
            "/home/a b/\"$(id)\"`x`".to_string(),
        )];
        assert_eq!(
            render_set(Shell::Bash, &vars, "lab env m")
                .lines()
                .next()
                .unwrap(),
            r#"export DOCKER_CERT_PATH="/home/a b/\"\$(id)\"\`x\`""#
        );
        assert_eq!(
            render_set(Shell::Powershell, &vars, "lab env m")
                .lines()
                .next()
                .unwrap(),
            r#"$Env:DOCKER_CERT_PATH = "/home/a b/`"`$(id)`"``x``""#
        );
    }

    #[test]
    fn unset_lines() {
        let out = render_unset(Shell::Fish, &["DOCKER_HOST"], "lab env --unset");
        assert_eq!(out, "set -e DOCKER_HOST;\n# Run this command to configure your shell:\n# eval (lab env --unset)\n");
    }
}
