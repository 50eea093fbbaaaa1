//! Layer 5, checks: what `lab doctor` asks of the host before anything
//! runs, what `lab verify` asks of a built lab, and the images they need.

pub mod compat;
pub mod doctor;
pub mod exercise;
pub mod grades;
pub mod host;
pub mod images;
pub mod probes;
pub mod report;
pub mod verify;
