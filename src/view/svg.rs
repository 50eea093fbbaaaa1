//! The picture as SVG: machine cards on a grid (six a row, so thirty
//! machines make five rows that fit a screen's width), each row under
//! two buses, the private network (solid) and the overlay networks
//! (dashed, to the swarm's machines only); each task a chip in its
//! service's colour on its node's card; faults in red.

use super::{MachineView, Picture, TaskView};

const COLUMNS: usize = 6;
const CARD_W: usize = 250;
const GAP: usize = 20;
const MARGIN: usize = 20;
const HEAD: usize = 64;
const BUSES: usize = 40;
const LINE: usize = 18;
const CHIP: usize = 22;

/// Colours a person can tell apart, by a service's place among the
/// services' names.
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#e15759", "#9c755f",
    "#bab0ac", "#ff9da7",
];

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A line cut to fit a card, the whole kept for the tooltip.
fn fit(s: &str, chars: usize) -> String {
    if s.chars().count() <= chars {
        s.to_string()
    } else {
        let cut: String = s.chars().take(chars.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn card_height(m: &MachineView) -> usize {
    // name, facts, faults, then the task chips.
    12 + LINE + LINE * m.facts().len() + LINE * m.faults.len() + 6 + CHIP * m.tasks.len() + 8
}

pub fn svg(p: &Picture) -> String {
    let services = p.services();
    let colour = |t: &TaskView| {
        let i = services.iter().position(|s| *s == t.service).unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    };
    let columns = p.machines.len().clamp(1, COLUMNS);
    let width = 2 * MARGIN + columns * CARD_W + (columns - 1) * GAP;
    let mut body = String::new();
    let mut y = HEAD;
    for (r, row) in p.machines.chunks(COLUMNS).enumerate() {
        let tallest = row.iter().map(card_height).max().unwrap_or(0);
        let bus_private = y + 10;
        let bus_overlay = y + 24;
        let first_x = MARGIN + CARD_W / 2;
        let last_x = MARGIN + (row.len() - 1) * (CARD_W + GAP) + CARD_W / 2;
        body.push_str(&format!(
            "<g class=\"bus\" data-row=\"{r}\"><line x1=\"{}\" y1=\"{bus_private}\" x2=\"{}\" y2=\"{bus_private}\" stroke=\"#1f5f99\" stroke-width=\"3\"/>",
            MARGIN, last_x.max(first_x) + 20
        ));
        let swarm: Vec<usize> = row
            .iter()
            .enumerate()
            .filter(|(_, m)| m.node.is_some())
            .map(|(i, _)| MARGIN + i * (CARD_W + GAP) + CARD_W / 2 + 12)
            .collect();
        if !p.overlays.is_empty() && !swarm.is_empty() {
            body.push_str(&format!(
                "<line x1=\"{}\" y1=\"{bus_overlay}\" x2=\"{}\" y2=\"{bus_overlay}\" stroke=\"#7b3fa0\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>",
                swarm[0] - 12,
                swarm[swarm.len() - 1] + 12
            ));
        }
        body.push_str("</g>\n");
        for (i, m) in row.iter().enumerate() {
            let x = MARGIN + i * (CARD_W + GAP);
            let top = y + BUSES;
            let centre = x + CARD_W / 2;
            body.push_str(&format!(
                "<line x1=\"{centre}\" y1=\"{bus_private}\" x2=\"{centre}\" y2=\"{top}\" stroke=\"#1f5f99\" stroke-width=\"2\"/>"
            ));
            if m.node.is_some() && !p.overlays.is_empty() {
                body.push_str(&format!(
                    "<line x1=\"{}\" y1=\"{bus_overlay}\" x2=\"{}\" y2=\"{top}\" stroke=\"#7b3fa0\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>",
                    centre + 12,
                    centre + 12
                ));
            }
            body.push_str(&card(m, x, top, tallest, &colour));
        }
        y += BUSES + tallest + GAP;
    }
    if !p.unplaced.is_empty() {
        body.push_str(&format!(
            "<g class=\"unplaced\"><text x=\"{MARGIN}\" y=\"{}\" font-weight=\"bold\">not placed on any node</text>",
            y + 14
        ));
        y += 24;
        for (j, t) in p.unplaced.iter().enumerate() {
            let x = MARGIN + (j % COLUMNS) * (CARD_W + GAP);
            let top = y + (j / COLUMNS) * CHIP;
            body.push_str(&chip(t, x, top, CARD_W, colour(t)));
        }
        y += p.unplaced.len().div_ceil(COLUMNS) * CHIP + GAP;
        body.push_str("</g>\n");
    }
    let height = y + MARGIN;
    let mut head = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"13\" role=\"img\" aria-label=\"lab {}\">\n",
        escape(&p.lab)
    );
    head.push_str(&format!(
        "<rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\n<text x=\"{MARGIN}\" y=\"28\" font-size=\"20\" font-weight=\"bold\">lab {}</text>\n<text x=\"{MARGIN}\" y=\"48\" fill=\"#555\">drawn {} · <tspan fill=\"#1f5f99\">━ private network {}</tspan>{}</text>\n",
        escape(&p.lab),
        escape(&p.drawn_at),
        escape(&p.subnet),
        if p.overlays.is_empty() {
            String::new()
        } else {
            format!(
                " · <tspan fill=\"#7b3fa0\">┅ overlay {}</tspan>",
                escape(&p.overlays.join(", "))
            )
        }
    ));
    format!("{head}{body}</svg>\n")
}

fn card(
    m: &MachineView,
    x: usize,
    top: usize,
    height: usize,
    colour: &dyn Fn(&TaskView) -> &'static str,
) -> String {
    let faulty = !m.faults.is_empty();
    let (fill, stroke) = match (m.is_running(), faulty) {
        (_, true) => ("#fff1f0", "#c00000"),
        (true, false) => ("#f7f9fc", "#5b6b7f"),
        (false, false) => ("#e6e6e6", "#888888"),
    };
    let mut s = format!(
        "<g class=\"machine\" data-machine=\"{}\" data-role=\"{}\"><title>{}</title><rect x=\"{x}\" y=\"{top}\" width=\"{CARD_W}\" height=\"{height}\" rx=\"8\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{}\"/>",
        escape(&m.name),
        escape(&m.role),
        escape(&format!("{} ({})", m.name, m.role)),
        if faulty { 3 } else { 1 }
    );
    let mut y = top + 12 + LINE - 4;
    s.push_str(&format!(
        "<text x=\"{}\" y=\"{y}\" font-weight=\"bold\" font-size=\"15\">{}</text><text x=\"{}\" y=\"{y}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
        x + 10,
        escape(&fit(&m.name, 20)),
        x + CARD_W - 10,
        escape(&m.role)
    ));
    for line in m.facts() {
        y += LINE;
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{y}\" fill=\"#333\">{}</text>",
            x + 10,
            escape(&fit(&line, 34))
        ));
    }
    for f in &m.faults {
        y += LINE;
        s.push_str(&format!(
            "<text class=\"fault\" x=\"{}\" y=\"{y}\" fill=\"#c00000\" font-weight=\"bold\">⚠ {}</text>",
            x + 10,
            escape(&fit(f, 32))
        ));
    }
    let mut chip_top = y + 10;
    for t in &m.tasks {
        s.push_str(&chip(t, x + 8, chip_top, CARD_W - 16, colour(t)));
        chip_top += CHIP;
    }
    s.push_str("</g>\n");
    s
}

fn chip(t: &TaskView, x: usize, top: usize, width: usize, colour: &str) -> String {
    let dash = if t.is_running() {
        ""
    } else {
        " stroke-dasharray=\"4 3\" fill-opacity=\"0.35\""
    };
    format!(
        "<g class=\"task\" data-task=\"{}\" data-service=\"{}\" data-state=\"{}\"><title>{} {}</title><rect x=\"{x}\" y=\"{top}\" width=\"{width}\" height=\"{}\" rx=\"9\" fill=\"{colour}\" stroke=\"#333\"{dash}/><text x=\"{}\" y=\"{}\" fill=\"{}\">{} · {}</text></g>",
        escape(&t.name),
        escape(&t.service),
        escape(&t.state),
        escape(&t.name),
        escape(&t.state),
        CHIP - 4,
        x + 8,
        top + 14,
        if t.is_running() { "#ffffff" } else { "#222222" },
        escape(&fit(&t.name, 24)),
        escape(&t.state)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::sample;

    #[test]
    fn every_machine_and_task_is_drawn_once() {
        let text = svg(&sample());
        for m in ["consul", "swarm-master", "swarm-node01", "swarm-node02"] {
            assert_eq!(
                text.matches(&format!("data-machine=\"{m}\"")).count(),
                1,
                "{m}"
            );
        }
        for t in ["db.1", "web.2", "web.10", "web.3"] {
            assert_eq!(
                text.matches(&format!("data-task=\"{t}\"")).count(),
                1,
                "{t}"
            );
        }
        assert!(text.contains("class=\"fault\""));
        assert!(text.contains("not placed on any node"));
        assert!(text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert_eq!(text, svg(&sample()));
    }

    #[test]
    fn a_service_keeps_its_colour_and_names_are_escaped() {
        let mut p = sample();
        p.machines[1].tasks = vec![TaskView::new("web.1", "Running")];
        p.machines[0].name = "<x&y>".into();
        let text = svg(&p);
        let web: Vec<&str> = text
            .split("data-service=\"web\"")
            .skip(1)
            .map(|rest| {
                let at = rest.find("fill=\"#").unwrap();
                &rest[at + 6..at + 13]
            })
            .collect();
        assert!(web.len() >= 3);
        assert!(web.iter().all(|c| *c == web[0]), "{web:?}");
        assert!(text.contains("&lt;x&amp;y&gt;"));
        assert!(!text.contains("<x&y>"));
    }

    #[test]
    fn thirty_machines_wrap_into_rows_of_six() {
        let mut p = sample();
        let node = p.machines[2].clone();
        p.machines = (1..=30)
            .map(|i| MachineView {
                name: format!("swarm-node{i:02}"),
                ..node.clone()
            })
            .collect();
        let text = svg(&p);
        let width: usize = text
            .split("width=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(width, 2 * MARGIN + 6 * CARD_W + 5 * GAP);
        assert_eq!(text.matches("class=\"bus\"").count(), 5);
    }
}
