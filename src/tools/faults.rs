//! Fault drills inside a machine, as root over ssh: a partition is
//! firewall rules in a chain of lab's own, a slow link is a netem qdisc
//! under a handle of lab's own. Clearing removes exactly those and nothing
//! else. The scripts are constant text but for the interface (from the box
//! profile) and addresses and numbers lab checked, each quoted.

use std::net::Ipv4Addr;

/// The chain that holds a partition's rules.
pub const CHAIN: &str = "LAB-FAULT";
/// The root qdisc handle of a slow link.
pub const HANDLE: &str = "1a1:";

/// The machine stops talking to `peers` over `interface`, or to everyone
/// there when `peers` is empty. Adds to a partition already in place.
pub fn cut_script(interface: &str, peers: &[Ipv4Addr]) -> String {
    let dev = shell_words::quote(interface);
    let mut script = format!(
        "set -e\n\
         iptables -w -N {CHAIN} 2>/dev/null || true\n\
         iptables -w -C INPUT -i {dev} -j {CHAIN} 2>/dev/null || iptables -w -I INPUT 1 -i {dev} -j {CHAIN}\n\
         iptables -w -C OUTPUT -o {dev} -j {CHAIN} 2>/dev/null || iptables -w -I OUTPUT 1 -o {dev} -j {CHAIN}\n"
    );
    if peers.is_empty() {
        script.push_str(&format!("iptables -w -A {CHAIN} -j DROP\n"));
    }
    for peer in peers {
        script.push_str(&format!(
            "iptables -w -A {CHAIN} -s {peer} -j DROP\niptables -w -A {CHAIN} -d {peer} -j DROP\n"
        ));
    }
    script
}

/// A slow, lossy link on `interface`: netem under lab's handle, replacing
/// lab's own from before. A kernel without netem refuses it, and then
/// nothing changed.
pub fn net_script(interface: &str, delay_ms: u32, jitter_ms: u32, loss_pct: f64) -> String {
    let dev = shell_words::quote(interface);
    let mut netem = format!("delay {delay_ms}ms");
    if jitter_ms > 0 {
        netem.push_str(&format!(" {jitter_ms}ms"));
    }
    if loss_pct > 0.0 {
        netem.push_str(&format!(" loss {loss_pct}%"));
    }
    format!("set -e\ntc qdisc replace dev {dev} root handle {HANDLE} netem {netem}\n")
}

/// Removes lab's partition chain and lab's qdisc, if there; what anyone
/// else set stays.
pub fn clear_script(interface: &str) -> String {
    let dev = shell_words::quote(interface);
    format!(
        "while iptables -w -D INPUT -i {dev} -j {CHAIN} 2>/dev/null; do :; done\n\
         while iptables -w -D OUTPUT -o {dev} -j {CHAIN} 2>/dev/null; do :; done\n\
         if iptables -w -n -L {CHAIN} >/dev/null 2>&1; then iptables -w -F {CHAIN}; iptables -w -X {CHAIN}; fi\n\
         if tc qdisc show dev {dev} root | grep -q 'netem {HANDLE}'; then tc qdisc del dev {dev} root; fi\n"
    )
}

/// What a failed `tc ... netem` means, when it is the kernel's lack.
pub fn netem_missing(stderr: &str) -> bool {
    stderr.contains("Specified qdisc kind is unknown")
        || stderr.contains("Unknown qdisc \"netem\"")
        || stderr.contains("qdisc kind is unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_drops_the_peers_in_labs_own_chain_only() {
        let script = cut_script("eth1", &["10.0.0.3".parse().unwrap()]);
        assert!(script.contains("iptables -w -I INPUT 1 -i eth1 -j LAB-FAULT"));
        assert!(script.contains("-A LAB-FAULT -s 10.0.0.3 -j DROP"));
        assert!(script.contains("-A LAB-FAULT -d 10.0.0.3 -j DROP"));
        assert!(!script.contains("-A LAB-FAULT -j DROP"));
        assert!(cut_script("eth1", &[]).contains("iptables -w -A LAB-FAULT -j DROP"));
        // Every rule lab adds is in its chain or jumps to it.
        for line in cut_script("eth1", &["10.0.0.3".parse().unwrap()]).lines() {
            if line.contains(" -A ") || line.contains(" -I ") {
                assert!(line.contains(CHAIN), "{line}");
            }
        }
    }

    #[test]
    fn clearing_touches_labs_chain_and_handle_and_nothing_else() {
        let script = clear_script("eth1");
        for line in script.lines() {
            assert!(line.contains(CHAIN) || line.contains(HANDLE), "{line}");
        }
        assert!(!script.contains("-F INPUT") && !script.contains("-F OUTPUT"));
    }

    #[test]
    fn a_slow_link_says_what_it_is() {
        assert_eq!(
            net_script("eth1", 200, 20, 1.5),
            "set -e\ntc qdisc replace dev eth1 root handle 1a1: netem delay 200ms 20ms loss 1.5%\n"
        );
        assert!(net_script("e th1", 1, 0, 0.0).contains("dev 'e th1' root"));
        assert!(netem_missing("Error: Specified qdisc kind is unknown.\n"));
    }
}
