//! IAM in the plan: entities found by name that are not the stack's, and the password policy.

use super::*;
use crate::blueprint;
use crate::topology::{IamGroup, IamRole, IamUser, PasswordPolicy};

const LAB: &str = include_str!("../../../../assets/blueprints/lab.toml");

fn lab_blueprint() -> Blueprint {
    blueprint::parse(LAB, "lab.toml", &|_| true).expect("lab.toml")
}

/// An account where someone made `SSMInstanceRole`, `lab-operators` and `alice` by hand.
fn hand_made() -> Topology {
    let mut topology = Topology::new(chrono::Utc::now());
    topology.iam = Some(Iam {
        roles: vec![IamRole {
            name: "SSMInstanceRole".into(),
            arn: "arn:aws:iam::123456789012:role/SSMInstanceRole".into(),
            path: "/".into(),
            trusted_services: vec!["ssm.amazonaws.com".into()],
            attached_policy_arns: vec![],
            tags: Tags::new(),
        }],
        groups: vec![IamGroup {
            name: "lab-operators".into(),
            arn: "arn:aws:iam::123456789012:group/lab-operators".into(),
            attached_policy_arns: vec![],
        }],
        users: vec![IamUser {
            name: "alice".into(),
            arn: "arn:aws:iam::123456789012:user/alice".into(),
            created_at: None,
            console_access: true,
            password_last_used: None,
            mfa_devices: vec![],
            access_keys: vec![],
            groups: vec![],
            attached_policy_arns: vec![],
            tags: Tags::new(),
        }],
        ..Iam::default()
    });
    topology
}

#[test]
fn b9_same_named_iam_that_is_not_the_stacks_is_a_conflict_naming_what_would_change() {
    let plan = plan(&lab_blueprint(), &hand_made());
    let names: Vec<String> = plan
        .conflicts
        .iter()
        .map(|c| c.resource.to_string())
        .collect();
    assert_eq!(
        names,
        vec![
            "iam-role/SSMInstanceRole",
            "iam-group/lab-operators",
            "iam-user/alice"
        ]
    );
    let role = &plan.conflicts[0];
    assert_eq!(role.arn, "arn:aws:iam::123456789012:role/SSMInstanceRole");
    assert!(
        role.changes[0].contains("tag it haven:stack=lab"),
        "{:?}",
        role.changes
    );
    assert!(
        role.changes
            .iter()
            .any(|c| c.contains("replace its trust policy")),
        "{:?}",
        role.changes
    );
    assert!(
        role.changes
            .iter()
            .any(|c| c.contains("attach arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")),
        "{:?}",
        role.changes
    );
    let group = &plan.conflicts[1];
    assert!(
        group.changes[0].contains("move it to path /haven/lab/"),
        "{:?}",
        group.changes
    );
    assert!(
        group.describe().contains("AdministratorAccess"),
        "{}",
        group.describe()
    );
    assert!(
        plan.conflicts[2]
            .describe()
            .contains("add to lab-operators")
    );
}

#[test]
fn b9_an_adopted_entity_is_the_stacks_and_no_conflict() {
    let mut topology = hand_made();
    let iam = topology.iam.as_mut().expect("iam");
    iam.roles[0].tags = haven_tags("lab", "SSMInstanceRole", "SSMInstanceRole");
    iam.users[0].tags = haven_tags("lab", "alice", "alice");
    iam.groups[0].arn = "arn:aws:iam::123456789012:group/haven/lab/lab-operators".into();
    let plan = plan(&lab_blueprint(), &topology);
    assert_eq!(plan.conflicts, vec![]);
    // Another stack's tag is not ours.
    let iam = topology.iam.as_mut().expect("iam");
    iam.roles[0].tags = haven_tags("other", "SSMInstanceRole", "SSMInstanceRole");
    let again = super::plan(&lab_blueprint(), &topology);
    assert_eq!(again.conflicts.len(), 1);
}

#[test]
fn b9_the_password_policy_changes_only_when_asked_and_shows_old_and_new() {
    let mut topology = hand_made();
    topology.iam.as_mut().expect("iam").password_policy = Some(PasswordPolicy {
        minimum_length: Some(8),
        require_symbols: true,
        require_numbers: true,
        require_uppercase: true,
        require_lowercase: true,
        allow_users_to_change: true,
        max_age_days: None,
        reuse_prevention: Some(5),
        hard_expiry: false,
    });
    let blueprint = lab_blueprint();
    let plan = plan(&blueprint, &topology);
    let step = plan
        .step(ResourceKind::PasswordPolicy, "account")
        .expect("password policy step");
    assert_eq!(step.op, Op::Update);
    for change in [
        "minimum length 8 → 14",
        "max age never → 90 days",
        "reuse prevention 5 → 24",
    ] {
        assert!(step.detail.contains(change), "{change} in {}", step.detail);
    }
    let mut without = blueprint.clone();
    without.iam.password_policy = None;
    let plan = super::plan(&without, &topology);
    assert!(plan.step(ResourceKind::PasswordPolicy, "account").is_none());
}
