//! Before the dashboard takes the terminal it says what it waits for, and a dashboard that cannot
//! connect says why and gives the terminal back.

use std::time::Duration;

use haven_testkit::{Faults, MotoServer, Proxy};
use haven_tests::tmux::{Tmux, haven_command};

#[test]
fn a_slow_endpoint_shows_the_connection_step_instead_of_a_blank_screen() {
    let moto = MotoServer::start().expect("moto");
    // STS answers after 3 s: long enough to read the screen meanwhile.
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults::none().with_delay(Duration::from_secs(3)),
    )
    .expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let tmux = Tmux::start(&haven_command(&proxy.endpoint(), &home, ""));
    let waiting = tmux.wait_for(&["connecting to", "STS GetCallerIdentity"]);
    assert!(
        !waiting.contains("to read"),
        "the connection step was already over; the test proves nothing:\n{waiting}"
    );
    // The dashboard is up and says what it is still reading.
    tmux.wait_for(&["to read", "loading"]);
    tmux.keys(&["q"]);
    tmux.wait_for(&["haven exited 0"]);
}

#[test]
fn a_refused_endpoint_is_named_at_once_and_the_terminal_is_given_back() {
    let home = tempfile::tempdir().expect("temp dir");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let endpoint = format!("http://{closed}");
    let tmux = Tmux::start(&haven_command(&endpoint, &home, ""));
    let screen = tmux.wait_for(&["haven exited 1", "icanon"]);
    assert!(
        screen.contains("connection refused: nothing listens at"),
        "{screen}"
    );
    assert!(!screen.contains("timed out"), "{screen}");
}
