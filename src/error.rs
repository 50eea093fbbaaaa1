//! Exit codes, documented in `lab --help` and README.md.

use crate::commands::env::UnknownMachine;
use crate::model::{ConfigError, ConfigMissing};
use crate::process::runner::MissingTools;

pub const FAILED: u8 = 1;
pub const USAGE: u8 = 2;
pub const CONFIG: u8 = 3;
pub const MISSING_TOOL: u8 = 4;
pub const VERIFY_FAILED: u8 = 5;
pub const DOCTOR_FAILED: u8 = 6;
pub const BUSY: u8 = 7;
/// As shells report a command ended by SIGINT.
pub const INTERRUPTED: u8 = 130;

/// The exit code for an error, from the first cause lab recognises.
pub fn code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(crate::commands::ssh::RemoteExit(code)) = cause.downcast_ref() {
            return u8::try_from(*code).unwrap_or(FAILED);
        }
        if cause.is::<ConfigError>()
            || cause.is::<ConfigMissing>()
            || cause.is::<crate::host::registry::Clash>()
            || cause.is::<crate::host::registry::Invalid>()
            || cause.is::<crate::reconcile::observe::NotOurs>()
        {
            return CONFIG;
        }
        if cause.is::<MissingTools>() {
            return MISSING_TOOL;
        }
        if cause.is::<crate::host::state::Busy>() {
            return BUSY;
        }
        if cause.is::<crate::commands::doctor::DoctorFailed>() {
            return DOCTOR_FAILED;
        }
        if cause.is::<crate::checks::verify::VerifyFailed>() {
            return VERIFY_FAILED;
        }
        if cause.is::<UnknownMachine>() {
            return USAGE;
        }
    }
    FAILED
}
