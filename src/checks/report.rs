//! One line of `lab verify` or `lab doctor`: what was checked, how it went,
//! and the detail a person needs (for a failure: what to do).

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    /// False blocks: `lab verify` and `lab doctor` exit non-zero.
    pub passed: bool,
    /// A pass with a caveat worth reading.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warning: bool,
    pub detail: String,
}

impl Check {
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            passed: true,
            warning: false,
            detail: detail.into(),
        }
    }

    pub fn warn(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            warning: true,
            ..Check::pass(name, detail)
        }
    }

    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            passed: false,
            ..Check::pass(name, detail)
        }
    }

    pub fn word(&self) -> &'static str {
        match (self.passed, self.warning) {
            (false, _) => "FAIL",
            (true, true) => "WARN",
            (true, false) => "PASS",
        }
    }

    /// `PASS  name  detail`, continuation lines indented under the detail.
    pub fn line(&self) -> String {
        let detail = self.detail.replace('\n', &format!("\n{:35}", ""));
        format!("{}  {:<28} {detail}", self.word(), self.name)
    }
}

/// `{"schema", "lab", "passed", "checks": [...]}`, as `verify --json`
/// (schema [`VERIFY`](crate::model::schema::VERIFY)) and `doctor --json`
/// ([`DOCTOR`](crate::model::schema::DOCTOR)) print it.
pub fn report(schema: &str, lab: &str, checks: &[Check]) -> String {
    let passed = checks.iter().all(|c| c.passed);
    serde_json::to_string_pretty(&serde_json::json!({
        "schema": schema,
        "lab": lab,
        "passed": passed,
        "checks": checks,
    }))
    .expect("checks serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_pass_warn_or_fail_and_indent_the_rest() {
        assert!(Check::pass("a", "ok").line().starts_with("PASS  a "));
        assert!(Check::warn("a", "hm").line().starts_with("WARN  a "));
        let fail = Check::fail("a", "broken\nhint: fix").line();
        assert!(fail.starts_with("FAIL  a "));
        assert_eq!(fail.lines().nth(1).unwrap().trim(), "hint: fix");
    }
}
