//! `:profile`: the profiles of the AWS shared config files and the `[[accounts]]` of
//! config.toml, which of them are shown, and what stands in the way of the others.

use super::rows::{Cell, ListKind, ListModel, Row, RowRef, col, finish};
use super::style::Tone;

/// One profile (or `[[accounts]]` entry) the dashboard can show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRow {
    /// The profile's name, or the `[[accounts]]` entry's.
    pub name: String,
    /// How it signs in, in a few words (`keys`, `SSO`, `role …`, `process`).
    pub sign_in: String,
    /// Its Region, when the files set one.
    pub region: Option<String>,
    /// The account it signed in to, once it has.
    pub account_id: Option<String>,
    /// The account's alias (IAM), when it has one and it could be read.
    pub alias: Option<String>,
    /// Where it stands.
    pub status: ProfileStatus,
}

/// Where a profile stands in this dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileStatus {
    /// Shown, and the one the keys go to.
    Active,
    /// Shown beside the active one.
    Shown,
    /// Signing in, with what it asks of the person meanwhile (an SSO login's page and code).
    Connecting(Option<String>),
    /// Signing in failed: why.
    Failed(String),
    /// Its IAM Identity Center session has expired or was never started: the command that
    /// starts it.
    SignInNeeded(String),
    /// Not shown; Enter switches to it.
    Available,
}

impl ProfileStatus {
    /// The words of the STATUS column and their tone.
    pub fn words(&self) -> (String, Tone) {
        match self {
            ProfileStatus::Active => ("shown (keys go here)".into(), Tone::Good),
            ProfileStatus::Shown => ("shown".into(), Tone::Good),
            ProfileStatus::Connecting(None) => ("signing in…".into(), Tone::Warn),
            ProfileStatus::Connecting(Some(ask)) => (ask.clone(), Tone::Warn),
            ProfileStatus::Failed(why) => (format!("failed: {why}"), Tone::Bad),
            ProfileStatus::SignInNeeded(command) => (
                format!("SSO session expired or not started: Enter runs `{command}`"),
                Tone::Warn,
            ),
            ProfileStatus::Available => ("-".into(), Tone::Dim),
        }
    }

    /// The profile is on screen (active or beside it).
    pub fn shown(&self) -> bool {
        matches!(self, ProfileStatus::Active | ProfileStatus::Shown)
    }
}

/// The `:profile` list: shown ones first, then the rest by name.
pub fn list(profiles: &[ProfileRow]) -> ListModel {
    let mut order: Vec<usize> = (0..profiles.len()).collect();
    order.sort_by_key(|&i| (!profiles[i].status.shown(), profiles[i].name.clone()));
    let rows = order
        .into_iter()
        .map(|i| {
            let p = &profiles[i];
            let (status, tone) = p.status.words();
            Row {
                cells: vec![
                    Cell::text(&p.name),
                    Cell::opt(p.account_id.as_deref()),
                    Cell::opt(p.alias.as_deref()),
                    Cell::text(&p.sign_in),
                    Cell::opt(p.region.as_deref()),
                    Cell::toned(status, tone),
                ],
                target: RowRef {
                    region: None,
                    index: i,
                    iam: None,
                },
                haystack: String::new(),
                key: p.name.clone(),
            }
        })
        .collect();
    finish(
        ListKind::Profiles,
        vec![
            col("PROFILE", 18),
            col("ACCOUNT", 13),
            col("ALIAS", 16),
            col("SIGN-IN", 12),
            col("REGION", 15),
            col("STATUS", 40),
        ],
        rows,
    )
}

/// The describe pane of a profile: what the list shows, one field a line.
pub fn describe(row: &ProfileRow) -> Vec<String> {
    let (status, _) = row.status.words();
    vec![
        format!("profile: {}", row.name),
        format!("account: {}", row.account_id.as_deref().unwrap_or("-")),
        format!("alias: {}", row.alias.as_deref().unwrap_or("-")),
        format!("sign-in: {}", row.sign_in),
        format!("region: {}", row.region.as_deref().unwrap_or("-")),
        format!("status: {status}"),
        String::new(),
        "Enter switches to it (the active account's place); > moves the keys to the next \
         account shown."
            .into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, status: ProfileStatus) -> ProfileRow {
        ProfileRow {
            name: name.into(),
            sign_in: "keys".into(),
            region: Some("us-east-1".into()),
            account_id: None,
            alias: None,
            status,
        }
    }

    #[test]
    fn shown_profiles_come_first_and_each_says_where_it_stands() {
        let model = list(&[
            row("alpha", ProfileStatus::Available),
            row("prod", ProfileStatus::Active),
            row(
                "sso",
                ProfileStatus::SignInNeeded("aws sso login --profile sso".into()),
            ),
            row("dr", ProfileStatus::Failed("no credentials".into())),
        ]);
        let names: Vec<&str> = model.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(names, ["prod", "alpha", "dr", "sso"]);
        let status = |i: usize| match &model.rows[i].cells[5] {
            Cell::Text(text, _) => text.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(status(0), "shown (keys go here)");
        assert_eq!(status(2), "failed: no credentials");
        assert!(status(3).contains("Enter runs `aws sso login --profile sso`"));
        assert!(
            model.rows[0].haystack.contains("prod"),
            "the filter finds it"
        );
    }
}
