//! The one seam through which lab runs `vagrant`, `docker-machine`, `docker`
//! and `ssh`: argument vectors only, never a shell line, each call logged
//! with its full output, each failure carrying the command and its stderr.

use anyhow::Context as _;
use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{Error, MissingTools};
use crate::model::Retry;

/// The external programs lab drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    Vagrant,
    DockerMachine,
    Docker,
    Ssh,
    VBoxManage,
    /// libvirt's shell, for what vagrant-libvirt does not show: a domain's
    /// disk (lab box bake).
    Virsh,
    QemuImg,
}

impl Tool {
    /// Every tool, in the order `-v`'s summary lists them.
    pub const ALL: [Tool; 7] = [
        Tool::Vagrant,
        Tool::Ssh,
        Tool::Docker,
        Tool::DockerMachine,
        Tool::VBoxManage,
        Tool::Virsh,
        Tool::QemuImg,
    ];

    pub fn program(self) -> &'static str {
        match self {
            Tool::Vagrant => "vagrant",
            Tool::DockerMachine => "docker-machine",
            Tool::Docker => "docker",
            Tool::Ssh => "ssh",
            Tool::VBoxManage => "VBoxManage",
            Tool::Virsh => "virsh",
            Tool::QemuImg => "qemu-img",
        }
    }

    pub fn install_hint(self) -> &'static str {
        if cfg!(windows) {
            return match self {
                Tool::Vagrant => "install Vagrant 2.4.9 or later (the Windows installer from developer.hashicorp.com/vagrant)",
                Tool::DockerMachine => {
                    "install docker-machine.exe on PATH: GitLab's maintained fork (docker-machine-Windows-x86_64.exe from gitlab-org/ci-cd/docker-machine releases), or use engine = \"native\""
                }
                Tool::Docker => "install the Docker client, docker.exe, on PATH (Docker's static binaries for Windows, download.docker.com/win/static)",
                Tool::Ssh => "install the OpenSSH client (Windows 10+: Settings > Optional features > OpenSSH Client)",
                Tool::VBoxManage => "install VirtualBox 7 (virtualbox.org); lab finds VBoxManage.exe where the installer puts it",
                Tool::Virsh | Tool::QemuImg => "libvirt runs on Linux only: bake a libvirt box there",
            };
        }
        match self {
            Tool::Vagrant => "install Vagrant 2.x (Debian/Ubuntu: apt-get install vagrant)",
            Tool::DockerMachine => {
                "install docker-machine somewhere on PATH: GitLab's maintained fork (0.16.2-gitlab.NN, a single binary from gitlab-org/ci-cd/docker-machine releases), or Docker's last release 0.16.2"
            }
            Tool::Docker => "install the Docker client (Debian/Ubuntu: apt-get install docker.io)",
            Tool::Ssh => "install an OpenSSH client (Debian/Ubuntu: apt-get install openssh-client)",
            Tool::VBoxManage => "install VirtualBox 6.1 or 7 (virtualbox.org), or use provider = \"docker\" on Linux",
            Tool::Virsh => "install libvirt's client (Debian/Ubuntu: apt-get install libvirt-clients)",
            Tool::QemuImg => "install qemu-img (Debian/Ubuntu: apt-get install qemu-utils)",
        }
    }
}

impl Tool {
    /// The programs `lab up` and `lab destroy` drive for this lab.
    pub fn needed_by(lab: &crate::model::Lab) -> Vec<Tool> {
        let mut tools = vec![Tool::Vagrant, Tool::Docker, Tool::Ssh];
        if lab.engine.uses_docker_machine() {
            tools.push(Tool::DockerMachine);
        }
        tools
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.program())
    }
}

/// The error for tools that are not on PATH, each with its install hint.
pub fn missing(tools: &[Tool]) -> Error {
    Error::MissingTools(MissingTools(
        tools
            .iter()
            .map(|t| crate::error::Missing {
                program: t.program(),
                hint: t.install_hint(),
            })
            .collect(),
    ))
}

/// Where each tool was found; looked up once, before anything runs.
#[derive(Debug, Clone, Default)]
pub struct Tools {
    paths: Vec<(Tool, PathBuf)>,
}

impl Tools {
    /// Tools at the given paths: a test's own stand-ins (sh scripts).
    #[cfg(all(test, unix))]
    pub fn at(paths: Vec<(Tool, PathBuf)>) -> Tools {
        Tools { paths }
    }

    pub fn locate(needed: &[Tool]) -> Result<Tools, Error> {
        let (tools, missing_tools) = Tools::available(needed);
        if missing_tools.is_empty() {
            Ok(tools)
        } else {
            Err(missing(&missing_tools))
        }
    }

    /// The tools that are there, and the ones that are not (for dry runs,
    /// which look at what they can and assume the rest).
    pub fn available(wanted: &[Tool]) -> (Tools, Vec<Tool>) {
        let mut paths = Vec::new();
        let mut missing = Vec::new();
        for &tool in wanted {
            match which::which(tool.program())
                .ok()
                .or_else(|| installed_off_path(tool))
            {
                Some(path) => paths.push((tool, path)),
                None => missing.push(tool),
            }
        }
        (Tools { paths }, missing)
    }

    pub fn has(&self, tool: Tool) -> bool {
        self.path(tool).is_some()
    }

    fn path(&self, tool: Tool) -> Option<&PathBuf> {
        self.paths.iter().find(|(t, _)| *t == tool).map(|(_, p)| p)
    }
}

/// Where a tool's installer puts it when it is not on PATH: VirtualBox's
/// Windows installer adds no PATH entry, only `VBOX_MSI_INSTALL_PATH`, and
/// installs under `%ProgramFiles%\Oracle\VirtualBox`.
fn installed_off_path(tool: Tool) -> Option<PathBuf> {
    let var = std::env::var_os;
    if !cfg!(windows) || tool != Tool::VBoxManage {
        return None;
    }
    let dirs = [
        var("VBOX_MSI_INSTALL_PATH").map(PathBuf::from),
        var("VBOX_INSTALL_PATH").map(PathBuf::from),
        var("ProgramFiles").map(|p| PathBuf::from(p).join("Oracle").join("VirtualBox")),
    ];
    dirs.into_iter()
        .flatten()
        .map(|dir| dir.join("VBoxManage.exe"))
        .find(|exe| exe.is_file())
}

/// One external command, as data: printable, comparable, runnable.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Cmd {
    pub tool: Tool,
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
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
    secret_output: bool,
    #[serde(skip)]
    limit: Limit,
    /// Which failures pass by themselves, so the command is tried again.
    #[serde(skip)]
    retry_on: Option<RetryOn>,
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
        S: Into<String>,
    {
        Cmd {
            tool,
            args: args.into_iter().map(Into::into).collect(),
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

    fn shown_stdout(&self, stdout: &str) -> String {
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

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Cmd {
        self.env.push((key.to_string(), value.into()));
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
        for (k, v) in &self.env {
            write!(f, "{k}={} ", quote(&self.redact(v)))?;
        }
        f.write_str(self.tool.program())?;
        for arg in &self.args {
            write!(f, " {}", quote(&self.redact(arg)))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
    /// Why each earlier attempt failed, when the command was tried again
    /// (see [`Cmd::retry_on`]): empty when the first try answered.
    pub retried: Vec<&'static str>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

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

fn exit_text(code: Option<i32>) -> String {
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

/// What `lab env` and `docker-machine env` export to aim a shell's `docker`
/// at a lab machine.
const AIMING: [&str; 4] = [
    "DOCKER_HOST",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
    "DOCKER_MACHINE_NAME",
];

/// After `eval "$(lab env swarm-master)"` lab's children must still see the
/// host's engine: Vagrant's docker provider would otherwise look for its
/// machines inside the lab. A plain `DOCKER_HOST` (rootless Docker, say) is
/// the host's own and is kept.
fn shell_is_aimed_at_a_machine() -> bool {
    AIMING[1..].iter().any(|v| std::env::var_os(v).is_some())
}

/// How many commands of each tool a run of lab started, for `-v`'s summary.
#[derive(Debug, Default)]
pub struct Counts([std::sync::atomic::AtomicUsize; Tool::ALL.len()]);

impl Counts {
    fn add(&self, tool: Tool) {
        self.0[tool as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many commands ran, per program, and lab's own CPU time (not its
    /// children's): what lab itself costs beside the programs it drives.
    pub fn summary(&self) -> String {
        let counts: Vec<String> = Tool::ALL
            .iter()
            .map(|t| {
                format!(
                    "{} {}",
                    t.program(),
                    self.0[*t as usize].load(std::sync::atomic::Ordering::Relaxed)
                )
            })
            .collect();
        let cpu = crate::process::children::cpu_seconds();
        format!(
            "lab: commands run: {}; lab's own CPU time: {cpu:.2}s",
            counts.join(", ")
        )
    }
}

/// Runs commands and logs each one with its complete output.
#[derive(Clone)]
pub struct Runner {
    retry: Retry,
    tools: Tools,
    log: Option<Arc<Mutex<std::fs::File>>>,
    pub log_path: Option<PathBuf>,
    /// One limit for every command (`--timeout`), instead of each one's own.
    timeout: Option<Duration>,
    /// `-v`: every command line goes to stderr as it starts.
    verbose: bool,
    counts: Option<Arc<Counts>>,
}

impl Runner {
    pub fn new(tools: Tools) -> Runner {
        Runner {
            retry: Retry::default(),
            tools,
            log: None,
            log_path: None,
            timeout: None,
            verbose: false,
            counts: None,
        }
    }

    /// `-v`: every command line goes to stderr as it starts.
    pub fn verbose(mut self, on: bool) -> Runner {
        self.verbose = on;
        self
    }

    /// Counts each command started, per tool, into `counts`.
    pub fn counting(mut self, counts: Arc<Counts>) -> Runner {
        self.counts = Some(counts);
        self
    }

    /// Appends every command and its output to `path`.
    pub fn with_log(mut self, path: PathBuf) -> anyhow::Result<Runner> {
        if let Some(dir) = path.parent() {
            crate::process::files::private_dir(dir)?;
        }
        let file = crate::process::files::private_file(&path, true)
            .with_context(|| format!("could not open {} for writing", path.display()))?;
        self.log = Some(Arc::new(Mutex::new(file)));
        self.log_path = Some(path);
        Ok(self)
    }

    pub fn with_retry(mut self, retry: Retry) -> Runner {
        self.retry = retry;
        self
    }

    /// How often, and with what waits, a command that failed for a passing
    /// reason goes again: for a caller whose retry must undo something first.
    pub fn retry(&self) -> Retry {
        self.retry
    }

    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Runner {
        self.timeout = timeout;
        self
    }

    /// Runs `cmd` to the end and returns what it printed, whatever its exit code.
    /// `on_line` sees each line of output as it arrives (for progress bars).
    pub async fn output(
        &self,
        cmd: &Cmd,
        on_line: &(dyn Fn(&str) + Sync),
    ) -> Result<Output, RunError> {
        self.exec(cmd, None, on_line).await
    }

    /// `run` with `input` on the child's stdin: how file contents (keys
    /// among them) reach a machine without appearing in any command line.
    pub async fn run_with_input(
        &self,
        cmd: &Cmd,
        input: &[u8],
        on_line: &(dyn Fn(&str) + Sync),
    ) -> Result<Output, RunError> {
        self.attempts(cmd, Some(input), on_line).await
    }

    async fn exec(
        &self,
        cmd: &Cmd,
        input: Option<&[u8]>,
        on_line: &(dyn Fn(&str) + Sync),
    ) -> Result<Output, RunError> {
        let line = cmd.to_string();
        if crate::process::children::interrupted() {
            return Err(RunError::Interrupted { line });
        }
        let started = Instant::now();
        let (mut child, group) = self.spawn(cmd, &line, input)?;
        let limit = self.timeout.unwrap_or_else(|| cmd.limit.duration());
        let Ok((status, out, err)) =
            tokio::time::timeout(limit, collect(&mut child, cmd, on_line)).await
        else {
            drop(group);
            self.write_log(&line, "", "", "timed out", started.elapsed());
            return Err(RunError::Timeout {
                line,
                timeout: limit,
            });
        };
        group.finished();
        let status = status.map_err(|source| RunError::Spawn {
            line: line.clone(),
            source,
        })?;
        // The caller gets stdout as it is (a token it asked for); the log
        // and any error only what may be shown.
        let (shown, err) = (cmd.shown_stdout(&out), cmd.redact(&err));
        if crate::process::children::interrupted() && !status.success() {
            self.write_log(&line, &shown, &err, "interrupted", started.elapsed());
            return Err(RunError::Interrupted { line });
        }
        let output = Output {
            code: status.code(),
            stdout: out,
            stderr: err,
            duration: started.elapsed(),
            retried: Vec::new(),
        };
        self.write_log(
            &line,
            &shown,
            &output.stderr,
            &exit_text(output.code),
            output.duration,
        );
        Ok(output)
    }

    /// Starts `cmd` leading a process group of its own, so that stopping
    /// it stops what it started; `input`, if any, goes to its stdin.
    fn spawn(
        &self,
        cmd: &Cmd,
        line: &str,
        input: Option<&[u8]>,
    ) -> Result<(tokio::process::Child, crate::process::children::Group), RunError> {
        let mut command = self.command(cmd, line);
        command
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        crate::process::children::prepare(&mut command);
        let mut child = command.spawn().map_err(|source| RunError::Spawn {
            line: line.to_string(),
            source,
        })?;
        let group = crate::process::children::Group::track(&child);
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            use tokio::io::AsyncWriteExt as _;
            let input = input.to_vec();
            // Written beside the reads, so a child that talks first cannot deadlock it.
            tokio::spawn(async move {
                let _ = stdin.write_all(&input).await;
            });
        }
        Ok((child, group))
    }

    /// Runs `cmd` and fails, with its stderr, unless it exits 0. A
    /// command that failed for a passing reason (see [`Cmd::retry_on`]) is tried
    /// again with backoff; each attempt is in the log, and the output says
    /// why each earlier one failed.
    pub async fn run(
        &self,
        cmd: &Cmd,
        on_line: &(dyn Fn(&str) + Sync),
    ) -> Result<Output, RunError> {
        self.attempts(cmd, None, on_line).await
    }

    async fn attempts(
        &self,
        cmd: &Cmd,
        input: Option<&[u8]>,
        on_line: &(dyn Fn(&str) + Sync),
    ) -> Result<Output, RunError> {
        let mut wait = self.retry.backoff;
        let mut attempt = 1;
        let mut retried = Vec::new();
        loop {
            let output = self.exec(cmd, input, on_line).await?;
            let result = Self::checked(cmd, output).map(|mut out| {
                out.retried = std::mem::take(&mut retried);
                out
            });
            let why = match &result {
                Err(e) => cmd.retry_on.and_then(|classify| (classify.0)(e.stderr())),
                _ => None,
            };
            match why {
                Some(why) if attempt < self.retry.attempts => {
                    let note = format!(
                        "attempt {attempt} of {} failed ({why}); trying again in {}s",
                        self.retry.attempts,
                        wait.as_secs_f64()
                    );
                    on_line(&note);
                    self.write_log(&cmd.to_string(), "", "", &note, Duration::ZERO);
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                    retried.push(why);
                }
                _ => return result,
            }
        }
    }

    fn checked(cmd: &Cmd, output: Output) -> Result<Output, RunError> {
        if output.success() {
            Ok(output)
        } else {
            Err(RunError::Failed {
                line: cmd.to_string(),
                code: output.code,
                stdout: cmd.shown_stdout(&output.stdout),
                stderr: output.stderr,
            })
        }
    }

    /// The process for `cmd`: the program found on PATH, its arguments and
    /// environment, without what `lab env` aimed at a machine; shown with
    /// `-v` and counted.
    fn command(&self, cmd: &Cmd, line: &str) -> tokio::process::Command {
        if self.verbose {
            crate::errln!("+ {line}");
        }
        if let Some(counts) = &self.counts {
            counts.add(cmd.tool);
        }
        let program = self
            .tools
            .path(cmd.tool)
            .cloned()
            .unwrap_or_else(|| PathBuf::from(cmd.tool.program()));
        let mut command = tokio::process::Command::new(program);
        if shell_is_aimed_at_a_machine() {
            for var in AIMING {
                command.env_remove(var);
            }
        }
        command
            .args(&cmd.args)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &cmd.dir {
            command.current_dir(dir);
        }
        command
    }

    /// Runs `cmd` on the user's own terminal (stdin, stdout and stderr
    /// inherited), for `lab ssh`; returns its exit code.
    pub async fn interactive(&self, cmd: &Cmd) -> Result<i32, RunError> {
        let line = cmd.to_string();
        let mut command = self.command(cmd, &line);
        command.kill_on_drop(true);
        let started = Instant::now();
        let status = command.status().await.map_err(|source| RunError::Spawn {
            line: line.clone(),
            source,
        })?;
        self.write_log(
            &line,
            "(terminal)",
            "(terminal)",
            &exit_text(status.code()),
            started.elapsed(),
        );
        Ok(status.code().unwrap_or(128))
    }

    /// `run` without progress.
    pub async fn quiet(&self, cmd: &Cmd) -> Result<Output, RunError> {
        self.run(cmd, &|_| {}).await
    }

    /// `quiet` for a question: held to the short limit of [`Limit::Query`].
    pub async fn query(&self, cmd: &Cmd) -> Result<Output, RunError> {
        self.quiet(&cmd.clone().query()).await
    }

    fn write_log(&self, line: &str, stdout: &str, stderr: &str, end: &str, took: Duration) {
        let Some(log) = &self.log else { return };
        let Ok(mut file) = log.lock() else { return };
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // A failed log write must not fail the lab; the log is a convenience.
        let _ = write!(
            file,
            "=== {stamp} $ {line}\n--- stdout\n{stdout}{}--- stderr\n{stderr}{}--- {end} after {:.1}s\n\n",
            newline_if_missing(stdout),
            newline_if_missing(stderr),
            took.as_secs_f64()
        );
    }
}

fn newline_if_missing(text: &str) -> &'static str {
    if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    }
}

/// Reads a stream to its end, keeping the exact text and reporting each complete line.
/// Reads a child's output until it exits, its lines shown as they come
/// (never a secret among them). Something it started may hold its output
/// open (a daemon it forked): once it has exited, what is there is read for
/// [`DRAIN`], then no more.
async fn collect(
    child: &mut tokio::process::Child,
    cmd: &Cmd,
    on_line: &(dyn Fn(&str) + Sync),
) -> (std::io::Result<std::process::ExitStatus>, String, String) {
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (out_buf, err_buf) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
    let shown_out = |l: &str| {
        if !cmd.secret_output {
            on_line(&cmd.redact(l));
        }
    };
    let shown_err = |l: &str| on_line(&cmd.redact(l));
    let readers = async {
        tokio::join!(
            read_lines(stdout, &shown_out, &out_buf),
            read_lines(stderr, &shown_err, &err_buf)
        )
    };
    tokio::pin!(readers);
    let exited = tokio::select! {
        _ = &mut readers => None,
        status = child.wait() => Some(status),
    };
    let status = match exited {
        Some(status) => {
            let _ = tokio::time::timeout(DRAIN, &mut readers).await;
            status
        }
        None => child.wait().await,
    };
    let text = |buf: &Mutex<Vec<u8>>| {
        String::from_utf8_lossy(&buf.lock().map(|b| b.clone()).unwrap_or_default()).into_owned()
    };
    (status, text(&out_buf), text(&err_buf))
}

/// After a command exits, how long what it left holding its output may
/// still write before lab stops reading.
const DRAIN: Duration = Duration::from_secs(2);

/// Reads a stream to its end into `all`, keeping the exact bytes (so that
/// a reader stopped early still leaves what it read) and reporting each
/// complete line.
async fn read_lines(
    mut stream: impl AsyncRead + Unpin,
    on_line: &(dyn Fn(&str) + Sync),
    all: &Mutex<Vec<u8>>,
) {
    let mut pending = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Ok(mut all) = all.lock() {
                    all.extend_from_slice(&buf[..n]);
                }
                pending.extend_from_slice(&buf[..n]);
                while let Some(pos) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=pos).collect();
                    let text = String::from_utf8_lossy(&line[..pos]);
                    on_line(text.trim_end_matches('\r'));
                }
            }
        }
    }
}

// Unix only: they run sh scripts as the programs.
#[cfg(all(test, unix))]
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
    fn missing_tools_are_named_with_a_fix() {
        let text = missing(&[Tool::DockerMachine, Tool::Vagrant]).to_string();
        assert!(
            text.starts_with("not found on PATH: docker-machine, vagrant"),
            "{text}"
        );
        assert!(text.contains("apt-get install vagrant"), "{text}");
    }

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

    #[tokio::test]
    async fn runs_argv_without_a_shell_and_logs_it() {
        let dir = tempfile::tempdir().unwrap();
        let tools = Tools {
            paths: vec![(Tool::Ssh, PathBuf::from("/bin/echo"))],
        };
        let runner = Runner::new(tools)
            .with_log(dir.path().join("lab.log"))
            .unwrap();
        let seen = Mutex::new(Vec::new());
        let out = runner
            .run(&Cmd::new(Tool::Ssh, ["$(touch pwned)", "a;b"]), &|l| {
                seen.lock().unwrap().push(l.to_string())
            })
            .await
            .unwrap();
        assert_eq!(out.stdout, "$(touch pwned) a;b\n");
        assert_eq!(*seen.lock().unwrap(), ["$(touch pwned) a;b"]);
        let log = std::fs::read_to_string(dir.path().join("lab.log")).unwrap();
        assert!(
            log.contains("$ ssh '$(touch pwned)' 'a;b'\n--- stdout\n$(touch pwned) a;b\n"),
            "{log}"
        );
    }

    /// An "ssh" that fails `fails` times with `message`, then succeeds,
    /// counting its calls in a file.
    fn flaky_ssh(dir: &std::path::Path, fails: u32, message: &str) -> Runner {
        use std::os::unix::fs::PermissionsExt as _;
        let script = dir.join("ssh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nn=$(cat {d}/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > {d}/count\nif [ $n -le {fails} ]; then echo '{message}' >&2; exit 255; fi\necho ok\n",
                d = dir.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Runner::new(Tools {
            paths: vec![(Tool::Ssh, script)],
        })
        .with_log(dir.join("lab.log"))
        .unwrap()
        .with_retry(Retry {
            attempts: 4,
            backoff: Duration::from_millis(10),
        })
    }

    /// A classifier as the tools layer writes them (tools::ssh::transient):
    /// these two failures pass by themselves, no other does.
    fn passing(stderr: &str) -> Option<&'static str> {
        if stderr.contains("Connection refused") {
            Some("SSH is not up yet")
        } else if stderr.contains("Could not get lock") {
            Some("apt is busy (first boot)")
        } else {
            None
        }
    }

    fn calls(dir: &std::path::Path) -> String {
        std::fs::read_to_string(dir.join("count"))
            .unwrap()
            .trim()
            .to_string()
    }

    #[tokio::test]
    async fn ssh_not_up_yet_is_tried_again_and_each_attempt_logged() {
        let dir = tempfile::tempdir().unwrap();
        let runner = flaky_ssh(
            dir.path(),
            2,
            "ssh: connect to host 10.0.0.3 port 22: Connection refused",
        );
        let out = runner
            .quiet(&Cmd::new(Tool::Ssh, ["m"]).retry_on(passing))
            .await
            .unwrap();
        assert_eq!(out.stdout, "ok\n");
        assert_eq!(calls(dir.path()), "3");
        let log = std::fs::read_to_string(dir.path().join("lab.log")).unwrap();
        assert!(
            log.contains("attempt 1 of 4 failed (SSH is not up yet)"),
            "{log}"
        );
        assert!(log.contains("attempt 2 of 4 failed"), "{log}");
    }

    #[tokio::test]
    async fn other_failures_and_the_last_attempt_are_not_retried() {
        let dir = tempfile::tempdir().unwrap();
        let runner = flaky_ssh(dir.path(), 9, "Permission denied (publickey)");
        assert!(runner
            .quiet(&Cmd::new(Tool::Ssh, ["m"]).retry_on(passing))
            .await
            .is_err());
        assert_eq!(calls(dir.path()), "1");
        let dir = tempfile::tempdir().unwrap();
        let runner = flaky_ssh(
            dir.path(),
            9,
            "E: Could not get lock /var/lib/dpkg/lock-frontend",
        );
        let err = runner
            .quiet(&Cmd::new(Tool::Ssh, ["m"]).retry_on(passing))
            .await
            .unwrap_err();
        assert_eq!(calls(dir.path()), "4");
        assert!(err.to_string().contains("Could not get lock"), "{err}");
    }

    #[tokio::test]
    async fn non_zero_exit_is_an_error_with_stderr() {
        let tools = Tools {
            paths: vec![(Tool::Ssh, PathBuf::from("/bin/ls"))],
        };
        let err = Runner::new(tools)
            .quiet(&Cmd::new(Tool::Ssh, ["/nonexistent-path"]))
            .await
            .unwrap_err();
        assert!(
            matches!(err, RunError::Failed { code: Some(2), .. }),
            "{err}"
        );
        assert!(err.stderr().contains("nonexistent-path"), "{err}");
    }

    #[tokio::test]
    async fn output_held_open_by_a_forked_child_does_not_stall_the_runner() {
        let tools = Tools {
            paths: vec![(Tool::Docker, PathBuf::from("/bin/sh"))],
        };
        // The child leaves a process behind that holds stdout open until
        // the test lets it go: the runner must return without it.
        let dir = tempfile::tempdir().unwrap();
        let go = dir.path().join("go");
        let script = format!(
            "(while [ ! -e '{}' ]; do sleep 0.1; done) & echo done",
            go.display()
        );
        let runner = Runner::new(tools);
        let cmd = Cmd::new(Tool::Docker, ["-c", script.as_str()]);
        let out = tokio::time::timeout(Duration::from_secs(120), runner.quiet(&cmd)).await;
        std::fs::write(&go, "").unwrap();
        let out = out
            .expect("the runner waited for the forked child")
            .unwrap();
        assert_eq!(out.stdout, "done\n");
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
        assert!(
            Runner::new(Tools::default()).timeout.is_none(),
            "no override unless --timeout"
        );
    }

    #[tokio::test]
    async fn a_hanging_command_times_out() {
        let tools = Tools {
            paths: vec![(Tool::Ssh, PathBuf::from("/bin/sleep"))],
        };
        let runner = Runner::new(tools).with_timeout(Some(Duration::from_millis(200)));
        let err = runner.quiet(&Cmd::new(Tool::Ssh, ["5"])).await.unwrap_err();
        assert!(matches!(err, RunError::Timeout { .. }), "{err}");
    }

    #[tokio::test]
    async fn secrets_never_reach_the_log_the_display_or_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let tools = Tools {
            paths: vec![(Tool::Docker, PathBuf::from("/bin/sh"))],
        };
        let runner = Runner::new(tools)
            .with_log(dir.path().join("lab.log"))
            .unwrap();
        let token = "SWMTKN-1-secretsecret";
        // A command whose stdout is the secret: the caller gets it, no one else.
        let read = Cmd::new(
            Tool::Docker,
            ["-c", "printf '%s%s\\n' SWMTKN-1- secretsecret"],
        )
        .secret_output();
        let out = runner.quiet(&read).await.unwrap();
        assert_eq!(out.stdout.trim(), token);
        // A command that carries it and echoes it back while failing.
        let join = Cmd::new(
            Tool::Docker,
            [
                "-c",
                &format!("echo token {token} refused >&2; echo {token}; exit 1"),
            ],
        )
        .secret(token);
        assert!(!join.to_string().contains(token), "{join}");
        assert!(!format!("{join:?}").contains(token));
        let err = runner.quiet(&join).await.unwrap_err();
        assert!(!err.to_string().contains(token), "{err}");
        assert!(err.to_string().contains("token *** refused"), "{err}");
        let log = std::fs::read_to_string(dir.path().join("lab.log")).unwrap();
        assert!(!log.contains(token), "{log}");
        assert!(log.contains("a secret: not shown"), "{log}");
        // `swarm init` prints the worker's join command, token and all.
        let init = Cmd::new(
            Tool::Docker,
            [
                "-c",
                "echo '    docker swarm join --token SWMTKN-1-49nj1cmql0jkz5s954yi3oex3nedyz0fb0xx14ie39trti4wxv-8vxv8rssmk743ojnwacrr2e7c 10.0.0.2:2377'",
            ],
        );
        let out = runner.quiet(&init).await.unwrap();
        assert!(
            out.stdout.contains("SWMTKN-1-49nj"),
            "the caller gets what was printed"
        );
        let log = std::fs::read_to_string(dir.path().join("lab.log")).unwrap();
        assert!(!log.contains("SWMTKN-1-49nj"), "{log}");
        assert!(log.contains("--token *** 10.0.0.2:2377\n"), "{log}");
        // Nor does a progress bar show it as the line comes.
        let seen = Mutex::new(Vec::new());
        runner
            .run(&init, &|l| seen.lock().unwrap().push(l.to_string()))
            .await
            .unwrap();
        let seen = seen.lock().unwrap().join("\n");
        assert!(
            seen.contains("--token ***") && !seen.contains("SWMTKN-1-49nj"),
            "{seen}"
        );
    }
}
