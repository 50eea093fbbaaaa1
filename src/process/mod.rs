//! Layer 1, the process seam: every external program runs through here,
//! as an argument vector, logged, limited in time, stopped with everything
//! it started. Knows nothing of labs beyond the model.

#[cfg(windows)]
mod acl;
pub mod children;
pub mod files;
pub mod runner;
