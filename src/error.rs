//! The errors lab classifies, each with the exit code it means, and the
//! codes themselves, documented in `lab --help` and docs/commands.md. Any other
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

/// Every error lab classifies: the user's input, the host, or a check's
/// verdict, each with the exit code it means. An error that is none of
/// these (a step that failed, with its command and stderr) is exit 1.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Flags that make no sense together, found after they were parsed.
    #[error("{0}")]
    Usage(String),
    /// A machine name that is not in lab.toml.
    #[error("`{name}` is not a machine of this lab; its machines are: {known}")]
    UnknownMachine { name: String, known: String },
    /// A problem in lab.toml or an exercise file, at a line and column.
    #[error("{0}")]
    Config(ConfigError),
    /// lab.toml could not be read at all.
    #[error("cannot read {}: {source}\nhint: run lab in the directory that holds lab.toml, or pass --file PATH", file.display())]
    ConfigMissing {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another lab on this host already has this lab's name, one of its
    /// machines' names, or its subnet.
    #[error("{0}")]
    Clash(String),
    /// What lab reads or asks for besides lab.toml is not usable: the list
    /// of labs, an exercise file, an answer it cannot go on without.
    #[error("{0}")]
    Invalid(String),
    /// Things that bear the lab's names but are not the lab's stand in the way.
    #[error("{0}")]
    NotOurs(NotOurs),
    /// Programs that a command needs but that are not on PATH.
    #[error("{0}")]
    MissingTools(MissingTools),
    /// At least one verify check failed; each is in the report already printed.
    #[error("{failed} of {total} checks failed\nhint: `lab up` redoes what is missing; `lab status` shows each machine")]
    VerifyFailed { failed: usize, total: usize },
    /// Checks of an exercise did not all pass (`lab check`).
    #[error("{failed} of {total} checks failed: score {points}/{max_points}\nhint: each FAIL line says what was seen and, where the exercise has one, a hint")]
    CheckFailed {
        failed: usize,
        total: usize,
        points: u32,
        max_points: u32,
    },
    /// Something blocks `lab up`; every check was printed.
    #[error("{failed} check(s) failed: `lab up` cannot build this lab on this host yet\nhint: each FAIL line says what to do; `lab up --skip-doctor` goes ahead anyway")]
    DoctorFailed { failed: usize },
    /// Another lab command is working on this lab.
    #[error("another lab command is working on this lab ({holder})\nhint: wait for it to finish, or stop it (Ctrl-C in its terminal); its lock is {}", path.display())]
    Busy { holder: String, path: PathBuf },
    /// What the lab's provider cannot do (snapshots of Vagrant's docker
    /// provider); nothing was changed.
    #[error(
        "{what} is not possible with provider = \"{provider}\": nothing was changed\nhint: {hint}"
    )]
    Unsupported {
        what: String,
        provider: String,
        hint: String,
    },
    /// A file of a pack (`lab pack`) that is missing or is not what was packed.
    #[error("{}: {what}\nhint: copy the pack again from the instructor's copy (`sha256sum -c SHA256SUMS` in the pack names every damaged file)", file.display())]
    Corrupt { file: PathBuf, what: String },
    /// `lab ssh`: the remote command's exit code, handed on as lab's own.
    #[error("the remote command exited with {0}")]
    RemoteExit(i32),
}

impl Error {
    /// The exit code this error means.
    pub fn code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::UnknownMachine { .. } => USAGE,
            Error::Config(_)
            | Error::ConfigMissing { .. }
            | Error::Clash(_)
            | Error::Invalid(_)
            | Error::NotOurs(_) => CONFIG,
            Error::MissingTools(_) => MISSING_TOOL,
            Error::VerifyFailed { .. } | Error::CheckFailed { .. } => VERIFY_FAILED,
            Error::DoctorFailed { .. } => DOCTOR_FAILED,
            Error::Busy { .. } => BUSY,
            Error::Unsupported { .. } => UNSUPPORTED,
            Error::Corrupt { .. } => CORRUPT,
            Error::RemoteExit(code) => u8::try_from(*code).unwrap_or(FAILED),
        }
    }
}

/// The exit code for an error: that of the first [`Error`] among its
/// causes, or 1.
pub fn code(error: &anyhow::Error) -> u8 {
    find(error).map_or(FAILED, Error::code)
}

/// The first of an error's causes that lab classifies.
pub fn find(error: &anyhow::Error) -> Option<&Error> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<Error>())
}

/// A program a command needs, not on PATH, with how to install it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub program: &'static str,
    pub hint: &'static str,
}

/// Programs that a command needs but that are not on PATH.
#[derive(Debug)]
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
/// Not an error of its own: it reaches the user as [`Error::Config`].
#[derive(Debug)]
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

/// Things that bear the lab's names but are not the lab's, and the file
/// whose names they bear.
#[derive(Debug)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_that_of_the_first_classified_cause_under_any_context() {
        use anyhow::Context as _;
        let busy: anyhow::Result<()> = Err(Error::Busy {
            holder: "`lab up`, pid 7".into(),
            path: "lock".into(),
        }
        .into());
        let wrapped = busy.context("taking the lab's lock").unwrap_err();
        assert_eq!(code(&wrapped), BUSY);
        assert_eq!(code(&anyhow::anyhow!("a step failed")), FAILED);
        let exit: anyhow::Error = Error::RemoteExit(42).into();
        assert_eq!(code(&exit), 42);
        // A remote code no shell can hand on is still a failure.
        assert_eq!(Error::RemoteExit(-1).code(), FAILED);
        assert_eq!(Error::RemoteExit(256).code(), FAILED);
    }
}
