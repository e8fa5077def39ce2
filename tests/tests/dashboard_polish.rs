//! The dashboard's polish in a real terminal (tmux) against the lab in moto: the footer shows
//! the keys of the mode that is open, `0` shows every Region at 100 columns, `:jobs` shows a
//! finished job whole, and a cell too long for its column ends with `…`.

use haven_testkit::MotoServer;
use haven_testkit::lab;
use haven_tests::tmux::{Tmux, haven_command};

/// The last line of the screen that is not empty: the footer.
fn footer(screen: &str) -> String {
    screen
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn menu_footer_zero_at_100_columns_job_describe_and_cut_cells() {
    let moto = MotoServer::start().expect("moto");
    lab::build(&moto.endpoint()).await.expect("lab");
    let home = tempfile::tempdir().expect("temp dir");

    // 100 columns: two Region panels do not fit side by side.
    let tmux = Tmux::start_sized(&haven_command(&moto.endpoint(), &home, ""), 100, 40);
    tmux.wait_for(&["lab-alb", "updated"]);
    tmux.keys(&["1"]);
    let one = tmux.wait_for(&["ap-northeast-2 · primary"]);
    assert!(!one.contains("all 2 Regions"), "{one}");
    tmux.keys(&["0"]);
    // Every Region, one after another in one panel, the DR Region's title included.
    let all = tmux.wait_for(&["all 2 Regions", "▌ ap-northeast-2", "lab-alb"]);
    assert!(all.contains("lines 1-"), "the stacked map scrolls:\n{all}");
    tmux.keys(&["G"]);
    tmux.wait_for(&["▌ us-east-1"]);

    // A menu is open: the footer shows the menu's keys, not the list's, and each works.
    tmux.keys(&[":", "asg", "Enter"]);
    tmux.wait_for(&["Auto Scaling groups"]);
    tmux.keys(&["a"]);
    let menu = tmux.wait_for(&["Actions: Auto Scaling group lab-asg", "Set capacity"]);
    let keys = footer(&menu);
    for expected in ["k/j select", "enter choose", "esc close"] {
        assert!(keys.contains(expected), "footer `{keys}` lacks {expected}");
    }
    assert!(
        !keys.contains("filter"),
        "the list's keys under a menu: {keys}"
    );
    tmux.keys(&["j", "k", "Escape"]);
    let closed = tmux.wait_for(&["d describe"]);
    assert!(
        !closed.contains("Actions:"),
        "esc closes the menu:\n{closed}"
    );

    // An action, then `:jobs` and `d`: the whole job, its request id and the action log.
    tmux.keys(&["a", "Enter"]);
    tmux.wait_for(&["haven act asg-set-capacity lab-asg --desired 3"]);
    let dialog = footer(&tmux.screen());
    assert!(
        dialog.contains("enter run") && dialog.contains("esc cancel"),
        "{dialog}"
    );
    tmux.keys(&["Enter"]);
    tmux.wait_for(&["job 1 done"]);
    tmux.keys(&[":", "jobs", "Enter"]);
    let log = home.path().join("data/actions.jsonl");
    let jobs = tmux.wait_for(&["Jobs:", "done in", "action log"]);
    assert!(jobs.contains("actions.jsonl"), "{jobs}");
    tmux.keys(&["d"]);
    let whole = tmux.wait_for(&["describe job #1", "accepted_calls:", "request_id:"]);
    assert!(whole.contains("SetDesiredCapacity"), "{whole}");
    assert!(whole.contains("status: done"), "{whole}");
    let logged = std::fs::read_to_string(&log).expect("the action log");
    let entry: serde_json::Value =
        serde_json::from_str(logged.lines().last().expect("a line")).expect("JSON");
    match entry["request_ids"][0].as_str() {
        Some(request_id) => assert!(
            whole.contains(request_id),
            "the job shows the request id the log has ({request_id}):\n{whole}"
        ),
        None => assert!(whole.contains("(none returned)"), "{whole}"),
    }
    tmux.keys(&["Escape", "Escape"]);

    // A judged view: a cell too long for its column ends with `…`; `d` on its row shows it.
    tmux.resize(160, 48);
    tmux.keys(&[":", "azloss", "Enter"]);
    let view = tmux.wait_for(&["If an AZ", "IF LOST", "RPO"]);
    let rows: Vec<&str> = view
        .lines()
        .skip_while(|l| !l.contains("IF LOST"))
        .skip(1)
        .take_while(|l| l.starts_with('│') && !l.trim_matches(['│', ' ']).is_empty())
        .collect();
    let (index, cut) = rows
        .iter()
        .enumerate()
        .find(|(_, l)| l.trim_end().trim_end_matches('│').trim_end().ends_with('…'))
        .unwrap_or_else(|| panic!("no cut cell:\n{view}"));
    let before = cut.split('…').next().unwrap_or_default();
    let prefix = before
        .rsplit("  ")
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(prefix.len() > 10, "{cut}");
    for _ in 0..index {
        tmux.keys(&["j"]);
    }
    tmux.keys(&["d"]);
    let whole = tmux.wait_for(&["describe azloss", "shown:", &prefix]);
    let line = whole
        .lines()
        .find(|l| l.contains(&prefix))
        .unwrap_or_default();
    assert!(
        !line.contains('…'),
        "describe shows the cell whole:\n{whole}"
    );
    tmux.keys(&["Escape", "Escape"]);
    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0"]);
}
