//! Layer 1, the process seam: every external program runs through here,
//! as an argument vector, logged, limited in time, stopped with everything
//! it started. Knows nothing of labs beyond the model.
//!
//! Split the way cargo-util splits it: a command as a value
//! (`process_builder`), how running one fails (`process_error`), reading
//! its two streams at once (`read2`), and the runner that does it; the
//! programs themselves and where they are (`tool`).

#[cfg(windows)]
mod acl;
pub mod children;
pub mod files;
pub mod process_builder;
pub mod process_error;
pub mod read2;
pub mod runner;
pub mod tool;
