//! The picture as a page that needs nothing but itself: the SVG inline,
//! tables of machines and tasks beneath it (for reading and for finding
//! text), no script, no font or style from elsewhere, as classes run
//! offline. With `refresh`, the page reloads itself every so many
//! seconds: `lab graph --watch` rewrites the file, no server runs.

use anyhow::Context as _;

use super::Picture;

const PAGE: &str = include_str!("../../templates/graph.html.tera");

pub fn html(p: &Picture, refresh: Option<u64>) -> anyhow::Result<String> {
    let mut context = tera::Context::new();
    context.insert("p", p);
    context.insert("svg", &super::svg::svg(p));
    context.insert("tasks", &p.task_count());
    context.insert("refresh", &refresh);
    let mut tera = tera::Tera::default();
    // A name ending in .html: Tera escapes every value put in it.
    tera.add_raw_template("graph.html", PAGE)
        .context("the graph page's template")?;
    tera.render("graph.html", &context)
        .context("rendering the graph page")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::sample;

    #[test]
    fn the_page_holds_the_picture_and_both_tables() {
        let page = html(&sample(), None).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(!page.contains("http-equiv=\"refresh\""));
        assert!(page.contains("<svg xmlns="));
        assert!(page.contains("<tr data-machine=\"swarm-node02\" class=\"down\">"));
        assert!(page.contains(
            "<tr data-task=\"web.3\"><td>web</td><td>web.3</td><td>-</td><td>Pending</td></tr>"
        ));
        assert!(page.contains("Drawn 2026-12-03T10:00:00Z: 4 machines, 4 tasks."));
        // Nothing is fetched: no script, no link, no URL but SVG's namespace.
        assert!(!page.contains("<script") && !page.contains("<link"));
        let rest = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!rest.contains("http") && !rest.contains("src="), "{page}");
    }

    #[test]
    fn a_watched_page_reloads_itself_and_values_are_escaped() {
        let mut p = sample();
        p.problem = Some("<b>manager</b> down".into());
        let page = html(&p, Some(3)).unwrap();
        assert!(page.contains("<meta http-equiv=\"refresh\" content=\"3\">"));
        assert!(page.contains("redraws it every 3 s"));
        assert!(
            page.contains("&lt;b&gt;manager&lt;&#x2F;b&gt; down"),
            "{page}"
        );
    }
}
