//! `--profiles` is checked against the profiles of the shared AWS files before any call is made.

use std::net::TcpListener;

use haven_tests::haven;
use predicates::prelude::*;

/// An endpoint nothing listens on: a call made would fail with "cannot reach" (exit 1).
fn closed_endpoint() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    format!("http://127.0.0.1:{port}")
}

fn home_with_profiles() -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        home.path().join("aws-config"),
        "[profile prod]\nregion = us-east-1\n[profile dr]\nregion = us-west-2\n",
    )
    .expect("config");
    std::fs::write(
        home.path().join("aws-credentials"),
        "[prod]\naws_access_key_id = test\naws_secret_access_key = test\n",
    )
    .expect("credentials");
    home
}

#[test]
fn an_unknown_profile_is_named_with_the_valid_ones_before_any_call() {
    let home = home_with_profiles();
    let assert = haven(&closed_endpoint(), &home)
        .args(["snapshot", "--profiles", "prod,staging"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--profiles `staging`: no such profile in the AWS shared config files; the profiles \
             are: dr, prod",
        ))
        .stderr(predicate::str::contains("cannot reach").not());
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "one message: {stderr}");

    haven(&closed_endpoint(), &home)
        .args(["snapshot", "--profile", "prod", "--profiles", "prod,dr"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

#[test]
fn one_profile_is_used_as_with_profile_and_several_are_for_the_dashboard_only() {
    let home = home_with_profiles();
    let endpoint = closed_endpoint();
    // It goes on to connect, in the profile's Region: the closed endpoint is the first failure.
    haven(&endpoint, &home)
        .args(["snapshot", "--profiles", "prod"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("cannot reach {endpoint}")));
    haven(&endpoint, &home)
        .args(["snapshot", "--profiles", "prod,dr"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "this command works on one account (--profile NAME); the dashboard shows several \
             side by side (haven --profiles prod,dr)",
        ))
        .stderr(predicate::str::contains("cannot reach").not());
}
