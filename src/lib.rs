//! `lab`: one lab.toml → a Consul server, a Swarm master and Swarm nodes on
//! Vagrant machines, registered with docker-machine — and back to nothing.
//!
//! Rooms by layer, lowest first; a module uses only its own layer and the
//! ones below it (`tests/layers.rs` fails on any upward `use crate::`):
//!
//! 0. [`error`], [`model`]: classified errors; lab.toml and box profiles as
//!    plain data.
//! 1. [`process`], [`ui`]: the one seam for external programs (`Cmd`,
//!    `Runner`, children and signals); what a person sees.
//! 2. [`tools`], [`shell`]: adapters for vagrant, docker-machine, ssh,
//!    swarm and the engines, with pure parsers of their output; shell quoting.
//! 3. [`host`]: what lab keeps on the host: state directory and lock, the
//!    record of what it made, the list of labs, the Vagrantfile, the CA.
//! 4. [`reconcile`]: observe → plan → execute, and the lifecycle hooks.
//! 5. [`checks`]: doctor, verify, images.
//! 6. [`cli`], [`session`], [`commands`]: the command line, one run of lab
//!    (verbosity, limits), one thin file per verb.
//!
//! Data flows one way: lab.toml → [`model::Lab`] → rendered Vagrantfile →
//! observed state → [`reconcile::plan::Plan`] → execute, through the one
//! [`process::runner`] seam.

pub mod checks;
pub mod cli;
pub mod commands;
pub mod error;
pub mod host;
pub mod model;
pub mod process;
pub mod reconcile;
pub mod session;
pub mod shell;
pub mod tools;
pub mod ui;
pub mod view;

#[cfg(test)]
mod testdata;
