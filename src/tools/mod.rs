//! Layer 2, tool adapters: the command lines of vagrant, docker-machine,
//! ssh, docker's swarm and a machine's engine, and pure parsers of what
//! they print, tested on the real transcripts.

pub mod catalogue;
pub mod containers;
pub mod docker_machine;
pub mod engine;
pub mod faults;
pub mod http;
pub mod images;
pub mod libvirt;
pub mod ssh;
pub mod stack;
pub mod swarm;
pub mod vagrant;
pub mod vbox;
