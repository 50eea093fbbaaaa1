//! One external command as a value, the way cargo-util's `ProcessBuilder`
//! is one: program, arguments (`OsString`, so a path is passed as it is),
//! environment changes, directory, secrets, time limit and retry rule.
//! It prints as the command line a person could paste; nothing here runs it.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::tool::Tool;

/// One external command, as data: printable, comparable, runnable.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Cmd {
    pub tool: Tool,
    #[serde(serialize_with = "lossy_all")]
    pub args: Vec<OsString>,
    /// What changes in the environment it inherits: a variable set, or
    /// (`None`) removed. Shown with the command, so `-v` and the log say
    /// exactly what ran.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "lossy_env")]
    pub env: Vec<(String, Option<OsString>)>,
    /// The directory it runs in, for a tool that writes to its working
    /// directory (`vagrant box repackage`); lab's own otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Values (a join token, say) shown as `***` wherever this command or
    /// its output is shown: its display, the log, `-v`, errors.
    #[serde(skip)]
    secrets: Vec<String>,
    /// Its stdout is a secret: neither logged nor put in an error.
    #[serde(skip)]
    pub(super) secret_output: bool,
    #[serde(skip)]
    pub(super) limit: Limit,
    /// Which failures pass by themselves, so the command is tried again.
    #[serde(skip)]
    pub(super) retry_on: Option<RetryOn>,
}

/// Tells a failure that will likely pass by itself (and why, for the log)
/// from one that will not, by the command's stderr. Each tool's adapter
/// knows its own: the process layer only tries again.
#[derive(Clone, Copy)]
pub struct RetryOn(pub fn(&str) -> Option<&'static str>);

impl PartialEq for RetryOn {
    fn eq(&self, other: &RetryOn) -> bool {
        std::ptr::fn_addr_eq(self.0, other.0)
    }
}

impl Eq for RetryOn {}

/// How long a command may run when `--timeout` does not say: a question
/// to a tool or a machine answers in seconds, or something is wrong
/// (a frozen machine, a listener that never answers); work (a boot, an
/// install, a copy) may take long, but not for ever.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Limit {
    Query,
    #[default]
    Work,
}

impl Limit {
    pub const QUERY: Duration = Duration::from_secs(45);
    pub const WORK: Duration = Duration::from_secs(60 * 60);

    pub fn duration(self) -> Duration {
        match self {
            Limit::Query => Limit::QUERY,
            Limit::Work => Limit::WORK,
        }
    }
}

/// Never prints a secret, not even in a debug dump.
impl fmt::Debug for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cmd({self})")
    }
}

/// How a secret value is shown.
pub const HIDDEN: &str = "***";

impl Cmd {
    pub fn new<I, S>(tool: Tool, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Cmd {
            tool,
            args: args.into_iter().map(|a| a.as_ref().to_owned()).collect(),
            env: Vec::new(),
            dir: None,
            secrets: Vec::new(),
            secret_output: false,
            limit: Limit::Work,
            retry_on: None,
        }
    }

    /// Failures that `classify` calls passing are tried again, with the
    /// runner's backoff.
    pub fn retry_on(mut self, classify: fn(&str) -> Option<&'static str>) -> Cmd {
        self.retry_on = Some(RetryOn(classify));
        self
    }

    /// A question that answers in seconds: held to [`Limit::QUERY`].
    pub fn query(mut self) -> Cmd {
        self.limit = Limit::Query;
        self
    }

    /// `value` is a secret: shown as `***` wherever the command or its
    /// output is shown.
    pub fn secret(mut self, value: impl Into<String>) -> Cmd {
        let value = value.into();
        if !value.is_empty() {
            self.secrets.push(value);
        }
        self
    }

    /// What the command prints on stdout is a secret.
    pub fn secret_output(mut self) -> Cmd {
        self.secret_output = true;
        self
    }

    /// `text` with every secret of this command, and every swarm join
    /// token whatever printed it (`swarm init` shows the worker's join
    /// command), replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        static TOKEN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"SWMTKN-[0-9]+-[0-9A-Za-z]+-[0-9A-Za-z]+").expect("valid regex")
        });
        let text = self.secrets.iter().fold(text.to_string(), |t, secret| {
            t.replace(secret.as_str(), HIDDEN)
        });
        TOKEN.replace_all(&text, HIDDEN).into_owned()
    }

    pub(super) fn shown_stdout(&self, stdout: &str) -> String {
        if self.secret_output && !stdout.is_empty() {
            format!("({} bytes, a secret: not shown)\n", stdout.len())
        } else {
            self.redact(stdout)
        }
    }

    pub fn in_dir(mut self, dir: impl Into<PathBuf>) -> Cmd {
        self.dir = Some(dir.into());
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Cmd {
        self.env
            .push((key.to_string(), Some(value.as_ref().to_owned())));
        self
    }

    /// The command runs without `key` in its environment.
    pub fn env_remove(mut self, key: &str) -> Cmd {
        self.env.push((key.to_string(), None));
        self
    }
}

/// One word as a POSIX shell needs it written: bare when nothing in it is
/// special to the shell, single-quoted otherwise.
pub fn quote(word: &str) -> std::borrow::Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=,@%+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.into()
    } else {
        shell_words::quote(word)
    }
}

/// The command line a person could paste into a POSIX shell.
impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(dir) = &self.dir {
            write!(f, "(in {}) ", quote(&dir.display().to_string()))?;
        }
        let removed: Vec<&str> = self
            .env
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.as_str())
            .collect();
        if !removed.is_empty() {
            f.write_str("env")?;
            for k in removed {
                write!(f, " -u {k}")?;
            }
            f.write_str(" ")?;
        }
        for (k, v) in &self.env {
            if let Some(v) = v {
                write!(f, "{k}={} ", quote(&self.redact(&v.to_string_lossy())))?;
            }
        }
        f.write_str(self.tool.program())?;
        for arg in &self.args {
            write!(f, " {}", quote(&self.redact(&arg.to_string_lossy())))?;
        }
        Ok(())
    }
}

fn lossy_all<S: Serializer>(args: &[OsString], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(args.iter().map(|a| a.to_string_lossy()))
}

fn lossy_env<S: Serializer>(env: &[(String, Option<OsString>)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(
        env.iter()
            .map(|(k, v)| (k, v.as_ref().map(|v| v.to_string_lossy()))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_what_a_shell_would_split() {
        let cmd = Cmd::new(Tool::Vagrant, ["ssh", "my box", "-c", "echo $(id)"])
            .env("VAGRANT_CWD", "/a b/.lab");
        assert_eq!(
            cmd.to_string(),
            "VAGRANT_CWD='/a b/.lab' vagrant ssh 'my box' -c 'echo $(id)'"
        );
    }

    #[test]
    fn a_removed_variable_is_shown_as_env_would_remove_it() {
        let cmd = Cmd::new(Tool::Docker, ["ps"])
            .env("A", "1")
            .env_remove("DOCKER_TLS_VERIFY");
        assert_eq!(cmd.to_string(), "env -u DOCKER_TLS_VERIFY A=1 docker ps");
        let json = serde_json::to_string(&cmd).unwrap();
        assert_eq!(
            json,
            r#"{"tool":"docker","args":["ps"],"env":[["A","1"],["DOCKER_TLS_VERIFY",null]]}"#
        );
    }

    #[test]
    fn every_command_has_a_limit_and_questions_a_short_one() {
        assert_eq!(
            Cmd::new(Tool::Vagrant, ["up"]).limit.duration(),
            Limit::WORK
        );
        assert_eq!(
            Cmd::new(Tool::Vagrant, ["status"]).query().limit.duration(),
            Limit::QUERY
        );
        assert!(Limit::QUERY < Duration::from_secs(60));
    }
}
