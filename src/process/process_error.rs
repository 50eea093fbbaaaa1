//! How running a command failed: it could not start, ran out of time, was
//! stopped, or exited non-zero, each with the command line and what it
//! printed (stderr, or the end of stdout).

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("could not start `{line}`: {source}")]
    Spawn {
        line: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{line}` did not finish within {}s and was stopped (with everything it started)\nhint: raise --timeout (LAB_TIMEOUT), or look at the machine: is it reachable?", timeout.as_secs())]
    Timeout { line: String, timeout: Duration },
    #[error("`{line}` was stopped by Ctrl-C")]
    Interrupted { line: String },
    #[error("`{line}` failed ({})\n{}", exit_text(*code), output_block(stderr, stdout))]
    Failed {
        line: String,
        code: Option<i32>,
        stdout: String,
        stderr: String,
    },
}

impl RunError {
    pub fn stderr(&self) -> &str {
        match self {
            RunError::Failed { stderr, .. } => stderr,
            _ => "",
        }
    }
}

pub(super) fn exit_text(code: Option<i32>) -> String {
    match code {
        Some(c) => format!("exit status {c}"),
        None => "killed by a signal".to_string(),
    }
}

/// The child's own words: its stderr, or the end of its stdout when it wrote
/// its complaint there (docker-machine prints warnings on stdout).
fn output_block(stderr: &str, stdout: &str) -> String {
    let (label, text) = if stderr.trim().is_empty() {
        let lines: Vec<&str> = stdout.trim_end().lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        ("stdout", tail)
    } else {
        ("stderr", stderr.trim_end().to_string())
    };
    if text.is_empty() {
        "(it printed nothing)".to_string()
    } else {
        format!("--- {label}\n{text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_shows_stderr_or_else_the_end_of_stdout() {
        let e = RunError::Failed {
            line: "x".into(),
            code: Some(1),
            stdout: "noise\n".into(),
            stderr: "boom\n".into(),
        };
        assert_eq!(
            e.to_string(),
            "`x` failed (exit status 1)\n--- stderr\nboom"
        );
        let e = RunError::Failed {
            line: "x".into(),
            code: Some(3),
            stdout: "a\nwarned\n".into(),
            stderr: String::new(),
        };
        assert_eq!(
            e.to_string(),
            "`x` failed (exit status 3)\n--- stdout\na\nwarned"
        );
    }
}
