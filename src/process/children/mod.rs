//! Every command lab starts leads a process group of its own, so stopping it
//! stops everything it started too: vagrant's docker and ssh, docker-machine's
//! ssh. Ctrl-C stops them all, politely first; a dropped step (a timeout, a
//! failed sibling) stops its own group at once. No orphans either way.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

static LIVE: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Ctrl-C was pressed (or lab was told to stop): no new command starts.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The signal that stopped lab, once one has.
pub fn signal() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}

/// The signals lab stops for, as shells number them.
pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGTERM: i32 = 15;

/// Waits for Ctrl-C, SIGTERM (a service manager, `kill`) or SIGHUP (the
/// terminal closed): each stops lab the same way. Returns which it was.
pub async fn next_signal() -> i32 {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return SIGINT;
    };
    let which = tokio::select! {
        _ = tokio::signal::ctrl_c() => SIGINT,
        _ = term.recv() => SIGTERM,
        _ = hup.recv() => SIGHUP,
    };
    SIGNAL.store(which, Ordering::SeqCst);
    INTERRUPTED.store(true, Ordering::SeqCst);
    if which == SIGHUP {
        // The terminal is gone: writing to it would fail (and Rust's
        // printing macros panic on that); the log still has everything.
        silence_terminal();
    }
    which
}

fn silence_terminal() {
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

/// A running command's process group, stopped when dropped unfinished.
pub struct Group {
    pgid: Option<i32>,
}

impl Group {
    pub fn track(pid: Option<u32>) -> Group {
        let pgid = pid.and_then(|p| i32::try_from(p).ok());
        if let Some(id) = pgid {
            LIVE.lock().map(|mut l| l.insert(id)).ok();
        }
        Group { pgid }
    }

    /// The command ended by itself. What it left running in its group is
    /// left alone: VirtualBox's service process, for one, must outlive
    /// `vagrant up`.
    pub fn finished(mut self) {
        if let Some(id) = self.pgid.take() {
            LIVE.lock().map(|mut l| l.remove(&id)).ok();
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(id) = self.pgid.take() {
            let _ = killpg(Pid::from_raw(id), Signal::SIGKILL);
            LIVE.lock().map(|mut l| l.remove(&id)).ok();
        }
    }
}

fn alive(id: i32) -> bool {
    killpg(Pid::from_raw(id), None).is_ok()
}

/// Ctrl-C: SIGINT to each running command itself, not to what it started:
/// Vagrant then finishes the step it is in (a half-made machine would have
/// no private network) and exits, as on a Ctrl-C in its own terminal.
/// Whatever of a group is still there after `grace` is killed. Returns how
/// many commands were running.
pub async fn stop_all(grace: Duration) -> usize {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let groups: Vec<i32> = LIVE
        .lock()
        .map(|l| l.iter().copied().collect())
        .unwrap_or_default();
    for id in &groups {
        let _ = nix::sys::signal::kill(Pid::from_raw(*id), Signal::SIGINT);
    }
    let started = Instant::now();
    while groups.iter().any(|id| alive(*id)) && started.elapsed() < grace {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for id in &groups {
        if alive(*id) {
            let _ = killpg(Pid::from_raw(*id), Signal::SIGKILL);
        }
    }
    groups.len()
}

/// A second Ctrl-C: everything, at once.
pub fn kill_all() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let groups: Vec<i32> = LIVE
        .lock()
        .map(|l| l.iter().copied().collect())
        .unwrap_or_default();
    for id in groups {
        let _ = killpg(Pid::from_raw(id), Signal::SIGKILL);
    }
}
