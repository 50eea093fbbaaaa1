//! Every command lab starts leads a process group of its own (on Windows,
//! a Job Object), so stopping it stops everything it started too:
//! vagrant's docker and ssh, docker-machine's ssh. Ctrl-C stops them all,
//! politely first; a dropped step (a timeout, a failed sibling) stops its
//! own group at once. No orphans either way.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[cfg(unix)]
#[path = "unix.rs"]
mod os;
#[cfg(windows)]
#[path = "windows.rs"]
mod os;

pub use os::{cpu_seconds, prepare};

/// Each running command's group, by its process id.
static LIVE: Mutex<BTreeMap<u32, os::Group>> = Mutex::new(BTreeMap::new());
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);
static ENDS_BY_INTERRUPT: AtomicBool = AtomicBool::new(false);

/// This command runs until Ctrl-C (`lab graph --watch`): the interrupt
/// is how it ends, not a failure.
pub fn end_by_interrupt() {
    ENDS_BY_INTERRUPT.store(true, Ordering::SeqCst);
}

/// Whether Ctrl-C is this command's normal end.
pub fn ends_by_interrupt() -> bool {
    ENDS_BY_INTERRUPT.load(Ordering::SeqCst)
}

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

/// The signals lab stops for, as shells number them. On Windows, Ctrl-C
/// and Ctrl-Break count as SIGINT, a closed console as SIGHUP, a logoff
/// or shutdown as SIGTERM.
pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGTERM: i32 = 15;

/// Waits for Ctrl-C, SIGTERM (a service manager, `kill`) or SIGHUP (the
/// terminal closed): each stops lab the same way. Returns which it was.
pub async fn next_signal() -> i32 {
    let which = os::next_signal().await;
    SIGNAL.store(which, Ordering::SeqCst);
    INTERRUPTED.store(true, Ordering::SeqCst);
    if which == SIGHUP {
        // The terminal is gone: writing to it would fail (and Rust's
        // printing macros panic on that); the log still has everything.
        os::silence_terminal();
    }
    which
}

/// A running command's group, stopped when dropped unfinished.
pub struct Group {
    pid: Option<u32>,
}

impl Group {
    /// Puts the command just started into a group lab can stop.
    pub fn track(child: &tokio::process::Child) -> Group {
        let Some(pid) = child.id() else {
            return Group { pid: None };
        };
        let Some(group) = os::Group::adopt(child, pid) else {
            return Group { pid: None };
        };
        LIVE.lock().map(|mut l| l.insert(pid, group)).ok();
        Group { pid: Some(pid) }
    }

    /// The command ended by itself. What it left running in its group is
    /// left alone: VirtualBox's service process, for one, must outlive
    /// `vagrant up`.
    pub fn finished(mut self) {
        if let Some(pid) = self.pid.take() {
            if let Some(group) = LIVE.lock().ok().and_then(|mut l| l.remove(&pid)) {
                group.release();
            }
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            if let Some(group) = LIVE.lock().ok().and_then(|mut l| l.remove(&pid)) {
                group.kill();
                group.release();
            }
        }
    }
}

fn live() -> Vec<os::Group> {
    LIVE.lock()
        .map(|l| l.values().copied().collect())
        .unwrap_or_default()
}

/// Ctrl-C: an interrupt to each running command (see `os::Group::interrupt`
/// for who gets it): Vagrant then finishes the step it is in (a half-made
/// machine would have no private network) and exits, as on a Ctrl-C in its
/// own terminal. Whatever of a group is still there after `grace` is
/// killed. Returns how many commands were running.
pub async fn stop_all(grace: Duration) -> usize {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let groups = live();
    for group in &groups {
        group.interrupt();
    }
    let started = Instant::now();
    while groups.iter().any(os::Group::alive) && started.elapsed() < grace {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for group in &groups {
        if group.alive() {
            group.kill();
        }
    }
    groups.len()
}

/// A second Ctrl-C: everything, at once.
pub fn kill_all() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    for group in live() {
        group.kill();
    }
}
