//! AWS Backup: the resource selections of a Region's backup plans, which say what each plan
//! backs up (RDS.26, EC2.28). Whether a resource is selected is [`BackupSelection::selects`].

use serde::{Deserialize, Serialize};

use super::Tags;

/// One resource assignment of a backup plan (`GetBackupSelection`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSelection {
    /// The plan's id.
    pub plan_id: String,
    /// The plan's name.
    pub plan_name: String,
    /// The selection's id.
    pub selection_id: String,
    /// The selection's name.
    pub selection_name: String,
    /// The role AWS Backup assumes for it.
    pub iam_role_arn: Option<String>,
    /// ARNs selected, `*` wildcards allowed (any of them: OR).
    pub resources: Vec<String>,
    /// ARNs excluded, `*` wildcards allowed.
    pub not_resources: Vec<String>,
    /// Tags selected (`ListOfTags`, StringEquals only; any of them: OR with `resources`).
    pub list_of_tags: Vec<TagCondition>,
    /// Tag conditions every selected resource must meet (`Conditions`: AND).
    pub conditions: Vec<TagCondition>,
}

/// A tag condition of a selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCondition {
    /// `StringEquals`, `StringNotEquals`, `StringLike` or `StringNotLike`.
    pub operator: String,
    /// The tag key, without the `aws:ResourceTag/` prefix.
    pub key: String,
    /// The value (`*` and `?` wildcards for the `Like` operators).
    pub value: String,
}

impl TagCondition {
    /// A condition from AWS's key, which may carry the `aws:ResourceTag/` prefix.
    pub fn new(operator: &str, key: &str, value: &str) -> Self {
        Self {
            operator: operator.to_string(),
            key: key
                .strip_prefix("aws:ResourceTag/")
                .unwrap_or(key)
                .to_string(),
            value: value.to_string(),
        }
    }

    /// Whether a resource with these tags meets the condition. Operators are case sensitive;
    /// an unknown operator is never met.
    pub fn holds(&self, tags: &Tags) -> bool {
        let tag = tags.get(&self.key).map(String::as_str);
        match self.operator.to_ascii_lowercase().as_str() {
            "stringequals" => tag == Some(self.value.as_str()),
            "stringnotequals" => tag != Some(self.value.as_str()),
            "stringlike" => tag.is_some_and(|t| glob(&self.value, t)),
            "stringnotlike" => !tag.is_some_and(|t| glob(&self.value, t)),
            _ => false,
        }
    }
}

impl BackupSelection {
    /// Whether the selection assigns the resource (`arn`, `tags`) to its plan, as AWS Backup
    /// reads a selection: (any of `resources` or any of `list_of_tags`; every resource when both
    /// are empty) and every one of `conditions`, and none of `not_resources`.
    pub fn selects(&self, arn: &str, tags: &Tags) -> bool {
        let listed = if self.resources.is_empty() && self.list_of_tags.is_empty() {
            true
        } else {
            self.resources.iter().any(|pattern| glob(pattern, arn))
                || self.list_of_tags.iter().any(|c| c.holds(tags))
        };
        listed
            && self.conditions.iter().all(|c| c.holds(tags))
            && !self.not_resources.iter().any(|pattern| glob(pattern, arn))
    }
}

/// Wildcard match: `*` any run of characters, `?` one character; case sensitive.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}
