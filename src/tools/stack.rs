//! A stack file as `docker stack deploy` reads it: each service's image and
//! where the swarm may place its tasks (`deploy.mode`, `deploy.placement.
//! constraints`), with `${VAR}`, `${VAR:-default}` and `$VAR` taken from the
//! environment. `lab deploy` copies an image only to the machines where a
//! service that uses it may run.

use yaml_rust2::{Yaml, YamlLoader};

use crate::model::{Lab, Machine, Role};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub image: String,
    pub constraints: Vec<Constraint>,
}

/// One placement constraint, `KEY == VALUE` or `KEY != VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub key: String,
    pub equal: bool,
    pub value: String,
}

impl Constraint {
    fn parse(text: &str) -> Result<Constraint, String> {
        let (at, op) = ["==", "!="]
            .iter()
            .find_map(|op| text.find(op).map(|at| (at, *op)))
            .ok_or_else(|| format!("placement constraint `{text}` has neither == nor !="))?;
        let key = text[..at].trim();
        let value = text[at + op.len()..].trim();
        if key.is_empty() || value.is_empty() {
            return Err(format!("placement constraint `{text}` is incomplete"));
        }
        Ok(Constraint {
            key: key.to_string(),
            equal: op == "==",
            value: value.to_string(),
        })
    }

    /// Whether `machine` meets it; `None` where lab cannot know (node and
    /// engine labels, a node's ID, platform): such a machine may run it.
    fn holds_on(&self, machine: &Machine) -> Option<bool> {
        let actual = match self.key.as_str() {
            "node.hostname" => machine.name.as_str(),
            "node.role" => match machine.role {
                Role::Master => "manager",
                _ => "worker",
            },
            "node.platform.os" => "linux",
            _ => return None,
        };
        // The swarm compares without case.
        Some(actual.eq_ignore_ascii_case(&self.value) == self.equal)
    }
}

impl Service {
    /// The lab's swarm members that may run this service's tasks.
    pub fn may_run_on<'a>(&self, lab: &'a Lab) -> Vec<&'a Machine> {
        lab.machines
            .iter()
            .filter(|m| m.role != Role::Consul)
            .filter(|m| {
                self.constraints
                    .iter()
                    .all(|c| c.holds_on(m).unwrap_or(true))
            })
            .collect()
    }
}

/// The services of a stack file; an error names what cannot be read.
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Service>, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let Some(doc) = docs.first() else {
        return Ok(Vec::new());
    };
    let Some(services) = doc["services"].as_hash() else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for (name, spec) in services {
        let name = name.as_str().unwrap_or_default().to_string();
        let Some(image) = spec["image"].as_str() else {
            continue;
        };
        let constraints = match &spec["deploy"]["placement"]["constraints"] {
            Yaml::Array(items) => items
                .iter()
                .filter_map(Yaml::as_str)
                .map(|c| Constraint::parse(&expand(c, env)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("service {name}: {e}"))?,
            _ => Vec::new(),
        };
        let image = expand(image, env);
        if !image.is_empty() {
            found.push(Service {
                name,
                image,
                constraints,
            });
        }
    }
    Ok(found)
}

/// Each image once, with the machines it is needed on (in the lab's
/// order), for the services of a stack.
pub fn images_by_machine<'a>(
    services: &[Service],
    lab: &'a Lab,
) -> Vec<(String, Vec<&'a Machine>)> {
    let mut needs: Vec<(String, Vec<&Machine>)> = Vec::new();
    for service in services {
        let at = match needs.iter().position(|(i, _)| *i == service.image) {
            Some(at) => at,
            None => {
                needs.push((service.image.clone(), Vec::new()));
                needs.len() - 1
            }
        };
        for m in service.may_run_on(lab) {
            if !needs[at].1.iter().any(|n| n.name == m.name) {
                needs[at].1.push(m);
            }
        }
    }
    for (_, machines) in &mut needs {
        machines.sort_by_key(|m| lab.machines.iter().position(|x| x.name == m.name));
    }
    needs
}

/// `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `$VAR` from `env`, as
/// `docker stack deploy` reads them.
pub fn expand(value: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    static VAR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)",
        )
        .expect("valid regex")
    });
    VAR.replace_all(value, |caps: &regex::Captures| {
        let name = caps.get(1).or(caps.get(3)).map_or("", |m| m.as_str());
        match (env(name).filter(|v| !v.is_empty()), caps.get(2)) {
            (Some(v), _) => v,
            (None, Some(default)) => default.as_str().to_string(),
            (None, None) => String::new(),
        }
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn lab(nodes: u32) -> Lab {
        crate::model::parse(
            Path::new("lab.toml"),
            &format!("box = \"bento-ubuntu-2404\"\nengine = \"native\"\nmode = \"swarm\"\n[swarm]\nnodes = {nodes}\n"),
        )
        .unwrap()
    }

    fn example() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/redmine/stack.yml"
        ))
        .unwrap()
    }

    fn names<'a>(machines: &[&'a Machine]) -> Vec<&'a str> {
        machines.iter().map(|m| m.name.as_str()).collect()
    }

    #[test]
    fn the_redmine_example_follows_the_environment() {
        let none = |_: &str| None;
        let services = parse(&example(), &none).unwrap();
        let images: Vec<&str> = services.iter().map(|s| s.image.as_str()).collect();
        assert_eq!(images, ["redmine:5.1", "postgres:15"]);
        let set = |k: &str| (k == "REDMINE_IMAGE").then(|| "local/redmine:dev".to_string());
        assert_eq!(
            parse(&example(), &set).unwrap()[0].image,
            "local/redmine:dev"
        );
    }

    #[test]
    fn each_image_goes_only_where_its_service_may_run() {
        let lab = lab(3);
        let env = |k: &str| (k == "POSTGRES_NODE").then(|| "swarm-node03".to_string());
        let needs = images_by_machine(&parse(&example(), &env).unwrap(), &lab);
        assert_eq!(needs.len(), 2);
        assert_eq!(needs[0].0, "redmine:5.1");
        assert_eq!(names(&needs[0].1), ["swarm-node01"]);
        assert_eq!(needs[1].0, "postgres:15");
        assert_eq!(names(&needs[1].1), ["swarm-node03"]);
    }

    #[test]
    fn roles_negations_case_and_unknown_keys() {
        let lab = lab(2);
        let stack = "services:\n  web:\n    image: a:1\n    deploy:\n      placement:\n        constraints: [\"node.role==worker\", \"node.hostname != SWARM-NODE01\"]\n  \
                     ui:\n    image: 'a:1'\n    deploy:\n      placement:\n        constraints:\n          - node.role == manager\n  \
                     any:\n    image: b:2\n    deploy:\n      mode: global\n      placement:\n        constraints: [node.labels.disk == ssd]\n  \
                     built:\n    build: .\n";
        let needs = images_by_machine(&parse(stack, &|_| None).unwrap(), &lab);
        assert_eq!(needs.len(), 2, "{needs:?}");
        assert_eq!(names(&needs[0].1), ["swarm-master", "swarm-node02"]);
        // A label lab cannot see: every member may run it.
        assert_eq!(
            names(&needs[1].1),
            ["swarm-master", "swarm-node01", "swarm-node02"]
        );
    }

    #[test]
    fn what_cannot_be_read_is_named() {
        let bad = "services:\n  web:\n    image: a\n    deploy:\n      placement:\n        constraints: [node.hostname]\n";
        let e = parse(bad, &|_| None).unwrap_err();
        assert!(
            e.contains("service web") && e.contains("node.hostname"),
            "{e}"
        );
        assert!(parse("services: [\n", &|_| None)
            .unwrap_err()
            .starts_with("not YAML"));
        assert!(parse("", &|_| None).unwrap().is_empty());
    }

    #[test]
    fn variables_as_docker_reads_them() {
        let env = |k: &str| match k {
            "A" => Some("x".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(expand("$A/${A}/${B:-d}/${EMPTY:-e}/${B}", &env), "x/x/d/e/");
    }
}
