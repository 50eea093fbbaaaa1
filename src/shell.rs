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
    /// Windows sets no `SHELL` (Git Bash and MSYS do): there it is
    /// PowerShell, the shell of Windows Terminal; cmd users pass
    /// `--shell cmd`.
    pub fn detect() -> Shell {
        Shell::detect_from(std::env::var("SHELL").ok().as_deref(), cfg!(windows))
    }

    pub fn detect_from(shell: Option<&str>, windows: bool) -> Shell {
        let Some(shell) = shell.filter(|s| !s.is_empty()) else {
            return if windows {
                Shell::Powershell
            } else {
                Shell::Bash
            };
        };
        let name = shell.rsplit(['/', '\\']).next().unwrap_or("");
        match name.strip_suffix(".exe").unwrap_or(name) {
            "fish" => Shell::Fish,
            "pwsh" | "powershell" => Shell::Powershell,
            "cmd" => Shell::Cmd,
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

/// What PowerShell reads specially inside "...": its escape and variable
/// characters, and every character its language specification counts as
/// a double quote (`double-quote-character`: U+0022, U+201C, U+201D,
/// U+201E), each of which would end the string.
const POWERSHELL_EXPANDABLE: [char; 6] = ['`', '$', '"', '\u{201C}', '\u{201D}', '\u{201E}'];

/// The characters PowerShell's specification counts as a single quote
/// (`single-quote-character`: U+0027, U+2018, U+2019, U+201A, U+201B):
/// inside '...', each is written twice.
const POWERSHELL_SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// A command line, each word quoted for `shell`, for the hint that runs
/// lab again: POSIX quotes for bash and fish, PowerShell's single-quoted
/// strings, and cmd's double quotes (a Windows path holds no `"`).
pub fn command_line(shell: Shell, words: &[String]) -> String {
    let plain = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=".contains(c))
    };
    let quoted: Vec<String> = words
        .iter()
        .map(|w| match shell {
            _ if plain(w) => w.clone(),
            Shell::Bash | Shell::Fish => shell_words::quote(w).into_owned(),
            Shell::Powershell => {
                let mut out = String::from("'");
                for c in w.chars() {
                    if POWERSHELL_SINGLE_QUOTES.contains(&c) {
                        out.push(c);
                    }
                    out.push(c);
                }
                out + "'"
            }
            Shell::Cmd => format!("\"{w}\""),
        })
        .collect();
    quoted.join(" ")
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
        Shell::Powershell => format!(
            "$Env:{name} = \"{}\"",
            escape(value, &POWERSHELL_EXPANDABLE, '`')
        ),
        // Quoted whole, `&`, `|`, `<`, `>` and `^` are plain text both when
        // typed and when run by the hint's `FOR /f ... DO @%i`, which runs a
        // line without parsing it again (so `^&` would stay `^&` in the
        // value). A Windows path holds no `"`.
        Shell::Cmd => format!("SET \"{name}={value}\""),
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
    // A comment ends at a newline: one inside a path would turn the rest
    // into a command for whoever evals this output.
    let command: String = command
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
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

/// Every machine's variables as one `lab_use MACHINE` function, then the
/// default machine in use: a file students `source`.
pub fn render_handout(
    shell: Shell,
    lab: &str,
    machines: &[(String, Vec<(String, String)>)],
    default: &str,
) -> Result<String, String> {
    let names: Vec<&str> = machines.iter().map(|(m, _)| m.as_str()).collect();
    let unknown = format!(
        "lab_use: no machine $1 in lab {lab} (machines: {})",
        names.join(", ")
    );
    let mut out = format!("# Docker environments of lab {lab}, written by `lab env --all`.\n");
    match shell {
        Shell::Bash => {
            out += "# Load with `source FILE`; `lab_use MACHINE` switches machines.\nlab_use() {\n  case \"$1\" in\n";
            for (machine, vars) in machines {
                out += &format!("    {machine})\n");
                for (k, v) in vars {
                    out += &format!("      {}\n", set_line(shell, k, v));
                }
                out += "      ;;\n";
            }
            out += &format!("    *)\n      echo \"{}\" >&2\n      return 1\n      ;;\n  esac\n}}\n", unknown.replace('"', "\\\""));
        }
        Shell::Fish => {
            out += "# Load with `source FILE`; `lab_use MACHINE` switches machines.\nfunction lab_use\n  switch $argv[1]\n";
            for (machine, vars) in machines {
                out += &format!("    case {machine}\n");
                for (k, v) in vars {
                    out += &format!("      {}\n", set_line(shell, k, v));
                }
            }
            out += &format!("    case '*'\n      echo \"{}\" >&2\n      return 1\n  end\nend\n", unknown.replace("$1", "$argv[1]"));
        }
        Shell::Powershell => {
            out += "# Load with `. FILE`; `lab_use MACHINE` switches machines.\nfunction lab_use([string]$Machine) {\n  switch ($Machine) {\n";
            for (machine, vars) in machines {
                out += &format!("    '{machine}' {{\n");
                for (k, v) in vars {
                    out += &format!("      {}\n", set_line(shell, k, v));
                }
                out += "    }\n";
            }
            out += &format!("    default {{ Write-Error \"{}\" }}\n  }}\n}}\n", unknown.replace("$1", "$Machine"));
        }
        Shell::Cmd => {
            return Err("cmd.exe has no functions for a handout: use --shell bash, fish or powershell, or `lab env --shell cmd MACHINE` per machine".into())
        }
    }
    out += &format!("lab_use {default}\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOUBLE_QUOTES: [char; 4] = ['"', '\u{201C}', '\u{201D}', '\u{201E}'];

    /// What PowerShell makes of `"..."` at the start of `text`, read as its
    /// language specification says (§2.3.5.2, expandable string literals):
    /// the value and the rest of the line; None where a `$` would expand.
    fn powershell_expandable(text: &str) -> Option<(String, &str)> {
        let mut chars = text.char_indices();
        let (_, first) = chars.next()?;
        assert!(DOUBLE_QUOTES.contains(&first), "not a string: {text}");
        let mut value = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                '`' => value.push(chars.next()?.1),
                '$' => return None,
                c if DOUBLE_QUOTES.contains(&c) => return Some((value, &text[i + c.len_utf8()..])),
                c => value.push(c),
            }
        }
        None
    }

    /// The same for `'...'` (§2.3.5.2, verbatim string literals): a single
    /// quote written twice is one.
    fn powershell_verbatim(text: &str) -> Option<(String, &str)> {
        let mut chars = text.char_indices().peekable();
        let (_, first) = chars.next()?;
        assert!(
            POWERSHELL_SINGLE_QUOTES.contains(&first),
            "not a string: {text}"
        );
        let mut value = String::new();
        while let Some((i, c)) = chars.next() {
            if POWERSHELL_SINGLE_QUOTES.contains(&c) {
                if chars
                    .peek()
                    .is_some_and(|(_, n)| POWERSHELL_SINGLE_QUOTES.contains(n))
                {
                    value.push(chars.next()?.1);
                } else {
                    return Some((value, &text[i + c.len_utf8()..]));
                }
            } else {
                value.push(c);
            }
        }
        None
    }

    /// Issue 20: `“ ” „` end a PowerShell string as `"` does, so a lab
    /// directory named `x”; calc; “` ran `calc` under `| Invoke-Expression`.
    #[test]
    fn powershell_gets_back_every_value_with_its_specifications_quotes() {
        let values = [
            "C:\\Users\\s\\x\u{201D}; calc; \u{201C}\\.lab\\certs",
            "a\"b\u{201E}c\u{201C}d",
            "$HOME `whoami` $(calc)",
            "it's \u{2018}quoted\u{2019} \u{201A}low\u{201B}",
        ];
        for value in values {
            let line = set_line(Shell::Powershell, "DOCKER_CERT_PATH", value);
            let string = line.strip_prefix("$Env:DOCKER_CERT_PATH = ").unwrap();
            let (got, rest) = powershell_expandable(string)
                .unwrap_or_else(|| panic!("{line}: a $ would expand, or the string does not end"));
            assert_eq!((got.as_str(), rest), (value, ""), "{line}");
            let hint = command_line(
                Shell::Powershell,
                &["lab".into(), "--file".into(), value.into()],
            );
            let word = hint.strip_prefix("lab --file ").unwrap();
            let (got, rest) = powershell_verbatim(word).unwrap_or_else(|| panic!("{hint}"));
            assert_eq!((got.as_str(), rest), (value, ""), "{hint}");
        }
    }

    /// Issue 20: cmd's hint quoted `--file` with POSIX quotes, which cmd
    /// does not read.
    #[test]
    fn cmd_hints_quote_with_double_quotes() {
        let words = [
            "lab",
            "env",
            "--file",
            "C:\\my labs\\a&b\\lab.toml",
            "swarm-master",
        ]
        .map(String::from);
        assert_eq!(
            command_line(Shell::Cmd, &words),
            "lab env --file \"C:\\my labs\\a&b\\lab.toml\" swarm-master"
        );
        assert_eq!(
            command_line(Shell::Bash, &words),
            "lab env --file 'C:\\my labs\\a&b\\lab.toml' swarm-master"
        );
    }
    use crate::testdata::dm_stdout;
    use crate::tools::docker_machine::parse_env;

    #[cfg(unix)]
    fn run(program: &str, script: &str) -> String {
        let out = std::process::Command::new(program)
            .args(["-c", script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[cfg(unix)]
    #[test]
    fn a_bash_handout_switches_machines_and_keeps_odd_paths_intact() {
        let var = |host: &str| {
            vec![
                ("DOCKER_HOST".to_string(), format!("tcp://{host}:2376")),
                (
                    "DOCKER_CERT_PATH".to_string(),
                    "/home/a b/$x \"q\"/certs".to_string(),
                ),
            ]
        };
        let machines = vec![
            ("swarm-master".to_string(), var("10.0.0.2")),
            ("swarm-node01".to_string(), var("10.0.0.3")),
        ];
        let text = render_handout(Shell::Bash, "class", &machines, "swarm-master").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env.sh");
        std::fs::write(&file, &text).unwrap();
        let seen = run(
            "bash",
            &format!(
                "source '{}'; echo \"$DOCKER_HOST\"; lab_use swarm-node01; echo \"$DOCKER_HOST|$DOCKER_CERT_PATH\"; lab_use nope 2>&1 || echo refused",
                file.display()
            ),
        );
        let lines: Vec<&str> = seen.lines().collect();
        assert_eq!(lines[0], "tcp://10.0.0.2:2376");
        assert_eq!(lines[1], "tcp://10.0.0.3:2376|/home/a b/$x \"q\"/certs");
        assert!(lines[2].contains("no machine nope in lab class"), "{seen}");
        assert_eq!(lines[3], "refused");
        assert!(render_handout(Shell::Cmd, "class", &machines, "swarm-master").is_err());
    }

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
    fn the_shell_is_the_users_and_powershell_on_a_windows_without_shell() {
        assert_eq!(
            Shell::detect_from(Some("/usr/bin/fish"), false),
            Shell::Fish
        );
        assert_eq!(Shell::detect_from(None, false), Shell::Bash);
        assert_eq!(Shell::detect_from(Some(""), false), Shell::Bash);
        assert_eq!(Shell::detect_from(None, true), Shell::Powershell);
        // Git Bash on Windows sets SHELL.
        assert_eq!(Shell::detect_from(Some("/usr/bin/bash"), true), Shell::Bash);
        assert_eq!(
            Shell::detect_from(Some("C:\\Program Files\\PowerShell\\7\\pwsh.exe"), true),
            Shell::Powershell
        );
    }

    #[test]
    fn unset_lines() {
        let out = render_unset(Shell::Fish, &["DOCKER_HOST"], "lab env --unset");
        assert_eq!(out, "set -e DOCKER_HOST;\n# Run this command to configure your shell:\n# eval (lab env --unset)\n");
    }

    #[test]
    fn a_newline_in_the_hint_stays_inside_the_comment() {
        let out = render_unset(
            Shell::Bash,
            &["DOCKER_HOST"],
            "lab env -f '/x\ntouch PWNED\n#/lab.toml'",
        );
        assert_eq!(out.lines().count(), 3, "{out}");
        assert!(
            out.lines()
                .all(|l| l.starts_with('#') || l == "unset DOCKER_HOST"),
            "{out}"
        );
    }
}
