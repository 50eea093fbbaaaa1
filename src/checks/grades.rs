//! A class's grades: one row per student, one column per check of the
//! exercise. Written as CSV for a spreadsheet and as one HTML page that
//! needs nothing else (a class runs offline): failures in red with what was
//! seen, and how many passed each check.

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::checks::exercise::Outcome;
use crate::model::exercise::Exercise;

const PAGE: &str = include_str!("../../templates/grades.html.tera");

/// Where a sheet's results come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `lab grade` deployed and checked each submission on this lab.
    Graded { lab: String },
    /// Students' own `lab check --json` reports, merged as sent.
    Reports,
}

#[derive(Debug, Clone)]
pub struct Sheet {
    pub title: String,
    pub exercise: String,
    /// Each check's name and points, in the exercise's order.
    pub checks: Vec<(String, u32)>,
    pub rows: Vec<Row>,
    pub source: Source,
    /// When grading started (RFC 3339).
    pub made: String,
}

/// One student: an outcome per check, in the exercise's order, and what
/// kept the submission from being checked, if anything did.
#[derive(Debug, Clone)]
pub struct Row {
    pub student: String,
    pub outcomes: Vec<Outcome>,
    pub note: Option<String>,
}

impl Row {
    pub fn points(&self) -> u32 {
        self.outcomes.iter().map(|o| o.points).sum()
    }

    /// A student whose submission was not checked: every check failed,
    /// with the reason.
    pub fn unchecked(exercise: &Exercise, student: &str, reason: &str) -> Row {
        Row {
            student: student.to_string(),
            outcomes: exercise
                .checks
                .iter()
                .map(|c| Outcome {
                    name: c.name.clone(),
                    passed: false,
                    points: 0,
                    max_points: c.points,
                    detail: format!("not checked: {reason}"),
                    hint: None,
                })
                .collect(),
            note: Some(reason.to_string()),
        }
    }
}

impl Sheet {
    pub fn new(exercise: &Exercise, source: Source, made: String) -> Sheet {
        Sheet {
            title: exercise.title.clone(),
            exercise: exercise.file.display().to_string(),
            checks: exercise
                .checks
                .iter()
                .map(|c| (c.name.clone(), c.points))
                .collect(),
            rows: Vec::new(),
            source,
            made,
        }
    }

    pub fn max_points(&self) -> u32 {
        self.checks.iter().map(|(_, p)| p).sum()
    }

    /// How many students passed each check.
    pub fn passed(&self) -> Vec<usize> {
        (0..self.checks.len())
            .map(|i| {
                self.rows
                    .iter()
                    .filter(|r| r.outcomes.get(i).is_some_and(|o| o.passed))
                    .count()
            })
            .collect()
    }

    /// `student,<check>...,total,max,note`: points per check.
    pub fn csv(&self) -> String {
        let mut header = vec![cell("student")];
        header.extend(self.checks.iter().map(|(name, _)| cell(name)));
        header.extend(["total", "max", "note"].map(cell));
        let mut text = header.join(",") + "\r\n";
        for row in &self.rows {
            let mut cells = vec![cell(&row.student)];
            cells.extend(row.outcomes.iter().map(|o| o.points.to_string()));
            cells.push(row.points().to_string());
            cells.push(self.max_points().to_string());
            cells.push(cell(row.note.as_deref().unwrap_or("")));
            text.push_str(&(cells.join(",") + "\r\n"));
        }
        text
    }

    /// The page: a table with a row per student, escaped throughout.
    pub fn html(&self) -> anyhow::Result<String> {
        #[derive(Serialize)]
        struct Column<'a> {
            name: &'a str,
            points: u32,
            passed: usize,
        }
        #[derive(Serialize)]
        struct Line<'a> {
            student: &'a str,
            points: u32,
            outcomes: &'a [Outcome],
            note: Option<&'a str>,
        }
        let passed = self.passed();
        let columns: Vec<Column> = self
            .checks
            .iter()
            .zip(passed)
            .map(|((name, points), passed)| Column {
                name,
                points: *points,
                passed,
            })
            .collect();
        let lines: Vec<Line> = self
            .rows
            .iter()
            .map(|r| Line {
                student: &r.student,
                points: r.points(),
                outcomes: &r.outcomes,
                note: r.note.as_deref(),
            })
            .collect();
        let mut context = tera::Context::new();
        context.insert("title", &self.title);
        context.insert("exercise", &self.exercise);
        context.insert("made", &self.made);
        context.insert("checks", &columns);
        context.insert("rows", &lines);
        context.insert("max_points", &self.max_points());
        context.insert("students", &self.rows.len());
        match &self.source {
            Source::Graded { lab } => context.insert("lab", lab),
            Source::Reports => context.insert("own_reports", &true),
        }
        let mut tera = tera::Tera::default();
        // A name ending in .html: Tera escapes every value put in it.
        tera.add_raw_template("grades.html", PAGE)
            .context("the grades page's template")?;
        tera.render("grades.html", &context)
            .context("rendering the grades page")
    }
}

/// One CSV field: quoted when it holds a separator, a quote or a line
/// break; text a spreadsheet would take for a formula is prefixed with `'`
/// (a student's name is the student's to choose).
fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) || text.trim() != text {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// A student's own `lab check --json` report, as a row of this exercise's
/// sheet: checks matched by name, points no more than the exercise gives.
pub fn row_from_report(exercise: &Exercise, file: &Path, text: &str) -> Result<Row, String> {
    let report: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("{}: not a JSON report: {e}", file.display()))?;
    let schema = report["schema"].as_str().unwrap_or_default();
    if schema != crate::model::schema::CHECK {
        return Err(format!(
            "{}: schema `{schema}`, not {}: it is not a `lab check --json` report",
            file.display(),
            crate::model::schema::CHECK
        ));
    }
    let title = report["title"].as_str().unwrap_or_default();
    if title != exercise.title {
        return Err(format!(
            "{}: a report of `{title}`, not of `{}`",
            file.display(),
            exercise.title
        ));
    }
    let student = report["student"]
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .map(String::from)
        .or_else(|| file.file_stem().map(|s| s.to_string_lossy().to_string()))
        .unwrap_or_default();
    let reported = report["checks"].as_array().cloned().unwrap_or_default();
    let outcomes = exercise
        .checks
        .iter()
        .map(|check| {
            let found = reported.iter().find(|c| c["name"] == check.name.as_str());
            let passed = found.is_some_and(|c| c["passed"] == true);
            Outcome {
                name: check.name.clone(),
                passed,
                points: if passed { check.points } else { 0 },
                max_points: check.points,
                detail: found
                    .and_then(|c| c["detail"].as_str())
                    .unwrap_or("not in the report")
                    .to_string(),
                hint: None,
            }
        })
        .collect();
    Ok(Row {
        student,
        outcomes,
        note: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise() -> Exercise {
        crate::model::exercise::parse(
            Path::new("ex.toml"),
            "title = \"T\"\nstack = \"stack.yml\"\n\
             [[check]]\nname = \"nodes, ready\"\nready = 3\n\
             [[check]]\nname = \"db\"\nservice = \"db\"\nrunning = 1\npoints = 2\n",
        )
        .unwrap()
    }

    fn outcome(name: &str, passed: bool, max: u32) -> Outcome {
        Outcome {
            name: name.into(),
            passed,
            points: if passed { max } else { 0 },
            max_points: max,
            detail: format!("<seen> {name}"),
            hint: None,
        }
    }

    fn sheet() -> Sheet {
        let exercise = exercise();
        let mut sheet = Sheet::new(
            &exercise,
            Source::Graded { lab: "lab".into() },
            "2026-12-03T10:00:00Z".into(),
        );
        sheet.rows.push(Row {
            student: "ada".into(),
            outcomes: vec![outcome("nodes, ready", true, 1), outcome("db", true, 2)],
            note: None,
        });
        sheet.rows.push(Row {
            student: "=cmd|' /C calc'!A0".into(),
            outcomes: vec![outcome("nodes, ready", true, 1), outcome("db", false, 2)],
            note: None,
        });
        sheet.rows.push(Row::unchecked(
            &exercise,
            "bob",
            "stack.yml: did not parse, \"line 1\"",
        ));
        sheet
    }

    #[test]
    fn the_csv_has_a_row_per_student_and_a_column_per_check() {
        assert_eq!(
            sheet().csv(),
            "student,\"nodes, ready\",db,total,max,note\r\n\
             ada,1,2,3,3,\r\n\
             '=cmd|' /C calc'!A0,1,0,1,3,\r\n\
             bob,0,0,0,3,\"stack.yml: did not parse, \"\"line 1\"\"\"\r\n"
        );
        assert_eq!(sheet().passed(), [2, 1]);
    }

    #[test]
    fn the_page_escapes_what_students_wrote_and_needs_nothing_else() {
        let page = sheet().html().unwrap();
        assert!(page.contains("&lt;seen&gt; db"), "{page}");
        assert!(!page.contains("<seen>"), "{page}");
        // A submission that was not checked says why once, by its total.
        assert_eq!(page.matches("did not parse").count(), 1, "{page}");
        assert!(page.contains("2 of 3 passed"), "{page}");
        assert!(page.contains("1 of 3 passed"), "{page}");
        for outside in ["http://", "https://", "<script", "<link", "@import"] {
            assert!(!page.contains(outside), "{outside} in the page");
        }
    }

    #[test]
    fn a_report_counts_only_this_exercises_checks_at_their_points() {
        let exercise = exercise();
        let report = serde_json::json!({
            "schema": "lab.check/1", "title": "T", "student": "ada",
            "checks": [
                {"name": "db", "passed": true, "points": 50, "max_points": 50, "detail": "ok"},
                {"name": "extra", "passed": true, "points": 9, "max_points": 9, "detail": ""}
            ]
        })
        .to_string();
        let row = row_from_report(&exercise, Path::new("ada.json"), &report).unwrap();
        assert_eq!(row.student, "ada");
        assert_eq!(row.points(), 2);
        assert_eq!(row.outcomes[0].detail, "not in the report");
        let other = report.replace("\"T\"", "\"U\"");
        assert!(row_from_report(&exercise, Path::new("a.json"), &other)
            .unwrap_err()
            .contains("a report of `U`"));
        assert!(row_from_report(
            &exercise,
            Path::new("a.json"),
            "{\"schema\":\"lab.verify/1\"}"
        )
        .unwrap_err()
        .contains("not a `lab check --json` report"));
    }
}
