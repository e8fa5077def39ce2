//! IAM that haven did not create (B9): a role, group and user made by hand with the names
//! `lab.toml` uses stop `haven up` and `haven plan` before any call, stay exactly as they were,
//! and `haven up --adopt` takes them over. A profile holding another role is never swapped.

use std::path::{Path, PathBuf};
use std::process::Output;

use haven_model::{Iam, Topology};
use haven_testkit::{Faults, MotoServer, Proxy};
use haven_tests::{haven, is_mutating, moto_query, text};

const PRIMARY: &str = "ap-northeast-2";
const SSM_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn lab() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/blueprints/lab.toml")
}

fn run(endpoint: &str, home: &tempfile::TempDir, args: &[&str]) -> Output {
    haven(endpoint, home)
        .args(args)
        .output()
        .expect("run haven")
}

fn iam_call(endpoint: &str, params: &[(&str, &str)]) -> String {
    let mut all = params.to_vec();
    all.push(("Version", "2010-05-08"));
    moto_query(endpoint, "us-east-1", "iam", &all)
}

/// The role, group and user `lab.toml` names, made by hand at the root path: the role trusted
/// by SSM only, the user in no group.
fn make_by_hand(endpoint: &str) {
    iam_call(
        endpoint,
        &[
            ("Action", "CreateRole"),
            ("RoleName", "SSMInstanceRole"),
            ("AssumeRolePolicyDocument", SSM_TRUST),
        ],
    );
    iam_call(
        endpoint,
        &[("Action", "CreateGroup"), ("GroupName", "lab-operators")],
    );
    iam_call(endpoint, &[("Action", "CreateUser"), ("UserName", "alice")]);
}

fn iam(endpoint: &str, home: &tempfile::TempDir) -> Iam {
    let output = run(
        endpoint,
        home,
        &["--region", PRIMARY, "snapshot", "--output", "json"],
    );
    assert!(output.status.success(), "{}", text(&output));
    Topology::from_json(&String::from_utf8_lossy(&output.stdout))
        .expect("topology")
        .iam
        .expect("IAM")
}

/// What someone else relies on: trust, attached policies, group membership, paths.
fn theirs(iam: &Iam) -> String {
    let role = iam.roles.iter().find(|r| r.name == "SSMInstanceRole");
    let group = iam.groups.iter().find(|g| g.name == "lab-operators");
    let user = iam.users.iter().find(|u| u.name == "alice");
    format!("{role:?}\n{group:?}\n{user:?}")
}

fn mutating(proxy: &Proxy) -> Vec<String> {
    proxy
        .requests()
        .iter()
        .filter(|r| is_mutating(&r.action))
        .map(|r| format!("{} {}", r.service, r.action))
        .collect()
}

#[test]
fn b9_same_named_iam_made_by_hand_stops_up_and_plan_and_adopt_takes_it_over() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    make_by_hand(&moto.endpoint());
    let before = iam(&moto.endpoint(), &home);
    let lab = lab();
    let lab = lab.to_str().expect("path");

    let plan = run(&proxy.endpoint(), &home, &["plan", lab]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    proxy.clear_requests();
    let up = run(&proxy.endpoint(), &home, &["up", lab, "--yes"]);
    assert_eq!(up.status.code(), Some(1), "{}", text(&up));
    let said = text(&up);
    for named in [
        "iam-role/SSMInstanceRole",
        "iam-group/lab-operators",
        "iam-user/alice",
        "replace its trust policy",
        "attach arn:aws:iam::aws:policy/AdministratorAccess",
        "add to lab-operators",
        "--adopt",
        "Nothing was sent",
    ] {
        assert!(said.contains(named), "{named} in: {said}");
    }
    assert_eq!(mutating(&proxy), Vec::<String>::new(), "nothing was sent");
    let after = iam(&moto.endpoint(), &home);
    assert_eq!(theirs(&after), theirs(&before), "nothing of them changed");
    assert!(
        after
            .roles
            .iter()
            .any(|r| r.name == "SSMInstanceRole" && r.trusted_services == ["ssm.amazonaws.com"])
    );

    proxy.clear_requests();
    let adopted = run(&proxy.endpoint(), &home, &["up", lab, "--adopt", "--yes"]);
    assert!(adopted.status.success(), "{}", text(&adopted));
    assert!(
        text(&adopted).contains(
            "--adopt: taking over iam-role/SSMInstanceRole, iam-group/lab-operators, \
             iam-user/alice"
        ),
        "{}",
        text(&adopted)
    );
    // The adoption marks: tags on the role and the user; the group, which IAM does not let
    // carry tags, moved under the stack's path.
    let sent = |action: &str| -> Vec<String> {
        proxy
            .requests()
            .iter()
            .filter(|r| r.action == action)
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect()
    };
    for (action, subject) in [("TagRole", "SSMInstanceRole"), ("TagUser", "alice")] {
        let bodies = sent(action);
        assert!(
            bodies
                .iter()
                .any(|b| b.contains(subject) && b.contains("haven%3Astack") && b.contains("lab")),
            "{action}: {bodies:?}"
        );
    }
    assert!(
        sent("UpdateGroup")
            .iter()
            .any(|b| b.contains("lab-operators") && b.contains("NewPath=%2Fhaven%2Flab%2F")),
        "{:?}",
        sent("UpdateGroup")
    );
    let taken = iam(&moto.endpoint(), &home);
    let role = taken
        .roles
        .iter()
        .find(|r| r.name == "SSMInstanceRole")
        .expect("role");
    assert_eq!(role.trusted_services, ["ec2.amazonaws.com"]);
    assert!(
        role.attached_policy_arns
            .iter()
            .any(|p| p.ends_with("AmazonSSMManagedInstanceCore"))
    );
    assert!(
        taken
            .users
            .iter()
            .any(|u| u.name == "alice" && u.groups == ["lab-operators"])
    );
    // Later runs see the tagged role and user as the stack's. (moto ignores UpdateGroup's
    // NewPath without a new name, so its group keeps the root path and stays a conflict there.)
    let again = text(&run(&proxy.endpoint(), &home, &["plan", lab]));
    assert!(!again.contains("iam-role/SSMInstanceRole ("), "{again}");
    assert!(!again.contains("iam-user/alice ("), "{again}");
}

#[test]
fn b9_a_profile_holding_another_role_is_not_swapped_and_the_error_says_so() {
    let moto = MotoServer::start().expect("moto");
    let home = tempfile::tempdir().expect("temp dir");
    let endpoint = moto.endpoint();
    iam_call(
        &endpoint,
        &[
            ("Action", "CreateRole"),
            ("RoleName", "other-role"),
            ("AssumeRolePolicyDocument", SSM_TRUST),
        ],
    );
    iam_call(
        &endpoint,
        &[
            ("Action", "CreateInstanceProfile"),
            ("InstanceProfileName", "SSMInstanceProfile"),
        ],
    );
    iam_call(
        &endpoint,
        &[
            ("Action", "AddRoleToInstanceProfile"),
            ("InstanceProfileName", "SSMInstanceProfile"),
            ("RoleName", "other-role"),
        ],
    );
    let lab = lab();
    let lab = lab.to_str().expect("path");
    let refused = run(&endpoint, &home, &["up", lab, "--yes"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        text(&refused).contains("iam-instance-profile/SSMInstanceProfile")
            || text(&refused).contains("instance-profile/SSMInstanceProfile"),
        "{}",
        text(&refused)
    );
    let adopted = run(&endpoint, &home, &["up", lab, "--yes", "--adopt"]);
    assert_eq!(adopted.status.code(), Some(1), "{}", text(&adopted));
    assert!(
        text(&adopted).contains("already holds role other-role"),
        "LimitExceeded is not swallowed: {}",
        text(&adopted)
    );
    let profile = iam(&endpoint, &home)
        .instance_profiles
        .into_iter()
        .find(|p| p.name == "SSMInstanceProfile")
        .expect("profile");
    assert_eq!(profile.role_names, ["other-role"]);
}

#[test]
fn b9_without_a_password_policy_section_the_account_policy_is_never_sent() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let blueprints = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/blueprints");
    let text_of = std::fs::read_to_string(blueprints.join("lab.toml")).expect("lab.toml");
    let start = text_of.find("[iam.password_policy]").expect("section");
    let end = text_of[start..].find("\n\n").expect("end of section") + start;
    let without = format!("{}{}", &text_of[..start], &text_of[end..]);
    std::fs::write(dir.path().join("lab.toml"), without).expect("write");
    std::fs::copy(
        blueprints.join("lab-user-data.sh"),
        dir.path().join("lab-user-data.sh"),
    )
    .expect("copy");
    let path = dir.path().join("lab.toml");
    let up = run(
        &proxy.endpoint(),
        &home,
        &["up", path.to_str().expect("path")],
    );
    assert!(up.status.success(), "{}", text(&up));
    assert!(
        !mutating(&proxy)
            .iter()
            .any(|c| c.contains("PasswordPolicy")),
        "{:?}",
        mutating(&proxy)
    );
    assert!(!text(&up).contains("password-policy"), "{}", text(&up));
}
