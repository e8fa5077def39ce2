//! Several accounts, as a person sees them: two profiles pointing at two moto servers (two
//! accounts) side by side on the map, a profile without credentials showing why while the
//! others keep working, `:profile` listing the profiles of the shared files with where each
//! stands (an expired SSO session with the command that renews it) and switching.

use haven_testkit::{MotoServer, lab};
use haven_tests::tmux::Tmux;
use haven_tests::{haven_bin, moto_query};

/// The shared AWS files: `prod` and `staging` on the first server, `dr` on the second,
/// `broken` with no credentials, `sso` signing in with IAM Identity Center (never logged in).
fn aws_files(home: &tempfile::TempDir, first: &str, second: &str) {
    let config = format!(
        "[profile prod]\nregion = ap-northeast-2\nendpoint_url = {first}\n\
         [profile staging]\nregion = ap-northeast-2\nendpoint_url = {first}\n\
         [profile dr]\nregion = ap-northeast-2\nendpoint_url = {second}\n\
         [profile broken]\nregion = ap-northeast-2\nendpoint_url = {second}\n\
         [profile sso]\nsso_session = corp\nsso_account_id = 333333333333\n\
         sso_role_name = ReadOnly\nregion = ap-northeast-2\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n\
         sso_region = us-east-1\n"
    );
    std::fs::write(home.path().join("aws-config"), config).expect("config");
    let keys = "aws_access_key_id = test\naws_secret_access_key = test\n";
    std::fs::write(
        home.path().join("aws-credentials"),
        format!("[prod]\n{keys}[staging]\n{keys}[dr]\n{keys}"),
    )
    .expect("credentials");
}

/// A stand-in for the AWS CLI's `aws sso login`: prints the device page and code, waits for
/// the person, then fails as the CLI does when the authorization expires.
const AWS_CLI: &str = "#!/bin/sh\n\
    echo 'If the browser does not open, open the following URL:'; echo\n\
    echo 'https://device.sso.us-east-1.amazonaws.com/'; echo\n\
    echo 'Then enter the code:'; echo; echo 'WDDD-HRQV'\n\
    sleep 3\n\
    echo 'Error when retrieving token from sso: Token has expired and refresh failed' >&2\n\
    exit 255\n";

/// `haven --profiles …` in a clean environment that has only the shared files, and the
/// stand-in AWS CLI first on PATH.
fn command(home: &tempfile::TempDir, args: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    std::fs::write(bin.join("aws"), AWS_CLI).expect("aws");
    std::fs::set_permissions(bin.join("aws"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    let h = home.path().display();
    format!(
        "env -i PATH=\"{h}/bin:$PATH\" HOME={h} TERM=xterm-256color AWS_CONFIG_FILE={h}/aws-config \
         AWS_SHARED_CREDENTIALS_FILE={h}/aws-credentials AWS_MAX_ATTEMPTS=1 \
         AWS_EC2_METADATA_DISABLED=true HAVEN_CONFIG_DIR={h}/config HAVEN_CACHE_DIR={h}/cache \
         HAVEN_DATA_DIR={h}/data {bin} --regions ap-northeast-2 {args}; \
         echo \"haven exited $?\"; sleep 60",
        bin = haven_bin().display(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn two_accounts_side_by_side_a_broken_profile_says_why_and_profile_switches() {
    let prod = MotoServer::start_as_account("111111111111").expect("moto prod");
    let dr = MotoServer::start_as_account("222222222222").expect("moto dr");
    let (first, second) = (prod.endpoint(), dr.endpoint());
    let (built_prod, built_dr) = tokio::join!(lab::build(&first), lab::build(&second));
    built_prod.expect("lab in prod");
    built_dr.expect("lab in dr");
    moto_query(
        &dr.endpoint(),
        "us-east-1",
        "iam",
        &[
            ("Action", "CreateAccountAlias"),
            ("AccountAlias", "acme-dr"),
            ("Version", "2010-05-08"),
        ],
    );
    let home = tempfile::tempdir().expect("temp dir");
    aws_files(&home, &prod.endpoint(), &dr.endpoint());
    let tmux = Tmux::start_sized(&command(&home, "--profiles prod,dr,broken"), 200, 50);

    // Side by side: each account names itself over its own map (its own lab VPC).
    let screen = tmux.wait_for(&[
        "▶ prod │ acct 111111111111 · prod",
        "dr │ acct 222222222222 (acme-dr) · dr",
        "broken  ✗ cannot sign in",
        "broken: no AWS credentials",
    ]);
    let both = |screen: &str| {
        screen
            .lines()
            .any(|l| l.matches("VPC lab-vpc vpc-").count() == 2)
    };
    // Each account's pieces arrive on their own: wait until both maps have their network.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut screen = screen;
    while !both(&screen) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
        screen = tmux.screen();
    }
    assert!(both(&screen), "both accounts' maps on one line:\n{screen}");
    // The broken profile did not stop the others: they have read and show no sign-in error.
    let header = tmux.wait_read();
    let header = header.lines().next().unwrap_or_default();
    assert!(header.contains("acct 111111111111 · prod"), "{header}");

    // `:profile`: every profile of the shared files, and where each stands.
    tmux.keys(&[":profile", "Enter"]);
    let screen = tmux.wait_for(&["Profiles and accounts", "shown (keys go here)"]);
    let row = |name: &str| {
        screen
            .lines()
            .find(|l| l.starts_with(&format!("│{name} ")))
            .unwrap_or_else(|| panic!("no {name} row:\n{screen}"))
            .to_string()
    };
    assert!(row("prod").contains("111111111111"), "{screen}");
    assert!(row("prod").contains("shown (keys go here)"), "{screen}");
    assert!(row("dr").contains("acme-dr"), "{screen}");
    assert!(
        row("broken").contains("failed: no AWS credentials"),
        "{screen}"
    );
    assert!(
        row("sso").contains(
            "SSO session expired or not started: Enter runs `aws sso login --profile sso`"
        ),
        "{screen}"
    );
    assert!(!row("staging").contains("shown"), "{screen}");

    // Switching to an expired SSO profile runs `aws sso login` (here a stand-in for the AWS
    // CLI): the page and code it prints are said; its failure is said; nothing else changes.
    tmux.keys(&["Escape", ":profile sso", "Enter"]);
    let screen = tmux.wait_for(&[
        "open https://device.sso.us-east-1.amazonaws.com/ and enter the code WDDD-HRQV",
    ]);
    assert!(screen.contains("▶ prod"), "{screen}");
    let screen = tmux.wait_for(&["failed: Error when retrieving token from sso"]);
    assert!(screen.contains("▶ prod"), "{screen}");

    // Switching to a profile not shown signs in to it in the active account's place.
    tmux.keys(&[":profile staging", "Enter"]);
    let screen = tmux.wait_for(&["▶ staging │ acct 111111111111 · staging"]);
    assert!(
        !screen.contains("· prod"),
        "staging took prod's place:\n{screen}"
    );
    assert!(
        screen.contains("acct 222222222222 (acme-dr) · dr"),
        "{screen}"
    );

    // `>` moves the keys to the next account; the header says whose they are.
    tmux.keys(&[">"]);
    let screen = tmux.wait_for(&["▶ dr │"]);
    let header = screen.lines().next().unwrap_or_default();
    assert!(
        header.contains("acct 222222222222 (acme-dr) · dr"),
        "{header}"
    );
}

/// `[[accounts]]` in config.toml, assume-role included: the second entry assumes a role in
/// another account on top of the first's profile, and shows that account beside it.
#[tokio::test(flavor = "multi_thread")]
async fn accounts_of_config_toml_are_shown_side_by_side_and_a_role_is_assumed_in_its_account() {
    // moto's own account (123456789012): a server started as one account (MOTO_ACCOUNT_ID)
    // answers every call as that account, assumed roles included.
    let prod = MotoServer::start().expect("moto prod");
    lab::build(&prod.endpoint()).await.expect("lab in prod");
    let home = tempfile::tempdir().expect("temp dir");
    aws_files(&home, &prod.endpoint(), &prod.endpoint());
    std::fs::create_dir_all(home.path().join("config")).expect("config dir");
    std::fs::write(
        home.path().join("config/config.toml"),
        "[[accounts]]\nname = \"prod\"\nprofile = \"prod\"\n\n\
         [[accounts]]\nname = \"audit\"\nprofile = \"prod\"\n\
         role_arn = \"arn:aws:iam::333333333333:role/haven-audit\"\n\
         external_id = \"haven-audit\"\n",
    )
    .expect("config.toml");
    let tmux = Tmux::start_sized(&command(&home, ""), 200, 50);
    let screen = tmux.wait_for(&[
        "▶ prod │ acct 123456789012 · prod",
        "audit │ acct 333333333333",
        "VPC lab-vpc vpc-",
    ]);
    assert!(
        !screen.contains("cannot sign in"),
        "both accounts signed in:\n{screen}"
    );
    // The keys go to the assumed role's account: its header names it.
    tmux.keys(&[">"]);
    let screen = tmux.wait_for(&["▶ audit │"]);
    let header = screen.lines().next().unwrap_or_default();
    assert!(header.contains("acct 333333333333"), "{header}");
}
