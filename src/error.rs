//! The errors lab classifies, each with the exit code it means, and the
//! codes themselves, documented in `lab --help` and README.md. Any other
//! error (a step that failed, with its command and stderr) is exit 1.
//!
//! Layer 0: plain data, used by every layer, using none.

use std::fmt;
use std::path::PathBuf;

pub const FAILED: u8 = 1;
pub const USAGE: u8 = 2;
pub const CONFIG: u8 = 3;
pub const MISSING_TOOL: u8 = 4;
pub const VERIFY_FAILED: u8 = 5;
pub const DOCTOR_FAILED: u8 = 6;
pub const BUSY: u8 = 7;
pub const UNSUPPORTED: u8 = 8;
pub const CORRUPT: u8 = 9;
/// As shells report a command ended by SIGINT.
pub const INTERRUPTED: u8 = 130;

/// The exit code for an error, from the first cause lab recognises.
pub fn code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(RemoteExit(code)) = cause.downcast_ref() {
            return u8::try_from(*code).unwrap_or(FAILED);
        }
        let code = if cause.is::<ConfigError>()
            || cause.is::<ConfigMissing>()
            || cause.is::<Clash>()
            || cause.is::<Invalid>()
            || cause.is::<NotOurs>()
        {
            CONFIG
        } else if cause.is::<MissingTools>() {
            MISSING_TOOL
        } else if cause.is::<Busy>() {
            BUSY
        } else if cause.is::<DoctorFailed>() {
            DOCTOR_FAILED
        } else if cause.is::<VerifyFailed>() || cause.is::<CheckFailed>() {
            VERIFY_FAILED
        } else if cause.is::<UnknownMachine>() || cause.is::<Usage>() {
            USAGE
        } else if cause.is::<Unsupported>() {
            UNSUPPORTED
        } else if cause.is::<Corrupt>() {
            CORRUPT
        } else {
            continue;
        };
        return code;
    }
    FAILED
}

/// Flags that make no sense together, found after they were parsed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// A file of a pack (`lab pack`) that is missing or is not what was packed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {what}\nhint: copy the pack again from the instructor's copy (`sha256sum -c SHA256SUMS` in the pack names every damaged file)", file.display())]
pub struct Corrupt {
    pub file: PathBuf,
    pub what: String,
}

/// A program a command needs, not on PATH, with how to install it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub program: &'static str,
    pub hint: &'static str,
}

/// Programs that a command needs but that are not on PATH.
#[derive(Debug, thiserror::Error)]
pub struct MissingTools(pub Vec<Missing>);

impl fmt::Display for MissingTools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.0.iter().map(|t| t.program).collect();
        write!(f, "not found on PATH: {}", names.join(", "))?;
        for tool in &self.0 {
            write!(f, "\n  {}: {}", tool.program, tool.hint)?;
        }
        Ok(())
    }
}

/// A problem in lab.toml, pointing at the line and column where it is,
/// and showing that line with a `^` under the offending value.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The offending line, and how many characters from `column` on are
    /// the offending value (at least 1).
    pub source_line: String,
    pub width: usize,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, hint) = match self.message.split_once("\nhint:") {
            Some((what, hint)) => (what, Some(hint)),
            None => (self.message.as_str(), None),
        };
        write!(
            f,
            "{}:{}:{}: {what}",
            self.file.display(),
            self.line,
            self.column
        )?;
        if !self.source_line.is_empty() {
            let number = self.line.to_string();
            let pad = " ".repeat(number.len());
            write!(
                f,
                "\n{pad} |\n{number} | {}\n{pad} | {}{}",
                self.source_line,
                " ".repeat(self.column.saturating_sub(1)),
                "^".repeat(self.width.max(1))
            )?;
        }
        if let Some(hint) = hint {
            write!(f, "\nhint:{hint}")?;
        }
        Ok(())
    }
}

/// lab.toml could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {source}\nhint: run lab in the directory that holds lab.toml, or pass --file PATH", file.display())]
pub struct ConfigMissing {
    pub file: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Another lab on this host already has this lab's name, one of its
/// machines' names, or its subnet.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Clash {
    pub message: String,
}

/// The list of labs cannot be read or has no home.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub message: String,
}

/// Another lab command is working on this lab.
#[derive(Debug, thiserror::Error)]
#[error("another lab command is working on this lab ({holder})\nhint: wait for it to finish, or stop it (Ctrl-C in its terminal); its lock is {}", path.display())]
pub struct Busy {
    pub holder: String,
    pub path: PathBuf,
}

/// Things that bear the lab's names but are not the lab's stand in the way.
#[derive(Debug, thiserror::Error)]
pub struct NotOurs {
    pub things: Vec<Foreign>,
    pub file: PathBuf,
}

/// Something on the host under one of the lab's names that the lab did not
/// make, and the command that would remove it, where there is one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Foreign {
    pub what: String,
    pub remove_with: Option<String>,
}

impl fmt::Display for Foreign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl PartialEq<&str> for Foreign {
    fn eq(&self, other: &&str) -> bool {
        self.what == *other
    }
}

impl fmt::Display for NotOurs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = self.things.len() == 1;
        let (it, is) = if one { ("it", "is") } else { ("them", "are") };
        write!(
            f,
            "not this lab's, so lab will neither use nor remove {it}:\n  {}\nhint: give the lab other names (`name` or the machine names in {}), or, if {it} {is} yours to lose, remove {it} yourself{}",
            self.things
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  "),
            self.file.display(),
            removal(&self.things)
        )
    }
}

fn removal(things: &[Foreign]) -> String {
    let commands: Vec<&str> = things
        .iter()
        .filter_map(|t| t.remove_with.as_deref())
        .collect();
    if commands.is_empty() {
        String::new()
    } else {
        format!(" ({})", commands.join("; "))
    }
}

/// Something blocks `lab up`; every check was printed.
#[derive(Debug, thiserror::Error)]
#[error("{failed} check(s) failed: `lab up` cannot build this lab on this host yet\nhint: each FAIL line says what to do; `lab up --skip-doctor` goes ahead anyway")]
pub struct DoctorFailed {
    pub failed: usize,
}

/// At least one check failed; each is in the report already printed.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} checks failed\nhint: `lab up` redoes what is missing; `lab status` shows each machine")]
pub struct VerifyFailed {
    pub failed: usize,
    pub total: usize,
}

/// Checks of an exercise did not all pass (`lab check`).
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} checks failed: score {points}/{max_points}\nhint: each FAIL line says what was seen and, where the exercise has one, a hint")]
pub struct CheckFailed {
    pub failed: usize,
    pub total: usize,
    pub points: u32,
    pub max_points: u32,
}

/// What the lab's provider cannot do (snapshots of Vagrant's docker
/// provider); nothing was changed.
#[derive(Debug, thiserror::Error)]
#[error("{what} is not possible with provider = \"{provider}\": nothing was changed\nhint: {hint}")]
pub struct Unsupported {
    pub what: String,
    pub provider: String,
    pub hint: String,
}

/// A machine name that is not in lab.toml.
#[derive(Debug, thiserror::Error)]
#[error("`{name}` is not a machine of this lab; its machines are: {known}")]
pub struct UnknownMachine {
    pub name: String,
    pub known: String,
}

/// The remote command's exit code, handed on as lab's own.
#[derive(Debug, thiserror::Error)]
#[error("the remote command exited with {0}")]
pub struct RemoteExit(pub i32);
