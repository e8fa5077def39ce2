//! Several accounts on one desk: side by side on the map, the keys going to one, an account
//! that cannot sign in saying why while the others work, `:profile` switching.

use super::*;

use crate::dashboard::profiles::{ProfileRow, ProfileStatus};

/// The lab fixture as account `id`.
fn account(id: &str) -> Topology {
    let mut topology = fixture("lab-healthy.json");
    topology.account_id = Some(id.into());
    if let Some(iam) = &mut topology.iam
        && id == "222222222222"
    {
        iam.account.alias = Some("acme-dr".into());
    }
    topology
}

/// An account shown from its cache at once (the read brings the same).
fn view(name: &str, id: &str) -> AccountView {
    let topology = account(id);
    AccountView {
        name: name.into(),
        source: Arc::new(FixtureSource(topology.clone())),
        options: DashboardOptions {
            cached: Some(topology.clone()),
            profile: Some(name.into()),
            ..options(&topology)
        },
    }
}

/// Signs in to `staging` (account 333333333333); anything else fails.
struct Connect;

impl Connector for Connect {
    fn choices(&self) -> Vec<ProfileRow> {
        ["broken", "dr", "prod", "sso", "staging"]
            .iter()
            .map(|name| ProfileRow {
                name: (*name).into(),
                sign_in: "keys".into(),
                region: Some("ap-northeast-2".into()),
                account_id: None,
                alias: None,
                status: ProfileStatus::Available,
            })
            .collect()
    }

    fn connect(&self, name: String, say: Say) -> BoxFuture<'static, Result<AccountView, String>> {
        async move {
            match name.as_str() {
                "staging" => Ok(view("staging", "333333333333")),
                // An SSO login waiting for the person: what it asks is said meanwhile.
                "sso" => {
                    say("sso: signing in with IAM Identity Center: open \
                         https://device.sso.us-east-1.amazonaws.com/ and enter the code WDDD-HRQV"
                        .into());
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    Err("the login was not finished".to_string())
                }
                _ => Err("no AWS credentials found".to_string()),
            }
        }
        .boxed()
    }
}

/// Runs a desk of prod, dr and a `broken` account through `events`, then lets background
/// work land for a moment before the stream ends; returns the desk and the last screen.
async fn open_desk(events: Vec<Event>) -> (Desk, String) {
    let topology = account("111111111111");
    let openings = vec![
        Opening::Ready(Box::new(view("prod", "111111111111"))),
        Opening::Ready(Box::new(view("dr", "222222222222"))),
        Opening::Failed {
            name: "broken".into(),
            reason: "no AWS credentials found (profile `broken`)".into(),
        },
    ];
    let settle = futures::stream::once(async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Event::FocusGained
    });
    let events = futures::stream::iter(events).chain(settle);
    let mut terminal = Terminal::new(TestBackend::new(200, 48)).unwrap();
    let desk = run_desk(
        &mut terminal,
        Box::pin(events),
        openings,
        options(&topology),
        Some(Arc::new(Connect)),
    )
    .await
    .unwrap();
    let text = text_of(terminal.backend().buffer());
    (desk, text)
}

#[tokio::test]
async fn accounts_stand_side_by_side_and_one_that_cannot_sign_in_says_why() {
    let (desk, text) = open_desk(Vec::new()).await;
    assert_eq!(desk.seats.len(), 3);
    let header = text.lines().next().unwrap();
    assert!(header.contains("acct 111111111111 · prod"), "{header}");
    // One line names the three accounts, left to right, the active one marked.
    let names = text
        .lines()
        .find(|l| l.contains("▶ prod"))
        .unwrap_or_else(|| panic!("{text}"));
    let at = |word: &str| {
        names
            .find(word)
            .unwrap_or_else(|| panic!("{word}: {names}"))
    };
    assert!(at("acct 111111111111") < at("acct 222222222222 (acme-dr) · dr"));
    assert!(at("acct 222222222222") < at("broken  ✗ cannot sign in"));
    // Both maps are drawn, side by side: the lab's VPC twice on one line.
    assert!(
        text.lines().any(|l| l.matches("VPC lab-vpc").count() == 2),
        "{text}"
    );
    assert!(text.contains("ALB lab-alb"), "{text}");
    assert!(text.contains("broken: no AWS credentials found"), "{text}");
}

#[tokio::test]
async fn the_keys_move_to_the_next_account_and_profile_lists_where_each_stands() {
    let (desk, text) = open_desk(keys(">:profile\n")).await;
    assert_eq!(desk.active().name, "dr");
    let header = text.lines().next().unwrap();
    assert!(
        header.contains("acct 222222222222 (acme-dr) · dr"),
        "{header}"
    );
    let row = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("│{name} ")))
            .unwrap_or_else(|| panic!("no {name} row:\n{text}"))
            .to_string()
    };
    assert!(row("dr").contains("shown (keys go here)"), "{text}");
    assert!(row("dr").contains("222222222222"), "{text}");
    assert!(row("dr").contains("acme-dr"), "{text}");
    assert!(row("prod").contains("shown"), "{text}");
    assert!(
        row("broken").contains("failed: no AWS credentials"),
        "{text}"
    );
    assert!(!row("staging").contains("shown"), "{text}");
}

#[tokio::test]
async fn profile_signs_in_to_another_account_in_the_active_place() {
    let (desk, text) = open_desk(keys(":profile staging\n")).await;
    let names: Vec<&str> = desk.seats.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["staging", "dr", "broken"], "prod's place");
    assert_eq!(desk.active().name, "staging");
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains("acct 333333333333 · staging"),
        "{text}"
    );

    // A profile that cannot sign in leaves everything as it was and says why.
    let (desk, text) = open_desk(keys(":profile dr\n:profile prod2\n")).await;
    assert_eq!(
        desk.active().name,
        "dr",
        "dr was shown: the keys went to it"
    );
    assert_eq!(desk.seats.len(), 3);
    let footer = text.lines().last().unwrap();
    assert!(
        footer.contains("prod2: no AWS credentials found"),
        "{footer}"
    );
}

#[tokio::test]
async fn an_sso_login_started_by_profile_says_what_it_asks_of_the_person() {
    let (desk, text) = open_desk(keys(":profile sso\n")).await;
    let footer = text.lines().last().unwrap();
    assert!(
        footer.contains(
            "open https://device.sso.us-east-1.amazonaws.com/ and enter the code WDDD-HRQV"
        ),
        "{footer}"
    );
    assert_eq!(
        desk.active().name,
        "prod",
        "nothing moved while the login waits"
    );

    // `:profile` keeps what the login asks on the profile's row while it waits.
    let (_, text) = open_desk(keys(":profile sso\n:profile\n")).await;
    let row = text
        .lines()
        .find(|l| l.starts_with("│sso "))
        .unwrap_or_else(|| panic!("no sso row:\n{text}"));
    assert!(
        row.contains("signing in with IAM Identity Center: open"),
        "{row}"
    );
}
