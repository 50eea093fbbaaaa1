//! Every parser of another program's output, fed the real transcripts
//! (tests/fixtures) cut, spliced and sprinkled with random bytes, and
//! arbitrary text: none may panic. A panic found here is a bug; its input
//! becomes a regression test below.

use std::path::Path;

use proptest::prelude::*;

fn seeds() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut texts = Vec::new();
    for dir in ["vagrant", "docker-machine"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            texts.push(String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned());
        }
    }
    for file in ["lab.toml", "examples/redmine/exercise.toml"] {
        texts.push(
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap(),
        );
    }
    texts
}

/// A transcript, changed: `edits` are (position, byte) pairs, each either
/// inserted, or (when the byte is odd) a cut of the text there.
fn mutate(seed: &str, edits: &[(usize, u8)]) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for (pos, b) in edits {
        let at = if bytes.is_empty() {
            0
        } else {
            pos % (bytes.len() + 1)
        };
        if b % 2 == 1 && at < bytes.len() {
            let end = (at + usize::from(*b)).min(bytes.len());
            bytes.drain(at..end);
        } else {
            bytes.insert(at, *b);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Every parser once; their results do not matter, only that they return.
fn parse_everything(text: &str) {
    let _ = lab::tools::vagrant::parse_status(text);
    let _ = lab::tools::vagrant::parse_ssh_config(text);
    let _ = lab::tools::vagrant::parse_box_list(text);
    let _ = lab::tools::ssh::parse_inet(text);
    let _ = lab::tools::docker_machine::parse_ls(text);
    let _ = lab::tools::docker_machine::parse_env(text);
    let _ = lab::tools::docker_machine::parse_config(text);
    let _ = lab::tools::docker_machine::parse_status(text);
    let _ = lab::tools::swarm::parse_info(text);
    let _ = lab::tools::swarm::parse_node_ls(text);
    let _ = lab::tools::swarm::network_driver(text, "lab-overlay");
    let _ = lab::tools::swarm::parse_stack_ps(text);
    let _ = lab::tools::swarm::parse_published_ports(text);
    let _ = lab::tools::swarm::parse_classic_status(text);
    let _ = lab::checks::verify::parse_probe_ip(text, "lab-overlay");
    let _ = lab::checks::verify::interface_of(text, "10.0.1.4");
    let _ = lab::checks::doctor::allowed_ranges(Some(text));
    let _ = lab::model::version::parse_version(text);
    let _ = lab::tools::stack::parse(text, &|_| Some("x".into()));
    let _ = lab::model::parse(Path::new("lab.toml"), text);
    let _ = lab::model::parse_subnet(text);
    let _ = lab::model::exercise::parse(Path::new("exercise.toml"), text);
    let _ = lab::host::networks::parse_routes(text);
    let _ = lab::host::networks::parse_docker_subnets(text);
    let _ = lab::tools::vbox::parse_vms(text);
    let _ = lab::tools::vagrant::indexed_in(text, "consul", "virtualbox");
}

proptest! {
    // PROPTEST_CASES=100000 for a long hunt; this many keeps `cargo test` quick.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(500)
    ))]

    #[test]
    fn mutated_transcripts(pick in any::<prop::sample::Index>(), edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..12)) {
        let seeds = seeds();
        let seed = &seeds[pick.index(seeds.len())];
        parse_everything(&mutate(seed, &edits));
    }

    #[test]
    fn arbitrary_text(text in ".{0,400}") {
        parse_everything(&text);
    }

    #[test]
    fn arbitrary_lines_of_the_shapes_parsers_look_for(
        lines in prop::collection::vec(prop_oneof![
            Just("1700000000,consul,state,".to_string()),
            Just("  IdentityFile ".to_string()),
            Just("inet 10.0.0.1/".to_string()),
            Just("NAME ACTIVE DRIVER STATE URL SWARM DOCKER ERRORS".to_string()),
            Just("export DOCKER_HOST=\"".to_string()),
            Just("--tlsverify\n-H=".to_string()),
            Just("image: ${".to_string()),
            Just("subnet = \"10.0.0.0/".to_string()),
            ".{0,40}",
        ], 0..20)
    ) {
        parse_everything(&lines.join("\n"));
    }
}

#[test]
fn every_transcript_as_it_is() {
    for seed in seeds() {
        parse_everything(&seed);
    }
}
