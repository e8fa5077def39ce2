//! An account's context built from a profile of shared config files (in a temp dir, as a user's
//! `~/.aws` would hold them), against moto: the profile's endpoint, Region and keys are used,
//! a role on top is assumed with the session name `haven`, and two profiles pointing at two
//! moto servers are two accounts.

use std::path::PathBuf;

use haven_aws::{AwsContext, ConnectOptions, SharedFiles};
use haven_model::accounts::{AccountSpec, SignIn};
use haven_testkit::MotoServer;

const SECOND_ACCOUNT: &str = "210987654321";

/// `config` and `credentials` in a fresh directory, as `SharedFiles`.
fn shared_files(name: &str, config: &str, credentials: &str) -> SharedFiles {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("haven-aws-accounts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let files = SharedFiles::in_dir(&dir);
    std::fs::write(&files.config, config).expect("config");
    std::fs::write(&files.credentials, credentials).expect("credentials");
    files
}

const TRUST_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_signs_in_to_its_endpoint_and_a_role_on_top_is_assumed_as_haven() {
    let moto = MotoServer::start().expect("moto_server");
    let endpoint = moto.endpoint();
    let files = shared_files(
        "one",
        &format!(
            "[profile lab]\nregion = ap-northeast-2\nendpoint_url = {endpoint}\n\
             [profile other]\nregion = us-west-2\n"
        ),
        "[lab]\naws_access_key_id = test\naws_secret_access_key = test\n",
    );
    let profiles = files.read_profiles().expect("profiles");
    assert_eq!(profiles.len(), 2);
    assert_eq!(profiles[0].name, "lab");
    assert_eq!(profiles[0].sign_in, SignIn::Static);
    assert_eq!(profiles[0].endpoint_url.as_deref(), Some(endpoint.as_str()));

    let base = ConnectOptions::default();
    let lab = AwsContext::for_account_in(&AccountSpec::for_profile("lab"), &base, &files).await;
    assert_eq!(lab.endpoint_url(), Some(endpoint.as_str()));
    assert_eq!(lab.default_region().as_deref(), Some("ap-northeast-2"));
    let identity = lab
        .caller_identity()
        .await
        .expect("the profile's keys work");
    assert_eq!(identity.account, "123456789012");
    assert!(!identity.arn.contains("assumed-role"), "{identity:?}");

    // A role made in that account, assumed on top of the profile's keys.
    let admin = haven_testkit::sdk_config_for(&endpoint, "us-east-1").await;
    let role = aws_sdk_iam::Client::new(&admin)
        .create_role()
        .role_name("haven-reader")
        .assume_role_policy_document(TRUST_POLICY)
        .send()
        .await
        .expect("role");
    let role_arn = role.role().expect("role").arn().to_string();
    let reader = AccountSpec {
        name: "reader".into(),
        profile: Some("lab".into()),
        role_arn: Some(role_arn),
        external_id: Some("haven-2026".into()),
        regions: Vec::new(),
    };
    let ctx = AwsContext::for_account_in(&reader, &base, &files).await;
    let identity = ctx.caller_identity().await.expect("the role is assumed");
    assert_eq!(
        identity.arn,
        "arn:aws:sts::123456789012:assumed-role/haven-reader/haven"
    );

    // A role in another account: the caller is that account.
    let cross = AccountSpec {
        name: "dr".into(),
        profile: Some("lab".into()),
        role_arn: Some(format!("arn:aws:iam::{SECOND_ACCOUNT}:role/haven-dr")),
        external_id: None,
        regions: vec!["us-east-1".into()],
    };
    let ctx = AwsContext::for_account_in(&cross, &base, &files).await;
    assert_eq!(
        ctx.default_region().as_deref(),
        Some("us-east-1"),
        "the account's first Region is its default, over the profile's, as with --regions"
    );
    let identity = ctx.caller_identity().await.expect("cross-account role");
    assert_eq!(identity.account, SECOND_ACCOUNT);
    assert_eq!(
        identity.arn,
        format!("arn:aws:sts::{SECOND_ACCOUNT}:assumed-role/haven-dr/haven")
    );

    // What the command line gives wins over the profile: here a Region.
    let base = ConnectOptions {
        region: Some("eu-west-1".into()),
        ..ConnectOptions::default()
    };
    let ctx = AwsContext::for_account_in(&AccountSpec::for_profile("lab"), &base, &files).await;
    assert_eq!(ctx.default_region().as_deref(), Some("eu-west-1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_profiles_pointing_at_two_moto_servers_are_two_accounts() {
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(MotoServer::start);
        let second = scope.spawn(|| MotoServer::start_as_account(SECOND_ACCOUNT));
        (
            first.join().expect("thread").expect("moto_server"),
            second
                .join()
                .expect("thread")
                .expect("moto_server as another account"),
        )
    });
    let files = shared_files(
        "two",
        &format!(
            "[profile prod]\nregion = ap-northeast-2\nendpoint_url = {}\n\
             [profile staging]\nregion = us-east-1\nendpoint_url = {}\n",
            first.endpoint(),
            second.endpoint()
        ),
        "[prod]\naws_access_key_id = prod\naws_secret_access_key = prod\n\
         [staging]\naws_access_key_id = staging\naws_secret_access_key = staging\n",
    );
    let base = ConnectOptions::default();
    let prod = AwsContext::for_account_in(&AccountSpec::for_profile("prod"), &base, &files).await;
    let staging =
        AwsContext::for_account_in(&AccountSpec::for_profile("staging"), &base, &files).await;
    assert_eq!(prod.endpoint_url(), Some(first.endpoint().as_str()));
    assert_eq!(staging.endpoint_url(), Some(second.endpoint().as_str()));
    assert_ne!(prod.endpoint_url(), staging.endpoint_url());
    let (prod_identity, staging_identity) =
        tokio::join!(prod.caller_identity(), staging.caller_identity());
    assert_eq!(prod_identity.expect("prod").account, "123456789012");
    assert_eq!(staging_identity.expect("staging").account, SECOND_ACCOUNT);
}

#[tokio::test]
async fn a_profile_without_credentials_fails_with_its_own_error_before_any_call() {
    let files = shared_files(
        "none",
        "[profile prod]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:1\n\
         [profile broken]\nrole_arn = arn:aws:iam::123456789012:role/r\n",
        "",
    );
    let base = ConnectOptions::default();
    let prod = AwsContext::for_account_in(&AccountSpec::for_profile("prod"), &base, &files).await;
    let error = prod
        .check_credentials()
        .await
        .expect_err("the profile has no credentials");
    let text = error.to_string();
    assert!(text.starts_with("no AWS credentials found"), "{text}");
    assert!(text.contains("prod"), "names the profile: {text}");
    let broken =
        AwsContext::for_account_in(&AccountSpec::for_profile("broken"), &base, &files).await;
    let text = broken
        .check_credentials()
        .await
        .expect_err("a role without a source")
        .to_string();
    assert!(
        text.contains("source_profile"),
        "says what is missing: {text}"
    );
}
