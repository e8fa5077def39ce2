//! Customer managed IAM policies with the statements of their default version (IAM.1, and the
//! administrators of `SEC-ADMIN-MFA`).

use serde::{Deserialize, Serialize};

/// A customer managed policy (`GetAccountAuthorizationDetails`, filter `LocalManagedPolicy`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedPolicy {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Users, groups and roles it is attached to.
    pub attachment_count: i32,
    /// Users and roles using it as their permissions boundary.
    pub boundary_count: i32,
    /// The Allow statements of its default version.
    pub allows: Vec<PolicyStatement>,
}

/// An `Allow` statement, reduced to its actions and resources.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyStatement {
    /// `Action` (empty when the statement uses `NotAction`).
    pub actions: Vec<String>,
    /// `Resource` (empty when the statement uses `NotResource`).
    pub resources: Vec<String>,
    /// It has a `Condition`.
    pub conditional: bool,
}

impl PolicyStatement {
    /// `"Action": "*"` over `"Resource": "*"`: every action on everything.
    pub fn is_full_admin(&self) -> bool {
        self.actions.iter().any(|a| a == "*") && self.resources.iter().any(|r| r == "*")
    }
}

impl ManagedPolicy {
    /// Its default version allows every action on every resource.
    pub fn is_full_admin(&self) -> bool {
        self.allows.iter().any(PolicyStatement::is_full_admin)
    }
}

/// The Allow statements of a policy document, which AWS returns URL-encoded (plain JSON is read
/// too). `None` when the document is not a policy.
pub fn allow_statements(document: &str) -> Option<Vec<PolicyStatement>> {
    let json: serde_json::Value = serde_json::from_str(document)
        .or_else(|_| serde_json::from_str(&percent_decode(document)))
        .ok()?;
    let statements = match &json["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        serde_json::Value::Object(_) => vec![json["Statement"].clone()],
        _ => return None,
    };
    let strings = |value: &serde_json::Value| -> Vec<String> {
        match value {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(list) => list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    Some(
        statements
            .iter()
            .filter(|s| s["Effect"].as_str() == Some("Allow"))
            .map(|s| PolicyStatement {
                actions: strings(&s["Action"]),
                resources: strings(&s["Resource"]),
                conditional: s.get("Condition").is_some(),
            })
            .collect(),
    )
}

/// Decodes `%XX` escapes and `+` (a space) of a URL-encoded document.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
