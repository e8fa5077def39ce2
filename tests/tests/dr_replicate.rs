//! `haven replicate` honestly (issue 16): it protects the stack it is given and nothing else
//! unless `--all`; a copy still in flight is shown as copying with its progress and never counts
//! as fresh; a failed copy is removed and made again; an unprotected row is named, with what
//! blocks it, and the run exits non-zero. Against moto through the proxy, with AWS realism on
//! where copies must take time or fail.

use haven_testkit::{Faults, MotoServer, Proxy, Realism};
use haven_tests::{haven, is_mutating, kms_key, moto_query, text};

const PRIMARY: &str = "ap-northeast-2";
const DR: &str = "us-east-1";

/// A DB instance made by hand in moto, tagged with `stack` when given, and a snapshot of it.
fn database(endpoint: &str, id: &str, stack: Option<&str>, encrypted: bool, snapshot: &str) {
    let mut params = vec![
        ("Action", "CreateDBInstance"),
        ("Version", "2014-10-31"),
        ("DBInstanceIdentifier", id),
        ("DBInstanceClass", "db.t3.micro"),
        ("Engine", "mysql"),
        ("MasterUsername", "admin"),
        ("MasterUserPassword", "not-a-real-one-1"),
        ("AllocatedStorage", "20"),
        ("BackupRetentionPeriod", "1"),
        ("StorageEncrypted", if encrypted { "true" } else { "false" }),
    ];
    if let Some(stack) = stack {
        params.push(("Tags.Tag.1.Key", "haven:stack"));
        params.push(("Tags.Tag.1.Value", stack));
    }
    moto_query(endpoint, PRIMARY, "rds", &params);
    db_snapshot(endpoint, id, snapshot);
}

fn db_snapshot(endpoint: &str, id: &str, snapshot: &str) {
    moto_query(
        endpoint,
        PRIMARY,
        "rds",
        &[
            ("Action", "CreateDBSnapshot"),
            ("Version", "2014-10-31"),
            ("DBInstanceIdentifier", id),
            ("DBSnapshotIdentifier", snapshot),
        ],
    );
}

fn mutating(proxy: &Proxy) -> Vec<String> {
    proxy
        .requests()
        .iter()
        .filter(|r| is_mutating(&r.action))
        .map(|r| format!("{} {}", r.action, String::from_utf8_lossy(&r.body)))
        .collect()
}

fn replicate(proxy: &Proxy, home: &tempfile::TempDir, extra: &[&str]) -> std::process::Output {
    haven(&proxy.endpoint(), home)
        .args(["--region", PRIMARY, "replicate", "--to", DR, "--no-replica"])
        .args(extra)
        .output()
        .expect("run haven replicate")
}

/// The output line of the DB snapshot row of `db`.
fn row<'a>(output: &'a str, db: &str) -> &'a str {
    output
        .lines()
        .find(|l| l.contains("DB snapshot") && l.contains(db) && l.starts_with(DR))
        .unwrap_or_else(|| panic!("no DB snapshot row of {db} in\n{output}"))
}

/// Acceptance 3 (A3): an unrelated database in the same account is copied only with `--all`; an
/// encrypted source without a KMS key is named, with the flag that fixes it, and the run exits
/// non-zero instead of saying there is nothing to do.
#[test]
fn a3_replicate_copies_nothing_of_an_unrelated_database_unless_all() {
    let moto = MotoServer::start().expect("moto");
    let endpoint = moto.endpoint();
    database(&endpoint, "lab-db", Some("lab"), true, "lab-db-s1");
    database(&endpoint, "billing-db", None, false, "billing-db-s1");
    let proxy = Proxy::start(&endpoint, Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");

    // Without a KMS key the stack's encrypted snapshot cannot be copied: said, exit 1, nothing
    // sent, and billing-db is not even listed.
    let blocked = replicate(&proxy, &home, &["--yes"]);
    let out = text(&blocked);
    assert_eq!(blocked.status.code(), Some(1), "{out}");
    assert!(
        out.contains("scope: every haven stack in ap-northeast-2"),
        "{out}"
    );
    assert!(
        out.contains("lab-db is encrypted: give a KMS key in us-east-1 (--kms-key us-east-1="),
        "{out}"
    );
    assert!(!out.contains("nothing to do"), "{out}");
    assert!(!out.contains("billing-db"), "{out}");
    assert_eq!(mutating(&proxy), Vec::<String>::new());

    // With the key: the stack's snapshot is copied, billing-db's is not.
    let key = format!("{DR}={}", kms_key(&endpoint, DR));
    let copied = replicate(&proxy, &home, &["--yes", "--kms-key", &key]);
    assert!(copied.status.success(), "{}", text(&copied));
    let calls = mutating(&proxy);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert!(calls[0].starts_with("CopyDBSnapshot ") && calls[0].contains("lab-db-s1"));
    assert!(!calls[0].contains("billing"), "{calls:#?}");

    // --all widens the scope, and says so first.
    proxy.clear_requests();
    let all = replicate(&proxy, &home, &["--all", "--dry-run", "--kms-key", &key]);
    let out = text(&all);
    assert!(all.status.success(), "{out}");
    assert!(
        out.lines()
            .next()
            .is_some_and(|l| l.contains("every resource of the Region (--all)")),
        "{out}"
    );
    assert!(row(&out, "billing-db").contains("missing → copy"), "{out}");
    assert!(row(&out, "lab-db").contains("fresh"), "{out}");
    assert_eq!(
        mutating(&proxy),
        Vec::<String>::new(),
        "a dry run sends nothing"
    );

    // A stack that is not there is refused before any call.
    let unknown = replicate(&proxy, &home, &["--stack", "shop", "--yes"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(
        text(&unknown).contains("stack shop has nothing in ap-northeast-2; its stacks are lab")
    );
}

/// Acceptance 4 (A4): a copy still in flight is shown as copying with its progress, is not fresh
/// and is not made twice; a copy that ends failed is removed and made again on the next run.
#[test]
fn a4_a_pending_copy_is_copying_and_a_failed_copy_is_made_again() {
    let moto = MotoServer::start().expect("moto");
    let endpoint = moto.endpoint();
    database(&endpoint, "lab-db", Some("lab"), false, "lab-db-s1");
    // A cross-Region DB snapshot copy takes 20 min; played at a tenth, 2 min.
    let slow = Faults::none().with_realism(Realism::aws().with_time_scale(0.1));
    let proxy = Proxy::start(&endpoint, slow).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");

    let started = replicate(&proxy, &home, &["--yes", "--wait-timeout", "2"]);
    assert_eq!(started.status.code(), Some(1), "{}", text(&started));
    assert!(text(&started).contains("started   copy DB snapshot lab-db-s1"));

    proxy.clear_requests();
    let again = replicate(&proxy, &home, &["--yes"]);
    let out = text(&again);
    assert!(again.status.success(), "{out}");
    let line = row(&out, "lab-db");
    assert!(line.contains("copying ") && line.contains('%'), "{line}");
    assert!(!line.contains("fresh"), "{line}");
    assert!(
        out.contains("nothing to start: 1 copy is still in flight"),
        "{out}"
    );
    assert!(!out.contains("nothing to do"), "{out}");
    assert_eq!(mutating(&proxy), Vec::<String>::new(), "not copied twice");

    // A newer snapshot whose copy fails (AWS ends it `failed`).
    db_snapshot(&endpoint, "lab-db", "lab-db-s2");
    proxy.set_faults(Faults::none().with_realism(Realism::aws().failing_copies()));
    let failing = replicate(&proxy, &home, &["--yes"]);
    let out = text(&failing);
    assert_eq!(failing.status.code(), Some(1), "{out}");
    assert!(out.contains("ended failed"), "{out}");

    // The next run removes the failed copy and makes it again, in that order; what it sends is
    // what its dry run previewed.
    proxy.set_faults(Faults::none().with_realism(Realism::aws()));
    let preview = replicate(&proxy, &home, &["--dry-run", "--output", "json"]);
    let preview: serde_json::Value =
        serde_json::from_slice(&preview.stdout).expect("a JSON report");
    let previewed: Vec<String> = preview["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .flat_map(|o| o["api_calls"].as_array().cloned().unwrap_or_default())
        .map(|c| {
            c.as_str()
                .unwrap_or_default()
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    proxy.clear_requests();
    let redone = replicate(&proxy, &home, &["--yes"]);
    let out = text(&redone);
    assert!(redone.status.success(), "{out}");
    assert!(row(&out, "lab-db").contains("failed → remake"), "{out}");
    let calls: Vec<String> = mutating(&proxy)
        .iter()
        .map(|c| c.split_whitespace().next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(calls, vec!["DeleteDBSnapshot", "CopyDBSnapshot"], "{out}");
    assert_eq!(previewed, calls);
    let after = replicate(&proxy, &home, &["--dry-run"]);
    assert!(
        row(&text(&after), "lab-db").contains("fresh"),
        "{}",
        text(&after)
    );
}
