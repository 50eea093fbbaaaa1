//! What a person watches while lab works: a bar per machine on a terminal,
//! plain timestamped lines otherwise (CI logs, pipes). Results that scripts
//! read go to stdout; all of this goes to stderr.

use std::io::{IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone)]
pub struct Ui {
    multi: Option<MultiProgress>,
    quiet: bool,
    started: Instant,
}

impl Ui {
    pub fn new(quiet: bool) -> Ui {
        let multi = (!quiet && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Ui {
            multi,
            quiet,
            started: Instant::now(),
        }
    }

    /// Something to read even with `-q`: a warning or a problem found.
    pub fn warn(&self, text: &str) {
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(text);
            }
            None => crate::errln!("{text}"),
        }
    }

    /// A line of news, above the bars on a terminal.
    pub fn say(&self, text: &str) {
        if self.quiet {
            return;
        }
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(text);
            }
            None => crate::errln!("[{:>5.1}s] {text}", self.started.elapsed().as_secs_f64()),
        }
    }

    /// Progress of one machine (or of the lab as a whole).
    pub fn task(&self, label: &str) -> Task {
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner:.cyan} {prefix:<14.bold} {wide_msg:.dim} {elapsed:>4}",
                )
                .expect("valid template"),
            );
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Task {
            bar,
            ui: self.clone(),
            label: label.to_string(),
            started: Instant::now(),
        }
    }
}

pub struct Task {
    bar: Option<ProgressBar>,
    ui: Ui,
    label: String,
    started: Instant,
}

impl Task {
    /// A step begins: shown on the bar, or as a line.
    pub fn begin(&self, what: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(what.to_string()),
            None => self.ui.say(&format!("{}: {what}", self.label)),
        }
    }

    /// A line the running command printed; only a live bar shows it.
    pub fn progress(&self, line: &str) {
        if let Some(bar) = &self.bar {
            let line = line.trim();
            if !line.is_empty() {
                bar.set_message(line.to_string());
            }
        }
    }

    pub fn finish(self, outcome: &str) {
        let text = format!(
            "{}: {outcome} ({:.1}s)",
            self.label,
            self.started.elapsed().as_secs_f64()
        );
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.ui.say(&text);
    }
}

/// Left-aligned columns two spaces apart; the last column runs free.
pub fn columns(header: &[&str], cells: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |row: &[String]| {
        let mut text = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut out = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for row in cells {
        out.push_str(&line(row));
    }
    out
}

/// Asks `question` on the terminal and reads a yes; false where there is
/// no terminal to ask (a script says `--yes` instead).
pub fn confirm(question: &str) -> bool {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return false;
    }
    write_err(format_args!("{question} [y/N] "));
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// A line to stdout (see [`write_out`]): `println!` that never panics.
#[macro_export]
macro_rules! outln {
    () => { $crate::ui::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::ui::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Text to stdout (see [`write_out`]): `print!` that never panics.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::ui::write_out(format_args!($($arg)*)) };
}

/// A line to stderr, if anyone still reads it: `eprintln!` that never panics.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::ui::write_err(format_args!("{}\n", format_args!($($arg)*))) };
}

/// stdout's reader went away (`lab ... | head -1`): what lab prints after
/// that goes nowhere, while the work goes on to its end, as if the reader
/// had read it; lab neither panics nor leaves a job half-done.
static OUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// stdout could not be written for another reason (a full disk): said,
/// with its cause, when lab ends.
static OUT_FAILED: OnceLock<String> = OnceLock::new();

/// Writes to stdout and flushes, so that a failure shows at once.
pub fn write_out(text: std::fmt::Arguments<'_>) {
    if OUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        OUT_CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            let _ = OUT_FAILED.set(e.to_string());
        }
    }
}

/// Writes to stderr; where nobody reads it any more there is nowhere left
/// to say so.
pub fn write_err(text: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(text);
}

/// Why stdout could not be written, other than a reader that went away.
pub fn stdout_failure() -> Option<&'static str> {
    OUT_FAILED.get().map(String::as_str)
}
