//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::shell::Shell;

/// Turns lab.toml into a multi-host Docker lab on Vagrant machines: a Consul
/// server, a Swarm master and Swarm nodes joined over an overlay network.
#[derive(Debug, Parser)]
#[command(name = "lab", version = VERSION, propagate_version = true, after_help = EXIT_CODES)]
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

    /// Print every external command as it starts (to stderr).
    #[arg(long, short = 'v', global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Stop any external command that runs longer than this many seconds.
    /// Without it, questions (status, addresses, `docker info`) get 45 s
    /// and work (`vagrant up`, creates, installs) 60 minutes.
    #[arg(long, global = true, env = "LAB_TIMEOUT", value_name = "SECONDS", value_parser = seconds)]
    pub timeout: Option<u64>,

    #[command(subcommand)]
    pub command: Command,
}

/// `lab --version`: the release and the commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("LAB_COMMIT"),
    ")"
);

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  a step failed (the error names the machine, the command and its stderr)
  2  wrong usage (unknown command, flag or machine name)
  3  lab.toml is missing or invalid (the error names the line and column), the
     host's list of labs is unreadable, or something not the lab's own stands in
     its way (another lab's names or subnet, a docker-machine entry or container)
  4  a required program (vagrant, docker-machine, docker, ssh) is not installed
  5  lab verify or lab check: at least one check failed (printed with FAIL)
  6  lab doctor (also run by lab up): something blocks lab up (printed with FAIL)
  7  another lab command (up, destroy, deploy, grade) is working on this lab
  8  the lab's provider cannot do it (snapshots on the docker provider); nothing changed
  9  a file of a pack (lab pack) is missing or damaged: named, with its SHA-256; nothing ran
  129  stopped by SIGHUP (the terminal closed), 130 by Ctrl-C, 143 by SIGTERM;
       either way every command lab started was stopped";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the lab, or finish building it: vagrant up, find each machine's
    /// private address, register the machines with docker-machine, start Consul.
    /// Re-running it creates nothing that exists and redoes what failed.
    Up(UpArgs),

    /// Take the lab down: docker-machine rm for each registered machine, then
    /// vagrant destroy, then remove .lab/. Safe on a half-built lab and when run twice.
    Destroy(PlanArgs),

    /// Stop every machine and keep everything else (a laptop about to close):
    /// `lab up` brings the same lab back, engines and swarm included.
    Halt(PlanArgs),

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

    /// Check this lab against an exercise: every check of the exercise file
    /// (the swarm's nodes, a service's tasks, an HTTP answer, a command's
    /// output) with what it saw, the hint where one fails, and the score.
    /// Exit 0 when every check passes, 5 when one fails.
    Check(CheckArgs),

    /// Grade a class on this (the instructor's) lab: for each submission
    /// directory in turn, deploy its stack as `lab deploy` does, run the
    /// exercise's checks on that stack, remove it. Writes grades.csv,
    /// grades.html (one self-contained page) and STUDENT.json reports to
    /// --out. `--reports` merges students' own `lab check --json` reports
    /// instead, with no lab.
    Grade(GradeArgs),

    /// Fault drills: `lab fault stop swarm-node02` (a crash), `cut` (a
    /// partition on the private network), `net --delay 200` (a slow link),
    /// `clear` (undo exactly what lab set), `list`. `lab status` shows
    /// what is in place.
    #[command(subcommand)]
    Fault(FaultCommand),

    /// Checkpoints of the whole lab (VirtualBox and libvirt): every machine
    /// paused, snapshotted and resumed together, so the swarm's managers
    /// and nodes come from one moment. `restore` brings them back and runs
    /// `lab up` to mend addresses, certificates and the swarm.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),

    /// Back to the lab as the first successful `lab up` left it (the
    /// snapshot `after-up`, taken unless `[snapshots] after_up = false`).
    Reset,

    /// Deploy a sample stack to the lab and show where each service runs and
    /// the URL to open: `lab deploy examples/redmine`. Swarm mode deploys
    /// DIR/stack.yml as a stack; classic mode sends DIR/docker-compose.yml to
    /// the Swarm manager. Images a machine lacks are copied from this host.
    Deploy(DeployArgs),

    /// Everything the lab needs without the internet, in one new folder for a
    /// USB stick or a class share: the box (or image), the images the lab and
    /// the named stacks and exercises run, lab.toml and a profile pointing at
    /// the box by a relative path, lab binaries, SHA256SUMS and a README.txt.
    /// `lab up` in that folder checks every file, adds the box and loads the
    /// images; nothing is downloaded.
    Pack(PackArgs),

    /// Draw the lab: its machines (role, address, engine and node state,
    /// faults), its private network and the swarm's overlay networks, and
    /// each service's running tasks on their nodes. By default a
    /// self-contained HTML page, .lab/graph.html (its path is printed);
    /// `--watch` redraws it every few seconds and the page reloads itself.
    Graph(GraphArgs),

    /// Open a shell on a machine, or run a command there:
    /// `lab ssh swarm-node01 -- docker ps`. Exits with the remote command's code.
    Ssh(SshArgs),

    /// Print a completion script: `lab completions bash > /etc/bash_completion.d/lab`,
    /// `lab completions zsh > ~/.zfunc/_lab`, `lab completions fish > ~/.config/fish/completions/lab.fish`.
    Completions(CompletionsArgs),

    /// Check this host before `lab up` (which runs the same checks first):
    /// programs and versions, VirtualBox's allowed networks, memory, disk,
    /// the box, the engine and mode combination, the interface. One
    /// PASS/WARN/FAIL line each, with the fix; exit 6 when something blocks.
    Doctor(DoctorArgs),

    /// Boxes without the internet: `lab box add [PROFILE]` adds a profile's
    /// box from its local file or class server (or loads its docker image).
    #[command(subcommand)]
    Box(BoxCommand),

    /// Print the Vagrantfile lab.toml renders to (written to .lab/Vagrantfile by `up`).
    Render,
}

#[derive(Debug, Args, Default)]
pub struct UpArgs {
    #[command(flatten)]
    pub plan: PlanArgs,

    /// Do not run `lab doctor`'s checks first.
    #[arg(long)]
    pub skip_doctor: bool,

    /// Bring the machines up one after another (`vagrant up --no-parallel`),
    /// as VirtualBox always does; each machine's steps still start as soon
    /// as it is up.
    #[arg(long)]
    pub no_parallel: bool,

    /// Remove the machines the lab made that lab.toml no longer lists
    /// (`[swarm] nodes` lowered) without asking: for scripts. On a
    /// terminal, `up` asks; elsewhere, without --yes, it stops and says.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args, Default)]
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
    #[arg(required_unless_present_any = ["unset", "all"])]
    pub machine: Option<String>,

    /// A handout for students: every machine's variables in one file, the
    /// master's active; `lab_use MACHINE` switches (`lab env --all --shell bash > env.sh`,
    /// then `source env.sh`).
    #[arg(long, conflicts_with_all = ["machine", "unset", "no_swarm"])]
    pub all: bool,

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

    /// Every lab on this host (from lab's list of labs), one row each:
    /// name, lab.toml, subnet, machines running.
    #[arg(long)]
    pub all: bool,

    /// With --all: forget the labs whose directory is gone (they keep their
    /// subnet and names until then, in case the directory comes back).
    #[arg(long, requires = "all")]
    pub prune: bool,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// html: one page that needs no network (the SVG inline); svg; dot
    /// (Graphviz); mermaid; json (schema lab.graph/1, for scripts).
    #[arg(long, value_enum, default_value = "html")]
    pub format: GraphFormat,

    /// Where to write it; `-o -` for stdout. Default: html to the lab's
    /// folder (.lab/graph.html), the other formats to stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Open the file with the desktop's opener (xdg-open, open, start).
    #[arg(long)]
    pub open: bool,

    /// Redraw every --interval seconds, replacing the file whole, until
    /// Ctrl-C; the HTML page reloads itself as often (no server runs).
    #[arg(long)]
    pub watch: bool,

    /// With --watch: seconds between drawings.
    #[arg(long, default_value_t = 3, value_name = "SECONDS", requires = "watch")]
    pub interval: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Html,
    Svg,
    Dot,
    Mermaid,
    Json,
}

impl GraphFormat {
    pub fn extension(self) -> &'static str {
        match self {
            GraphFormat::Html => "html",
            GraphFormat::Svg => "svg",
            GraphFormat::Dot => "dot",
            GraphFormat::Mermaid => "mmd",
            GraphFormat::Json => "json",
        }
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// One JSON document: {"lab", "passed", "checks": [{"name", "passed", "detail"}]}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The exercise file (see examples/redmine/exercise.toml).
    pub exercise: PathBuf,

    /// One JSON document, schema lab.check/1: {"schema", "lab", "exercise",
    /// "title", "student", "host", "started", "points", "max_points",
    /// "checks": [{"name", "passed", "points", "max_points", "detail"}]}.
    #[arg(long)]
    pub json: bool,

    /// Who the report is for (default: the account's user name).
    #[arg(long)]
    pub student: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Take a snapshot of every machine, named NAME.
    Save { name: String },
    /// Bring every machine back to NAME, then `lab up` the lab.
    Restore { name: String },
    /// The lab's snapshots, and apart from them those it did not take.
    List {
        /// One JSON document, schema lab.snapshots/1: {"schema", "lab",
        /// "snapshots": [{"name", "taken", "machines", "seconds"}],
        /// "not_labs": [{"machine", "name"}]}.
        #[arg(long)]
        json: bool,
    },
    /// Delete the lab's snapshot NAME on every machine.
    Delete { name: String },
}

#[derive(Debug, Subcommand)]
pub enum FaultCommand {
    /// Power MACHINE off at once, without a shutdown, as a crash would.
    /// `lab fault clear MACHINE` (or `lab up`) brings it back.
    Stop { machine: String },

    /// MACHINE stops talking to PEERS over the private network (to every
    /// machine, without PEERS): a partition, by firewall rules in a chain
    /// of lab's own.
    Cut { machine: String, peers: Vec<String> },

    /// Slow MACHINE's private link (netem): a delay, its jitter and a
    /// share of packets lost. Needs a kernel with sch_netem.
    Net {
        machine: String,
        /// Milliseconds added to every packet.
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=60_000))]
        delay: u32,
        /// Milliseconds the delay varies by.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=60_000))]
        jitter: u32,
        /// Per cent of packets lost.
        #[arg(long, default_value_t = 0.0, value_parser = percent)]
        loss: f64,
    },

    /// Undo lab's faults on MACHINE, or on every machine: its rules and
    /// qdisc removed, a stopped machine started again (with `lab up`).
    Clear { machine: Option<String> },

    /// The faults in place.
    List {
        /// One JSON document, schema lab.faults/1: {"schema", "lab",
        /// "faults": [{"machine", "kind", "detail", "since"}]}.
        #[arg(long)]
        json: bool,
    },
}

fn percent(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not between 0 and 100"))
    }
}

#[derive(Debug, Args)]
pub struct GradeArgs {
    /// The exercise file; its `stack` names the stack file in each
    /// submission (see examples/redmine/exercise.toml).
    pub exercise: PathBuf,

    /// One directory per student, named for the student: `submissions/*`.
    #[arg(required_unless_present = "reports", conflicts_with = "reports")]
    pub submissions: Vec<PathBuf>,

    /// Students' own `lab check --json` reports (lab.check/1), merged into
    /// the same table instead of grading on this lab; the page says so.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub reports: Vec<PathBuf>,

    /// Where grades.csv, grades.html and the reports go (made if missing).
    #[arg(long, default_value = "grades", value_name = "DIR")]
    pub out: PathBuf,

    /// Seconds one submission may take to deploy and pass its checks;
    /// checks still running then fail.
    #[arg(long, default_value_t = 600, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct SshArgs {
    /// A machine of the lab.
    pub machine: String,

    /// The command to run there (after `--`); none opens a login shell.
    #[arg(last = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// One JSON document: {"lab", "passed", "checks": [{"name", "passed", "warning", "detail"}]}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum BoxCommand {
    /// Add a profile's box to Vagrant from `box_file` (a .box on a USB stick
    /// or share) or `box_url` (metadata JSON on a class server); for the
    /// docker provider, `docker load` its `image_file`. Default: lab.toml's box.
    Add {
        /// A profile from boxes/ (see README "Box profiles").
        profile: Option<String>,
    },

    /// Bake a box with the Docker engine in it, once, for a class: one machine
    /// boots from the profile's box, Docker is installed as docker-machine's
    /// generic driver would (or from --packages, without the internet), the
    /// machine is made anonymous again and packaged. Writes the box and a
    /// profile PROFILE-docker (docker_preinstalled) into boxes/ beside lab.toml.
    Bake {
        /// A profile from boxes/; default: lab.toml's box.
        profile: Option<String>,

        /// The box file to write (default: boxes/PROFILE-docker-PROVIDER.box).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,

        /// A folder of Debian packages (.deb) to install Docker from, instead
        /// of docker-machine's install script from the internet.
        #[arg(long, value_name = "DIR")]
        packages: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// The folder to write; it must not exist, or be empty.
    pub dir: PathBuf,

    /// A stack to take along with its images: a directory with stack.yml
    /// (swarm mode) or docker-compose.yml (classic), or the file. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub stack: Vec<PathBuf>,

    /// An exercise to take along, with its stack's images where the stack
    /// sits beside it. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub exercise: Vec<PathBuf>,

    /// lab binaries for the students (scripts/dist builds them); without
    /// it, this lab binary. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub bin: Vec<PathBuf>,

    /// The architectures to pack boxes for (amd64, arm64): this host's only,
    /// as Vagrant keeps boxes for it; pack on the other kind for the other.
    #[arg(long, value_name = "LIST")]
    pub arch: Option<String>,

    /// Print what the pack would hold, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// A directory with stack.yml (swarm mode) or docker-compose.yml (classic), or the file itself.
    pub path: PathBuf,

    /// Remove what an earlier `lab deploy` of this directory started.
    #[arg(long)]
    pub rm: bool,
}

/// `--timeout`: a positive number of seconds. 0 is refused rather than
/// read as "no limit", which would let a frozen machine hang lab for ever.
fn seconds(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(0) => Err("0 would mean no limit at all; give a number of seconds from 1 up, or leave --timeout out for lab's own limits".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a number of seconds")),
    }
}

#[cfg(test)]
mod tests {
    /// clap's own checks of every command's flags (two flags with one
    /// short name, say), which otherwise fire only when that command runs.
    #[test]
    fn every_command_is_well_formed() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }
}
