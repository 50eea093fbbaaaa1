//! Process groups: each command leads one (`setpgid(0, 0)` at spawn).

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

/// Starts the command as the leader of a new process group.
pub fn prepare(command: &mut tokio::process::Command) {
    command.process_group(0);
}

/// A command's process group, named by its leader's id.
#[derive(Clone, Copy)]
pub struct Group(i32);

impl Group {
    pub fn adopt(_child: &tokio::process::Child, pid: u32) -> Option<Group> {
        i32::try_from(pid).ok().map(Group)
    }

    /// SIGINT to the command itself, not to what it started.
    pub fn interrupt(&self) {
        let _ = kill(Pid::from_raw(self.0), Signal::SIGINT);
    }

    pub fn kill(&self) {
        let _ = killpg(Pid::from_raw(self.0), Signal::SIGKILL);
    }

    pub fn alive(&self) -> bool {
        killpg(Pid::from_raw(self.0), None).is_ok()
    }

    pub fn release(self) {}
}

pub async fn next_signal() -> i32 {
    use super::{SIGHUP, SIGINT, SIGTERM};
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return SIGINT;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => SIGINT,
        _ = term.recv() => SIGTERM,
        _ = hup.recv() => SIGHUP,
    }
}

pub fn silence_terminal() {
    use std::os::fd::AsRawFd as _;
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        for fd in [1, 2] {
            // SAFETY: dup2 onto stdout/stderr of an fd we own; both stay open.
            unsafe {
                nix::libc::dup2(null.as_raw_fd(), fd);
            }
        }
    }
}

/// lab's own CPU time (user and system), in seconds.
pub fn cpu_seconds() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    let seconds = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|u| seconds(u.user_time()) + seconds(u.system_time()))
        .unwrap_or(0.0)
}
