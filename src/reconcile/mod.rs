//! Layer 4, reconciliation: observe what is there, plan the steps that
//! bring it where lab.toml says (plans are data), execute them. The
//! lifecycle hooks live here.

pub mod bringup;
pub mod checkpoint;
pub mod direct;
pub mod driver;
pub mod execute;
pub mod graph;
pub mod hooks;
pub mod observe;
pub mod observed;
pub mod own;
pub mod plan;
pub mod planner;
pub mod schedule;
pub mod timeline;
