//! The one seam through which lab runs `vagrant`, `docker-machine`, `docker`,
//! `ssh` and the rest: a [`Cmd`] is run as an argument vector, never a shell
//! line, in a process group of its own, each call logged with its full
//! output, each failure a [`RunError`] carrying the command and its stderr.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::process_builder::Cmd;
use super::process_error::{exit_text, RunError};
use super::read2::read2;
use super::tool::{Tool, Tools};
use crate::model::Retry;

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
fn aimed_away(cmd: &Cmd, is_set: impl Fn(&str) -> bool) -> Cmd {
    let mut cmd = cmd.clone();
    if AIMING[1..].iter().any(|v| is_set(v)) {
        for var in AIMING.iter().filter(|v| is_set(v)) {
            cmd = cmd.env_remove(var);
        }
    }
    cmd
}

/// How many commands of each tool a run of lab started, for `-v`'s summary.
#[derive(Debug, Default)]
pub struct Counts(Mutex<HashMap<Tool, usize>>);

impl Counts {
    fn add(&self, tool: Tool) {
        if let Ok(mut counts) = self.0.lock() {
            *counts.entry(tool).or_default() += 1;
        }
    }

    fn of(&self, tool: Tool) -> usize {
        self.0
            .lock()
            .map_or(0, |counts| counts.get(&tool).copied().unwrap_or(0))
    }

    /// How many commands ran, per program, and lab's own CPU time (not its
    /// children's): what lab itself costs beside the programs it drives.
    pub fn summary(&self) -> String {
        let counts: Vec<String> = Tool::ALL
            .iter()
            .map(|&t| format!("{} {}", t.program(), self.of(t)))
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
        let cmd = &self.prepared(cmd);
        let line = cmd.to_string();
        if crate::process::children::interrupted() {
            return Err(RunError::Interrupted { line });
        }
        let started = Instant::now();
        let (mut child, group) = self.spawn(cmd, &line, input)?;
        let limit = self.timeout.unwrap_or_else(|| cmd.limit.duration());
        // Lines are shown as they come, never a secret among them.
        let on_stdout = |l: &str| {
            if !cmd.secret_output {
                on_line(&cmd.redact(l));
            }
        };
        let on_stderr = |l: &str| on_line(&cmd.redact(l));
        let Ok(read) = tokio::time::timeout(limit, read2(&mut child, &on_stdout, &on_stderr)).await
        else {
            drop(group);
            self.write_log(&line, "", "", "timed out", started.elapsed());
            return Err(RunError::Timeout {
                line,
                timeout: limit,
            });
        };
        group.finished();
        let (out, err) = (read.stdout, read.stderr);
        let status = read.status.map_err(|source| RunError::Spawn {
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

    /// `cmd` as it runs here: without what `lab env` aimed at a machine.
    fn prepared(&self, cmd: &Cmd) -> Cmd {
        aimed_away(cmd, |v| std::env::var_os(v).is_some())
    }

    /// The process for `cmd`: the program found on PATH, its arguments and
    /// environment changes; shown with `-v` and counted.
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
        command.args(&cmd.args);
        for (key, value) in &cmd.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        if let Some(dir) = &cmd.dir {
            command.current_dir(dir);
        }
        command
    }

    /// Runs `cmd` on the user's own terminal (stdin, stdout and stderr
    /// inherited), for `lab ssh`; returns its exit code.
    pub async fn interactive(&self, cmd: &Cmd) -> Result<i32, RunError> {
        let cmd = &self.prepared(cmd);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shell_aimed_at_a_machine_is_aimed_back_for_lab_s_children() {
        let cmd = Cmd::new(Tool::Vagrant, ["status"]);
        let aimed = ["DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"];
        let away = aimed_away(&cmd, |v| aimed.contains(&v));
        assert_eq!(
            away.to_string(),
            "env -u DOCKER_HOST -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH vagrant status"
        );
        // A plain DOCKER_HOST (rootless Docker, say) is the host's own.
        let own = aimed_away(&cmd, |v| v == "DOCKER_HOST");
        assert_eq!(own.to_string(), "vagrant status");
    }

    #[test]
    fn counts_are_kept_per_tool() {
        let counts = Counts::default();
        counts.add(Tool::Ssh);
        counts.add(Tool::Ssh);
        counts.add(Tool::Virsh);
        let summary = counts.summary();
        assert!(
            summary.starts_with("lab: commands run: vagrant 0, ssh 2, docker 0, docker-machine 0, VBoxManage 0, virsh 1, qemu-img 0;"),
            "{summary}"
        );
    }
}

// Unix only: they run sh scripts as the programs.
#[cfg(all(test, unix))]
mod runs {
    use super::*;

    #[tokio::test]
    async fn runs_argv_without_a_shell_and_logs_it() {
        let dir = tempfile::tempdir().unwrap();
        let tools = Tools::at(vec![(Tool::Ssh, PathBuf::from("/bin/echo"))]);
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
        Runner::new(Tools::at(vec![(Tool::Ssh, script)]))
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
        let tools = Tools::at(vec![(Tool::Ssh, PathBuf::from("/bin/ls"))]);
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
        let tools = Tools::at(vec![(Tool::Docker, PathBuf::from("/bin/sh"))]);
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
    fn only_a_limit_given_on_the_command_line_overrides_each_commands_own() {
        assert!(
            Runner::new(Tools::default()).timeout.is_none(),
            "no override unless --timeout"
        );
    }

    #[tokio::test]
    async fn a_hanging_command_times_out() {
        let tools = Tools::at(vec![(Tool::Ssh, PathBuf::from("/bin/sleep"))]);
        let runner = Runner::new(tools).with_timeout(Some(Duration::from_millis(200)));
        let err = runner.quiet(&Cmd::new(Tool::Ssh, ["5"])).await.unwrap_err();
        assert!(matches!(err, RunError::Timeout { .. }), "{err}");
    }

    #[tokio::test]
    async fn secrets_never_reach_the_log_the_display_or_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let tools = Tools::at(vec![(Tool::Docker, PathBuf::from("/bin/sh"))]);
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
