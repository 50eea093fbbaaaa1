//! One run of lab: what the command line asked of it (how much to say,
//! how long a command may take) and what it counts, passed to every command
//! instead of kept in statics. Only the signal handler's state is global.

use std::sync::Arc;
use std::time::Duration;

use crate::model::Lab;
use crate::process::runner::{Counts, Runner};
use crate::process::tool::{Tool, Tools};
use crate::ui::Ui;

#[derive(Debug, Clone, Default)]
pub struct Session {
    /// `-q`: no progress, only results, warnings and errors.
    pub quiet: bool,
    /// `-v`: every external command line as it starts, and a summary.
    pub verbose: bool,
    /// `--timeout`: one limit for every external command.
    pub timeout: Option<Duration>,
    counts: Arc<Counts>,
}

impl Session {
    pub fn new(quiet: bool, verbose: bool, timeout: Option<Duration>) -> Session {
        Session {
            quiet,
            verbose,
            timeout,
            counts: Arc::default(),
        }
    }

    pub fn ui(&self) -> Ui {
        Ui::new(self.quiet)
    }

    /// A runner for tools already found.
    pub fn runner_with(&self, tools: Tools) -> Runner {
        Runner::new(tools)
            .verbose(self.verbose)
            .with_timeout(self.timeout)
            .counting(self.counts.clone())
    }

    /// A runner that reads only: nothing is logged, so nothing is written.
    pub fn reader(&self, tools: &[Tool]) -> anyhow::Result<Runner> {
        let (found, missing) = Tools::available(tools);
        if !missing.is_empty() {
            return Err(crate::tools::catalogue::missing(&missing).into());
        }
        Ok(self.runner_with(found))
    }

    /// A runner for a command that changes the lab, logging to its `lab.log`.
    pub fn runner(&self, lab: &Lab, tools: &[Tool]) -> anyhow::Result<Runner> {
        self.reader(tools)?
            .with_retry(lab.retry)
            .with_log(lab.state_dir().join("lab.log"))
    }

    /// `-v`'s closing line: the commands run and lab's own CPU time.
    pub fn summary(&self) -> Option<String> {
        self.verbose.then(|| self.counts.summary())
    }
}
