//! docs/findings.md's id table is the contract users map their tools on: every id haven emits
//! is in it with the page that defines it, and an AWS control id only ever means AWS's control.

use std::collections::BTreeMap;

use super::{catalogue, help_url, is_aws_control};

const DOC: &str = include_str!("../../../../docs/findings.md");

/// The rows of the "Ids and AWS controls" table: id → (definition URL, scope note).
fn id_table() -> BTreeMap<String, (String, String)> {
    let section = DOC
        .split("## Ids and AWS controls")
        .nth(1)
        .expect("docs/findings.md has an \"Ids and AWS controls\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let id = cells[0].trim_matches('`').to_string();
            let url = cells
                .get(1)
                .and_then(|c| c.split("](").nth(1))
                .map(|c| c.trim_end_matches(')').to_string())
                .unwrap_or_default();
            let scope = cells.get(2).map(|c| c.to_string()).unwrap_or_default();
            (id, (url, scope))
        })
        .collect()
}

#[test]
fn every_aws_control_id_haven_emits_is_in_the_id_table_with_its_page() {
    let table = id_table();
    let missing: Vec<&str> = catalogue()
        .iter()
        .map(|c| c.id)
        .filter(|id| is_aws_control(id) && !table.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "AWS control ids missing from docs/findings.md's id table: {missing:?}"
    );
    for check in catalogue().iter().filter(|c| is_aws_control(c.id)) {
        assert_eq!(
            Some(&table[check.id].0),
            help_url(check.id).as_ref(),
            "{}: the table's link is not the control's page",
            check.id
        );
    }
}

#[test]
fn every_haven_id_is_in_the_id_table_and_no_row_is_stale() {
    let table = id_table();
    for check in catalogue() {
        let url = help_url(check.id)
            .unwrap_or_else(|| panic!("{}: no help URL (findings/help.rs)", check.id));
        let row = table
            .get(check.id)
            .unwrap_or_else(|| panic!("{} is not in docs/findings.md's id table", check.id));
        assert_eq!(
            row.0, url,
            "{}: the table's link differs from help_url",
            check.id
        );
        if !is_aws_control(check.id) {
            assert!(
                !row.1.is_empty(),
                "{}: a haven id says which AWS control it relates to, or none",
                check.id
            );
        }
    }
    let stale: Vec<&String> = table
        .keys()
        .filter(|id| catalogue().iter().all(|c| c.id != id.as_str()))
        .collect();
    assert!(
        stale.is_empty(),
        "rows for ids haven no longer has: {stale:?}"
    );
}
