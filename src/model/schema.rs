//! The name and version of every JSON document lab writes, for scripts to
//! check before they read one (`"schema": "lab.status/1"`). A document's
//! shape (its keys and their types) belongs to its version: a change to
//! the shape comes with a new version (tests/schemas.rs holds each
//! version's shape; docs/json.md describes them).

/// `lab doctor --json`.
pub const DOCTOR: &str = "lab.doctor/1";
/// `lab verify --json`.
pub const VERIFY: &str = "lab.verify/1";
/// `lab status --json`.
pub const STATUS: &str = "lab.status/1";
/// `lab status --all --json`.
pub const STATUS_ALL: &str = "lab.status-all/1";
/// `lab up --dry-run --json`, `lab destroy --dry-run --json`.
pub const PLAN: &str = "lab.plan/1";
/// `lab check --json`: one student's lab against an exercise.
pub const CHECK: &str = "lab.check/1";
/// The host's list of labs, `labs.json`.
pub const LABS: &str = "lab.labs/1";
/// A lab's record of what it made, `.lab/record.json`.
pub const RECORD: &str = "lab.record/1";

/// `lab fault list --json`: the fault drills in place.
pub const FAULTS: &str = "lab.faults/1";

/// `lab snapshot list --json`: the lab's checkpoints.
pub const SNAPSHOTS: &str = "lab.snapshots/1";

/// A pack's manifest, `lab-pack.json` (`lab pack`).
pub const PACK: &str = "lab.pack/1";

/// `lab graph --format json`: the picture of the lab.
pub const GRAPH: &str = "lab.graph/1";

/// Every schema, for the tests and the docs.
pub const ALL: [&str; 12] = [
    DOCTOR, VERIFY, STATUS, STATUS_ALL, PLAN, CHECK, LABS, RECORD, FAULTS, SNAPSHOTS, PACK, GRAPH,
];

/// The shape of a JSON value: objects keep their keys (sorted) with the
/// shapes of their values, arrays the shapes their items have (each once),
/// and every other value its type's name.
pub fn shape(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
        Value::Array(items) => {
            let mut shapes: Vec<Value> = Vec::new();
            for item in items.iter().map(shape) {
                if !shapes.contains(&item) {
                    shapes.push(item);
                }
            }
            Value::Array(shapes)
        }
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_keeps_keys_and_types_not_values() {
        let a = serde_json::json!({"b": [1, 2, {"c": "x"}], "a": null, "d": true});
        let b = serde_json::json!({"a": null, "d": false, "b": [3, {"c": "y"}, {"c": "z"}]});
        assert_eq!(shape(&a), shape(&b));
        assert_ne!(
            shape(&a),
            shape(&serde_json::json!({"a": null, "d": true, "b": []}))
        );
    }
}
