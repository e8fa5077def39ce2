//! The only haven crate that speaks to AWS. It builds one SDK configuration the standard way,
//! discovers the stack into [`haven_model::Topology`], and keeps every SDK type inside.
#![warn(missing_docs)]

pub mod accounts;
pub mod apply;
pub mod context;
pub mod deploy;
pub mod discover;
pub mod error;
pub mod execute;
pub mod failback;
mod http_client;
mod options;
mod poll;
mod reach;
pub mod replicate;
pub mod signals;
mod tags;
pub mod traffic;

pub use accounts::{
    SharedFiles, shared_profiles, sso_login_command, sso_login_state, sso_token_file,
};
pub use apply::{
    Applied, ApplyError, Desired, StepEvent, StepStatus, apply, destroy, read_iam_tags,
};
pub use context::{AwsContext, CallerIdentity, ConnectOptions};
pub use discover::{DiscoverOptions, PieceSink, discover, discover_plan, full_plan};
pub use error::AwsError;
pub use execute::{ExecuteOptions, execute};
pub use signals::read_signals;

#[cfg(test)]
mod permissions_tests {
    use std::path::Path;

    use haven_model::permissions::PERMISSIONS;

    /// Operation names are the only string literals in this crate that start with an AWS verb
    /// and continue in CamelCase; these few are states or error codes, not operations.
    const NOT_OPERATIONS: &[&str] = &["Cancelled", "Cancelling", "DeleteConflict"];
    const VERBS: &[&str] = &[
        "Add",
        "Allocate",
        "Associate",
        "Attach",
        "Authorize",
        "Cancel",
        "Copy",
        "Create",
        "Deactivate",
        "Delete",
        "Deregister",
        "Describe",
        "Detach",
        "Disassociate",
        "Failover",
        "Get",
        "List",
        "Modify",
        "Promote",
        "Put",
        "Reboot",
        "Register",
        "Release",
        "Remove",
        "Replace",
        "Resume",
        "Revoke",
        "Set",
        "Start",
        "Stop",
        "Suspend",
        "Terminate",
        "Update",
    ];

    fn literals(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("read src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                literals(&path, out);
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            for piece in text.split('"').skip(1).step_by(2) {
                let operation = VERBS.iter().any(|v| {
                    piece
                        .strip_prefix(v)
                        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
                }) && piece.chars().all(|c| c.is_ascii_alphanumeric())
                    && !NOT_OPERATIONS.contains(&piece);
                if operation {
                    out.push((path.display().to_string(), piece.to_string()));
                }
            }
        }
    }

    #[test]
    fn every_operation_the_code_names_is_in_the_iam_policy() {
        let mut found = Vec::new();
        literals(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(
            found.len() > 100,
            "the scan found the operations: {}",
            found.len()
        );
        let missing: Vec<String> = found
            .iter()
            .filter(|(_, op)| !PERMISSIONS.iter().any(|p| p.action == op))
            .map(|(file, op)| format!("{op} ({file})"))
            .collect();
        assert_eq!(
            missing,
            Vec::<String>::new(),
            "add them to haven_model::permissions"
        );
    }
}
