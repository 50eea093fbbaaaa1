//! Job Objects: each command and whatever it starts sit in a job of their
//! own, which `TerminateJobObject` ends whole (Windows has no process
//! groups to signal). The command also starts a console process group
//! (`CREATE_NEW_PROCESS_GROUP`), so that Ctrl-Break can be sent to it
//! alone, as Unix sends SIGINT; a console Ctrl-C reaches lab only, as a
//! terminal's reaches lab's group only on Unix.
//!
//! Why these calls and no wrapper crate: five calls are all it takes,
//! `windows-sys` (Microsoft's own bindings) is already in the tree through
//! tokio, and the one setting wrappers are made for, kill-on-close, is the
//! one lab must not have: it would end VirtualBox's service process with
//! the `vagrant up` that started it.

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::Console::{GenerateConsoleCtrlEvent, CTRL_BREAK_EVENT};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectBasicAccountingInformation,
    QueryInformationJobObject, TerminateJobObject, JOBOBJECT_BASIC_ACCOUNTING_INFORMATION,
};
use windows_sys::Win32::System::Threading::CREATE_NEW_PROCESS_GROUP;

/// Starts the command in a console process group of its own.
pub fn prepare(command: &mut tokio::process::Command) {
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
}

/// A command's job (its handle, kept as an integer so it can be shared)
/// and its console process group, named by the command's id.
#[derive(Clone, Copy)]
pub struct Group {
    job: isize,
    pid: u32,
}

impl Group {
    /// A new job holding the command. What the command started before this
    /// ran (a few microseconds after its start) stays outside the job.
    pub fn adopt(child: &tokio::process::Child, pid: u32) -> Option<Group> {
        let process = child.raw_handle()?;
        // SAFETY: plain Win32 calls on a handle owned here (the job) and one
        // the child owns and keeps open while it is borrowed (the process).
        unsafe {
            let job = CreateJobObjectW(std::ptr::null(), std::ptr::null());
            if job.is_null() {
                return None;
            }
            if AssignProcessToJobObject(job, process as HANDLE) == 0 {
                CloseHandle(job);
                return None;
            }
            Some(Group {
                job: job as isize,
                pid,
            })
        }
    }

    /// Ctrl-Break to the command's console group (the command and what it
    /// started on the same console).
    pub fn interrupt(&self) {
        // SAFETY: no pointers; a group that is gone makes the call fail.
        unsafe {
            GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, self.pid);
        }
    }

    pub fn kill(&self) {
        // SAFETY: the job handle is open until `release`.
        unsafe {
            TerminateJobObject(self.job as HANDLE, 1);
        }
    }

    /// Whether any process of the job still runs.
    pub fn alive(&self) -> bool {
        // SAFETY: `info` is a properly sized, writable struct for this class.
        unsafe {
            let mut info: JOBOBJECT_BASIC_ACCOUNTING_INFORMATION = std::mem::zeroed();
            QueryInformationJobObject(
                self.job as HANDLE,
                JobObjectBasicAccountingInformation,
                (&raw mut info).cast(),
                std::mem::size_of::<JOBOBJECT_BASIC_ACCOUNTING_INFORMATION>() as u32,
                std::ptr::null_mut(),
            ) != 0
                && info.ActiveProcesses > 0
        }
    }

    /// Closes the job's handle. The job is not set to kill on close, so
    /// what still runs in it goes on.
    pub fn release(self) {
        // SAFETY: closed once: `release` takes the last copy out of LIVE.
        unsafe {
            CloseHandle(self.job as HANDLE);
        }
    }
}

pub async fn next_signal() -> i32 {
    use super::{SIGHUP, SIGINT, SIGTERM};
    use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close, ctrl_logoff, ctrl_shutdown};
    let (Ok(mut c), Ok(mut brk), Ok(mut close), Ok(mut logoff), Ok(mut shutdown)) = (
        ctrl_c(),
        ctrl_break(),
        ctrl_close(),
        ctrl_logoff(),
        ctrl_shutdown(),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return SIGINT;
    };
    tokio::select! {
        _ = c.recv() => SIGINT,
        _ = brk.recv() => SIGINT,
        _ = close.recv() => SIGHUP,
        _ = logoff.recv() => SIGTERM,
        _ = shutdown.recv() => SIGTERM,
    }
}

/// Rust's standard streams on Windows already treat a console that is
/// gone as a sink, so there is nothing to redirect.
pub fn silence_terminal() {}

/// lab's own CPU time (user and kernel), in seconds.
pub fn cpu_seconds() -> f64 {
    use windows_sys::Win32::Foundation::FILETIME;
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessTimes};
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: four writable FILETIMEs; the pseudo-handle needs no closing.
    let ok = unsafe {
        GetProcessTimes(
            GetCurrentProcess(),
            &mut created,
            &mut exited,
            &mut kernel,
            &mut user,
        )
    };
    let ticks = |t: FILETIME| (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime);
    if ok == 0 {
        return 0.0;
    }
    (ticks(kernel) + ticks(user)) as f64 / 1e7
}
