//! The table of ratios and `docs/benchmarks.md`.

use std::time::Duration;

/// One measured figure: a ratio, its target, and the figures it was computed from.
#[derive(Debug)]
pub struct Row {
    what: String,
    detail: String,
    ratio: f64,
    target: String,
    met: bool,
}

impl Row {
    /// A row; `met` says whether `ratio` meets `target`.
    pub fn new(
        what: impl Into<String>,
        detail: impl Into<String>,
        ratio: f64,
        target: impl Into<String>,
        met: bool,
    ) -> Self {
        Self {
            what: what.into(),
            detail: detail.into(),
            ratio,
            target: target.into(),
            met,
        }
    }
}

/// Every row of one run, and notes on how they were measured.
#[derive(Debug, Default)]
pub struct Table {
    /// The figures, in the order measured.
    pub rows: Vec<Row>,
    /// How the figures were taken.
    pub notes: Vec<String>,
}

impl Table {
    /// A Markdown table, readable as plain text too.
    pub fn render(&self) -> String {
        let mut text =
            String::from("| measure | ratio | target | met | figures |\n|---|---:|---|---|---|\n");
        for row in &self.rows {
            let ratio = if row.ratio >= 100.0 {
                format!("{:.0}×", row.ratio)
            } else if row.ratio >= 0.1 {
                format!("{:.2}×", row.ratio)
            } else {
                format!("{:.4}×", row.ratio)
            };
            text.push_str(&format!(
                "| {} | {ratio} | {} | {} | {} |\n",
                row.what,
                row.target,
                if row.met { "yes" } else { "**no**" },
                row.detail
            ));
        }
        text
    }
}

/// Where the hand-written analysis starts; it is kept when the file is written again.
const ANALYSIS: &str = "\n## Analysis";

/// The whole of `docs/benchmarks.md`: how to run, the machine, the table, the notes, and the
/// analysis section of the previous file (written by people, kept as it is).
pub fn document(machine: &str, table: &str, notes: &[String], took: Duration) -> String {
    let previous =
        std::fs::read_to_string(crate::root().join("docs/benchmarks.md")).unwrap_or_default();
    let analysis = previous
        .find(ANALYSIS)
        .map_or(String::new(), |at| previous[at..].to_owned());
    let mut doc = format!(
        "# Benchmarks\n\n\
         Written by `cargo xtask bench` (release build; about {:.0} minutes on the machine \
         below). Every ratio is computed from figures of the same run, against one local \
         `moto_server`. These are benchmarks, not tests: `cargo xtask ci` asserts no timing.\n\n\
         Needs: Rust, Python with pip (`moto[server]` and `awscli` are installed by pip when \
         missing), tmux.\n\n\
         **Machine:** {machine}.\n\n{table}\n",
        took.as_secs_f64() / 60.0
    );
    for note in notes {
        doc.push_str(&format!("- {note}\n"));
    }
    doc.push_str(&analysis);
    if !doc.ends_with('\n') {
        doc.push('\n');
    }
    doc
}
