//! The DR table, shared by the dashboard's `:dr` and `haven replicate`: one row per protected
//! resource and DR Region, the same cells in both, from the same [`Plan`].

use haven_model::dr::DrRow;
use haven_model::replication::{Operation, Removal};
use haven_replicate::Plan;

/// Column titles.
pub const HEADERS: [&str; 7] = [
    "DR REGION",
    "KIND",
    "PROTECTS",
    "NEWEST SOURCE",
    "COPY IN DR",
    "AGE / RPO",
    "STATE",
];

/// The copy the row shows: the newest complete one, else the one in flight, else a failed one.
fn shown_copy(row: &DrRow) -> Option<&str> {
    row.usable
        .as_deref()
        .or_else(|| row.in_flight().map(|c| c.id.as_str()))
        .or_else(|| row.failed().next().map(|c| c.id.as_str()))
}

/// What the plan does for the row, in a word: `copy`, `remake` (a failed copy), `replica`.
pub fn planned(row: &DrRow, plan: &Plan) -> Option<&'static str> {
    let key = row.key();
    let remakes = plan
        .operations_for(&key)
        .any(|o| matches!(o, Operation::Delete(d) if matches!(d.why, Removal::Failed { .. })));
    match plan.creation_for(&key)? {
        Operation::Replica(_) => Some("replica"),
        _ if remakes => Some("remake"),
        _ => Some("copy"),
    }
}

/// The row's cells, in [`HEADERS`] order.
pub fn cells(row: &DrRow) -> [String; 7] {
    [
        row.region.clone(),
        row.protection.as_str().to_string(),
        row.protects.clone(),
        row.source.clone(),
        shown_copy(row).unwrap_or("-").to_string(),
        row.age_text(),
        row.state.label(),
    ]
}

/// The plain-text table: a header, a line per row, then what the plan will do and why rows stay
/// unprotected.
pub fn text(plan: &Plan) -> String {
    const WIDTHS: [usize; 6] = [14, 20, 24, 28, 28, 18];
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            match WIDTHS.get(i) {
                Some(w) => out.push_str(&format!("{cell:<w$} ")),
                None => out.push_str(cell),
            }
        }
        out.trim_end().to_string()
    };
    let mut out = vec![line(&HEADERS.map(String::from))];
    for row in &plan.status.rows {
        let mut cells = cells(row);
        if let Some(word) = planned(row, plan) {
            cells[6] = format!("{} → {word}", cells[6]);
        }
        out.push(line(&cells));
    }
    for op in &plan.operations {
        out.push(format!("will      {}", op.sentence()));
    }
    for note in &plan.status.notes {
        out.push(format!("note      {note}"));
    }
    // One line per distinct note: the DB snapshot and the replica of an encrypted database
    // share the same missing key.
    let mut said = std::collections::BTreeSet::new();
    for row in &plan.status.rows {
        if let Some(note) = &row.note {
            let line = format!("note      {}", note.sentence(row));
            if said.insert(line.clone()) {
                out.push(line);
            }
        }
    }
    out.join("\n")
}
