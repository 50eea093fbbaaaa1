//! A TOML file being read: where each value stands, so that an error
//! names the file, line and column and shows the value underlined. Used by
//! every reader of a user's file (lab.toml, an exercise).

use std::path::Path;

use toml::Spanned;

use crate::error::ConfigError;

pub struct Source<'a> {
    pub file: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    pub fn error_at(&self, offset: usize, message: impl Into<String>) -> ConfigError {
        self.error_span(offset..offset + 1, message)
    }

    /// An error at `span`, with its line shown and the span underlined.
    pub fn error_span(
        &self,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
    ) -> ConfigError {
        let start = floor_char_boundary(self.text, span.start.min(self.text.len()));
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let source_line = self.text[line_start..line_end].trim_end_matches('\r');
        let end = floor_char_boundary(self.text, span.end.clamp(start, line_end));
        ConfigError {
            file: self.file.to_path_buf(),
            line,
            column: self.text[line_start..start].chars().count() + 1,
            message: message.into(),
            source_line: source_line.chars().filter(|c| !c.is_control()).collect(),
            width: self.text[start..end].chars().count().max(1),
        }
    }

    pub fn error<T>(&self, value: &Spanned<T>, message: impl Into<String>) -> ConfigError {
        self.error_span(value.span(), message)
    }
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// serde's "unknown field `nodez`, expected one of `master`, `nodes`, ..."
/// (or "unknown variant") with the closest known word named first.
pub fn with_suggestion(message: &str) -> String {
    let re = regex::Regex::new(r"unknown (?:field|variant) `([^`]*)`, expected (.*)")
        .expect("valid regex");
    let Some(caps) = re.captures(message) else {
        return message.to_string();
    };
    let wrong = &caps[1];
    let known = regex::Regex::new(r"`([^`]*)`").expect("valid regex");
    let best = known
        .captures_iter(&caps[2])
        .map(|c| c[1].to_string())
        .map(|k| (strsim::jaro_winkler(wrong, &k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, k)) => format!("{message}\nhint: did you mean `{k}`?"),
        None => message.to_string(),
    }
}
