//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::shell::Shell;

/// Turns lab.toml into a multi-host Docker lab on Vagrant machines: a Consul
/// server, a Swarm master and Swarm nodes joined over an overlay network.
#[derive(Debug, Parser)]
#[command(name = "lab", version, propagate_version = true, after_help = EXIT_CODES)]
pub struct Cli {
    /// The lab's description; `.lab/` (Vagrant's state, the log) goes beside it.
    #[arg(
        long,
        short = 'f',
        global = true,
        env = "LAB_FILE",
        default_value = "lab.toml"
    )]
    pub file: PathBuf,

    /// Print only results and errors: no progress.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,

    /// Stop any external command that runs longer than this many seconds.
    #[arg(long, global = true, env = "LAB_TIMEOUT", value_name = "SECONDS")]
    pub timeout: Option<u64>,

    #[command(subcommand)]
    pub command: Command,
}

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  a step failed (the error names the machine, the command and its stderr)
  2  wrong usage (unknown command, flag or machine name)
  3  lab.toml is missing or invalid (the error names the line and column)
  4  a required program (vagrant, docker-machine, docker, ssh) is not installed
  5  lab verify: at least one check failed (each is printed with FAIL)";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the lab, or finish building it: vagrant up, find each machine's
    /// private address, register the machines with docker-machine, start Consul.
    /// Re-running it creates nothing that exists and redoes what failed.
    Up(PlanArgs),

    /// Take the lab down: docker-machine rm for each registered machine, then
    /// vagrant destroy, then remove .lab/. Safe on a half-built lab and when run twice.
    Destroy(PlanArgs),

    /// Print the shell commands that point the Docker client at a machine:
    /// `eval "$(lab env swarm-master)"` talks to the swarm.
    Env(EnvArgs),

    /// One row per machine: role, Vagrant state, private address,
    /// docker-machine state, engine URL.
    Status(StatusArgs),

    /// Check the lab end to end, as the seed did by hand: machines running,
    /// engines answering, every swarm node Ready, the overlay network there,
    /// and probe containers on two different machines pinging each other by
    /// address and by name. One PASS/FAIL line per check; the probes are
    /// removed afterwards. Exit 0 only if every check passes.
    Verify(VerifyArgs),

    /// Print the Vagrantfile lab.toml renders to (written to .lab/Vagrantfile by `up`).
    Render,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan, every command with its arguments, and change nothing.
    /// What exists is still looked at (read-only) so the plan skips it.
    #[arg(long, short = 'n')]
    pub dry_run: bool,

    /// With --dry-run: print the plan as JSON.
    #[arg(long, requires = "dry_run")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// A machine of the lab, e.g. swarm-master.
    #[arg(required_unless_present = "unset")]
    pub machine: Option<String>,

    /// The shell to write for (default: from $SHELL).
    #[arg(long, value_enum)]
    pub shell: Option<Shell>,

    /// Print the commands that undo a previous `lab env`.
    #[arg(long, short = 'u', conflicts_with = "machine")]
    pub unset: bool,

    /// For the swarm master: its own engine instead of the swarm.
    #[arg(long)]
    pub no_swarm: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// One JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// One JSON document: {"lab", "passed", "checks": [{"name", "passed", "detail"}]}.
    #[arg(long)]
    pub json: bool,
}
