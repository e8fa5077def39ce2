//! IAM.1, IAM.6, IAM.8 and SEC-ADMIN-MFA on the lab fixture: each passes on the healthy lab
//! and fails once the lab is mutated the way a real account goes wrong.

use chrono::Duration;

use super::*;
use crate::topology::{Iam, ManagedPolicy, allow_statements};

fn healthy() -> Topology {
    Topology::from_json(include_str!("../../../../assets/fixtures/lab-healthy.json"))
        .expect("fixture")
}

fn iam(t: &mut Topology) -> &mut Iam {
    t.iam.as_mut().expect("iam")
}

fn found(t: &Topology, id: &str) -> Vec<(String, String)> {
    assess(t, &Policy::default())
        .into_iter()
        .filter(|f| f.id == id)
        .map(|f| (f.resource.id, f.evidence))
        .collect()
}

fn policy(name: &str, document: &str) -> ManagedPolicy {
    ManagedPolicy {
        name: name.into(),
        arn: format!("arn:aws:iam::123456789012:policy/{name}"),
        attachment_count: 1,
        boundary_count: 0,
        allows: allow_statements(document).expect("a policy document"),
    }
}

const STAR_STAR: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D";

#[test]
fn the_healthy_lab_passes_the_iam_access_checks() {
    let t = healthy();
    for id in ["IAM.1", "IAM.6", "IAM.8", "SEC-ADMIN-MFA"] {
        assert!(found(&t, id).is_empty(), "{id}: {:?}", found(&t, id));
    }
}

#[test]
fn a_customer_policy_allowing_star_on_star_fails_iam_1_unless_it_is_only_a_boundary() {
    let mut t = healthy();
    let scoped = r#"{"Statement":[{"Effect":"Allow","Action":["s3:*","ec2:Describe*"],"Resource":"*"},
        {"Effect":"Deny","Action":"*","Resource":"*"}]}"#;
    let on_a_bucket =
        r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/*"}}"#;
    iam(&mut t).customer_policies = Some(vec![
        policy("everything", STAR_STAR),
        policy("scoped", scoped),
        policy("one-bucket", on_a_bucket),
    ]);
    let failed = found(&t, "IAM.1");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "everything");
    // Used only as a permissions boundary, it grants nothing: excluded, as Security Hub does.
    iam(&mut t).customer_policies.as_mut().expect("read")[0].boundary_count = 1;
    assert!(found(&t, "IAM.1").is_empty());
    // Policies that could not be read are not judged.
    iam(&mut t).customer_policies = None;
    assert!(found(&t, "IAM.1").is_empty());
}

#[test]
fn a_virtual_mfa_device_on_root_fails_iam_6_and_an_unread_one_is_not_judged() {
    let mut t = healthy();
    iam(&mut t).account.root_virtual_mfa = Some(true);
    let failed = found(&t, "IAM.6");
    assert_eq!(failed.len(), 1);
    assert!(failed[0].1.contains("virtual"), "{failed:?}");
    iam(&mut t).account.root_virtual_mfa = None;
    assert!(found(&t, "IAM.6").is_empty());
    // No MFA at all is no hardware MFA either.
    iam(&mut t).account.root_mfa_enabled = Some(false);
    assert_eq!(found(&t, "IAM.6").len(), 1);
}

#[test]
fn credentials_unused_for_90_days_fail_iam_8() {
    let mut t = healthy();
    let now = t.taken_at;
    let user = &mut iam(&mut t).users[0];
    user.password_last_used = Some(now - Duration::days(120));
    let failed = found(&t, "IAM.8");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, "lab-alice");
    assert!(failed[0].1.contains("password last used"), "{failed:?}");

    let mut t = healthy();
    let user = &mut iam(&mut t).users[0];
    user.created_at = Some(now - Duration::days(200));
    user.access_keys[0].created_at = Some(now - Duration::days(200));
    user.access_keys[0].last_used = None;
    let failed = found(&t, "IAM.8");
    assert_eq!(
        failed.len(),
        1,
        "a key never used since its creation 200 days ago"
    );
    assert!(failed[0].1.contains("last used never"), "{failed:?}");
    // A key whose last use could not be read is not judged; an inactive one does not count.
    iam(&mut t).users[0].access_keys[0].last_used_read = false;
    assert!(found(&t, "IAM.8").is_empty());
    let key = &mut iam(&mut t).users[0].access_keys[0];
    key.last_used_read = true;
    key.status = "Inactive".into();
    assert!(found(&t, "IAM.8").is_empty());
}

#[test]
fn an_administrator_without_mfa_fails_through_a_group_or_a_direct_policy() {
    let mut t = healthy();
    // lab-alice is an administrator through lab-operators (AdministratorAccess).
    iam(&mut t).users[0].mfa_devices.clear();
    let failed = found(&t, "SEC-ADMIN-MFA");
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].1.contains("through group lab-operators"),
        "{failed:?}"
    );

    // Out of the group, with a customer policy allowing everything attached directly.
    let i = iam(&mut t);
    i.users[0].groups.clear();
    assert!(
        found(&t, "SEC-ADMIN-MFA").is_empty(),
        "no admin rights left"
    );
    let everything = policy("everything", STAR_STAR);
    let i = iam(&mut t);
    i.users[0].attached_policy_arns.push(everything.arn.clone());
    i.customer_policies = Some(vec![everything]);
    assert_eq!(found(&t, "SEC-ADMIN-MFA").len(), 1);
    // Without console access there is no password to phish.
    iam(&mut t).users[0].console_access = false;
    assert!(found(&t, "SEC-ADMIN-MFA").is_empty());
}
