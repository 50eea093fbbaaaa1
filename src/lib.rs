//! `lab`: one lab.toml → a Consul server, a Swarm master and Swarm nodes on
//! Vagrant machines, registered with docker-machine — and back to nothing.
//!
//! Data flows one way: lab.toml → [`config::Lab`] → rendered Vagrantfile →
//! observed state ([`observe`]) → [`plan::Plan`] → [`execute`] through the
//! one [`runner`] seam.

pub mod boxes;
pub mod check;
pub mod children;
pub mod cli;
pub mod commands;
pub mod config;
pub mod discover;
pub mod docker_machine;
pub mod doctor;
pub mod engine;
pub mod execute;
pub mod exit;
pub mod hooks;
pub mod images;
pub mod observe;
pub mod plan;
pub mod record;
pub mod registry;
pub mod render;
pub mod runner;
pub mod shell;
pub mod state;
pub mod swarm;
pub mod tls;
pub mod ui;
pub mod vagrant;
pub mod verify;

#[cfg(test)]
mod testdata;
