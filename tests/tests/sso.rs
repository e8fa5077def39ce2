//! Signing in with IAM Identity Center, end to end: a profile whose SSO session the AWS CLI has
//! logged in to (its token in `~/.aws/sso/cache`) gets its role's credentials from the portal
//! and reads the account with them, keeping them out of every output; once the token has
//! expired, haven names the command that renews it and asks the portal nothing.

use chrono::{DateTime, Duration, Utc};
use haven_testkit::MotoServer;
use haven_testkit::scripted::ScriptedEndpoint;

/// What the portal and the login hand out: none of it may show anywhere.
const ACCESS_TOKEN: &str = "sso-access-token-Wd33x";
const PORTAL_SECRET: &str = "portal-secret-key-Zx81q";
const PORTAL_SESSION: &str = "portal-session-token-Qm42k";

/// The IAM Identity Center portal: `GetRoleCredentials` answers the role's credentials for an
/// hour.
fn portal() -> ScriptedEndpoint {
    ScriptedEndpoint::serve(|request| {
        if !request.target.starts_with("GET /federation/credentials") {
            return (404, r#"{"message":"not the portal"}"#.into());
        }
        let expiration = (Utc::now() + Duration::hours(1)).timestamp_millis();
        (
            200,
            format!(
                r#"{{"roleCredentials":{{"accessKeyId":"ASIAPORTAL","secretAccessKey":"{PORTAL_SECRET}","sessionToken":"{PORTAL_SESSION}","expiration":{expiration}}}}}"#
            ),
        )
    })
}

/// The shared files of one SSO profile: its calls go to moto, the portal's to `portal` (a
/// service-specific endpoint, as the shared config files allow), and the token the AWS CLI's
/// `aws sso login` would have left for the session `corp`, valid until `expires`.
fn home(moto: &str, portal: &str, expires: DateTime<Utc>) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        home.path().join("aws-config"),
        format!(
            "[profile corp-admin]\nsso_session = corp\nsso_account_id = 333333333333\n\
             sso_role_name = Admin\nregion = ap-northeast-2\nendpoint_url = {moto}\n\
             services = local-portal\n\
             [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n\
             sso_region = us-east-1\n\
             [services local-portal]\nsso =\n  endpoint_url = {portal}\n"
        ),
    )
    .expect("config");
    // The CLI names the file after the SHA-1 of the session's name.
    let cache = home.path().join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).expect("cache dir");
    std::fs::write(
        cache.join("ee0bfd2552fbd840c02cc48b6e823320543c450f.json"),
        format!(
            r#"{{"startUrl":"https://corp.awsapps.com/start","region":"us-east-1","accessToken":"{ACCESS_TOKEN}","expiresAt":"{}"}}"#,
            expires.format("%Y-%m-%dT%H:%M:%SZ")
        ),
    )
    .expect("token");
    home
}

fn snapshot(home: &tempfile::TempDir) -> std::process::Output {
    haven_tests::isolated(home)
        .args(["--profile", "corp-admin", "snapshot", "-o", "json"])
        .output()
        .expect("run haven")
}

#[test]
fn a_logged_in_sso_profile_reads_the_account_with_the_portals_credentials() {
    let moto = MotoServer::start().expect("moto");
    let portal = portal();
    let home = home(
        &moto.endpoint(),
        portal.url(),
        Utc::now() + Duration::hours(8),
    );
    let output = snapshot(&home);
    let all = haven_tests::text(&output);
    assert!(output.status.success(), "{all}");
    let topology =
        haven_model::Topology::from_json(&String::from_utf8_lossy(&output.stdout)).expect("json");
    assert_eq!(topology.regions[0].region, "ap-northeast-2");

    // The portal was asked for the profile's role in its account, with the login's token.
    let asked = portal.requests();
    assert!(!asked.is_empty(), "the portal was never asked");
    for request in &asked {
        assert!(
            request.target.contains("role_name=Admin")
                && request.target.contains("account_id=333333333333"),
            "{}",
            request.target
        );
        assert_eq!(request.header("x-amz-sso_bearer_token"), Some(ACCESS_TOKEN));
    }

    // None of the secrets reaches the output or haven's files.
    let mut written = all.clone();
    for dir in ["config", "cache", "data"] {
        for file in files_under(&home.path().join(dir)) {
            written.push_str(&std::fs::read_to_string(file).unwrap_or_default());
        }
    }
    for secret in [ACCESS_TOKEN, PORTAL_SECRET, PORTAL_SESSION] {
        assert!(!written.contains(secret), "`{secret}` leaked");
    }
}

#[test]
fn an_expired_sso_login_names_the_command_that_renews_it_and_asks_the_portal_nothing() {
    let moto = MotoServer::start().expect("moto");
    let portal = portal();
    let home = home(
        &moto.endpoint(),
        portal.url(),
        Utc::now() - Duration::minutes(5),
    );
    let output = snapshot(&home);
    let all = haven_tests::text(&output);
    assert_eq!(output.status.code(), Some(1), "{all}");
    // One sentence with the command to run, not the credential chain's list of every way in.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("profile `corp-admin` signs in with IAM Identity Center (SSO)")
            && stderr.contains("run `aws sso login --profile corp-admin`"),
        "{stderr}"
    );
    assert!(portal.requests().is_empty(), "{:?}", portal.requests());
    assert!(!all.contains(ACCESS_TOKEN), "{all}");
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                files_under(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}
