//! Where a `lab up` spent its time: each phase's span, and the machine
//! whose work ended last (the critical path), so that a teacher sees which
//! classroom machine a slow bring-up waited for.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::plan::Stage;

/// One step as it ran: its phase, its machine, when it began and ended
/// (since the start of `lab up`'s work).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub stage: Stage,
    pub machine: Option<String>,
    pub began: Duration,
    pub ended: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    pub phase: &'static str,
    /// When its first step began and its last one ended, in seconds.
    pub from: f64,
    pub to: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub seconds: f64,
    pub phases: Vec<Phase>,
    /// The machine whose last step (or boot) ended last, when it was up,
    /// and when its work ended.
    pub critical: Option<Critical>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Critical {
    pub machine: String,
    pub up_at: Option<f64>,
    pub done_at: f64,
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 10.0).round() / 10.0
}

/// The report from the steps that ran and the machines' boot times.
pub fn report(ran: &[Ran], ups: &BTreeMap<String, Duration>, total: Duration) -> Report {
    let mut phases: Vec<Phase> = Vec::new();
    if let Some(last_up) = ups.values().max() {
        phases.push(Phase {
            phase: "machines up",
            from: 0.0,
            to: secs(*last_up),
        });
    }
    let mut stages: Vec<Stage> = ran.iter().map(|r| r.stage).collect();
    stages.sort();
    stages.dedup();
    for stage in stages {
        let of: Vec<&Ran> = ran.iter().filter(|r| r.stage == stage).collect();
        let from = of.iter().map(|r| r.began).min().unwrap_or_default();
        let to = of.iter().map(|r| r.ended).max().unwrap_or_default();
        phases.push(Phase {
            phase: stage.name(),
            from: secs(from),
            to: secs(to),
        });
    }
    let mut ends: BTreeMap<&str, Duration> = BTreeMap::new();
    for (machine, up) in ups {
        ends.insert(machine, *up);
    }
    for r in ran {
        if let Some(m) = &r.machine {
            let end = ends.entry(m).or_default();
            *end = (*end).max(r.ended);
        }
    }
    let critical = ends
        .iter()
        .max_by_key(|(m, end)| (**end, std::cmp::Reverse(**m)))
        .map(|(m, end)| Critical {
            machine: m.to_string(),
            up_at: ups.get(*m).map(|d| secs(*d)),
            done_at: secs(*end),
        });
    Report {
        seconds: secs(total),
        phases,
        critical,
    }
}

impl Report {
    /// One line for the end of `lab up`.
    pub fn line(&self) -> String {
        let phases: Vec<String> = self
            .phases
            .iter()
            .map(|p| format!("{} {:.1}–{:.1}s", p.phase, p.from, p.to))
            .collect();
        let mut line = format!("took {:.1}s", self.seconds);
        if !phases.is_empty() {
            line.push_str(&format!(": {}", phases.join(", ")));
        }
        if let Some(c) = &self.critical {
            line.push_str(&format!("; the critical path: {}", c.machine));
            match c.up_at {
                Some(up) => line.push_str(&format!(
                    " (up at {up:.1}s, its last step done at {:.1}s)",
                    c.done_at
                )),
                None => line.push_str(&format!(" (its last step done at {:.1}s)", c.done_at)),
            }
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(stage: Stage, machine: &str, began: u64, ended: u64) -> Ran {
        Ran {
            stage,
            machine: Some(machine.into()),
            began: Duration::from_secs(began),
            ended: Duration::from_secs(ended),
        }
    }

    #[test]
    fn phases_span_their_steps_and_the_last_machine_to_finish_is_critical() {
        let ups = BTreeMap::from([
            ("swarm-master".to_string(), Duration::from_secs(10)),
            ("swarm-node01".to_string(), Duration::from_secs(30)),
        ]);
        let steps = [
            ran(Stage::Engines, "swarm-master", 10, 14),
            ran(Stage::Engines, "swarm-node01", 30, 35),
            ran(Stage::Swarm, "swarm-master", 14, 16),
            ran(Stage::Join, "swarm-node01", 35, 38),
        ];
        let report = report(&steps, &ups, Duration::from_secs(39));
        let names: Vec<&str> = report.phases.iter().map(|p| p.phase).collect();
        assert_eq!(names[0], "machines up");
        assert_eq!(report.phases[0].to, 30.0);
        let engines = report.phases.iter().find(|p| p.from == 10.0).unwrap();
        assert_eq!(engines.to, 35.0);
        let critical = report.critical.clone().unwrap();
        assert_eq!(critical.machine, "swarm-node01");
        assert_eq!(critical.up_at, Some(30.0));
        assert_eq!(critical.done_at, 38.0);
        let line = report.line();
        assert!(
            line.starts_with("took 39.0s: machines up 0.0–30.0s"),
            "{line}"
        );
        assert!(
            line.ends_with(
                "the critical path: swarm-node01 (up at 30.0s, its last step done at 38.0s)"
            ),
            "{line}"
        );
    }

    #[test]
    fn nothing_ran_says_only_the_time() {
        let report = report(&[], &BTreeMap::new(), Duration::from_millis(420));
        assert_eq!(report.line(), "took 0.4s");
        assert!(report.critical.is_none());
    }
}
