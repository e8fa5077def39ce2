//! `haven snapshot` when things go wrong: an unreachable endpoint, a malformed one, one that is
//! not AWS, no credentials, a misspelt Region and a failing Region.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use haven_model::{Service, Topology};
use haven_testkit::{Faults, MotoServer, Proxy};
use haven_tests::{haven, isolated};
use predicates::prelude::*;

fn closed_port() -> u16 {
    // Bind and release: nothing listens there afterwards.
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

#[test]
fn unreachable_endpoint_fails_fast_with_one_clear_message() {
    let home = tempfile::tempdir().expect("temp dir");
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let started = Instant::now();
    let assert = haven(&endpoint, &home)
        .args(["snapshot", "--regions", "ap-northeast-2"])
        .timeout(Duration::from_secs(20))
        .assert()
        .failure()
        .code(1)
        .stderr(predicate::str::contains(format!("cannot reach {endpoint}")))
        .stdout(predicate::str::is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "one message, got: {stderr}");
}

#[test]
fn malformed_endpoint_and_region_are_usage_errors() {
    let home = tempfile::tempdir().expect("temp dir");
    haven("http://127.0.0.1:1", &home)
        .args([
            "snapshot",
            "--regions",
            "ap-northeast-2",
            "--endpoint-url",
            "localhost:4566",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "is not a URL; expected e.g. http://127.0.0.1:5000",
        ));
    haven("http://127.0.0.1:1", &home)
        .args(["snapshot", "--regions", "AP_NORTHEAST_2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a Region code"));
    haven("http://127.0.0.1:1", &home)
        .args(["snapshot", "--page-size", "2", "--regions", "us-east-1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("5..=1000"));
}

#[test]
fn a_misspelt_region_exits_2_with_a_did_you_mean_and_sends_nothing() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    for args in [
        &["snapshot", "--regions", "ap-northest-2"][..],
        &["snapshot", "--regions", "us-east-1,ap-northest-2"],
        &["--region", "ap-northest-2", "check"],
    ] {
        haven(&proxy.endpoint(), &home)
            .args(args)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(
                "ap-northest-2: not a Region code; expected e.g. us-east-1. Did you mean \
                 ap-northeast-2?",
            ));
    }
    haven(&proxy.endpoint(), &home)
        .env("AWS_REGION", "eu-wset-1")
        .arg("snapshot")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the default Region (AWS_REGION or the profile's region) eu-wset-1",
        ))
        .stderr(predicate::str::contains("Did you mean eu-west-1?"));
    assert!(
        proxy.requests().is_empty(),
        "nothing is sent for bad input: {:?}",
        proxy.requests()
    );
}

#[test]
fn an_endpoint_that_is_not_aws_is_named_with_its_http_status_and_a_refusal_at_once() {
    use std::io::{Read, Write};
    // Any web server: it answers every request with its own HTML error page.
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", server.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in server.incoming().flatten() {
            let mut stream = stream;
            let mut request = [0_u8; 4096];
            let _ = stream.read(&mut request);
            let page = "<html><head><title>404 Not Found</title></head></html>";
            let _ = write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    let home = tempfile::tempdir().expect("temp dir");
    haven(&endpoint, &home)
        .args(["snapshot", "--regions", "us-east-1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{endpoint} answered sts GetCallerIdentity with HTTP 404 (text/html starting \
             '<html><head><title>404 Not Found"
        )))
        .stderr(predicate::str::contains("which is not an AWS answer"));
    let refused = format!("http://127.0.0.1:{}", closed_port());
    haven(&refused, &home)
        .args(["snapshot", "--regions", "us-east-1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "cannot reach {refused}: connection refused: nothing listens at"
        )));
}

#[test]
fn missing_credentials_say_how_to_provide_them() {
    let home = tempfile::tempdir().expect("temp dir");
    isolated(&home)
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", closed_port()),
        )
        .args(["snapshot", "--regions", "ap-northeast-2"])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no AWS credentials found"))
        .stderr(predicate::str::contains("--profile"))
        .stderr(predicate::str::contains("AWS_ACCESS_KEY_ID"));
}

#[test]
fn missing_region_names_the_ways_to_give_one() {
    let home = tempfile::tempdir().expect("temp dir");
    haven("http://127.0.0.1:1", &home)
        .args(["snapshot"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--region"))
        .stderr(predicate::str::contains("AWS_REGION"));
}

fn snapshot_json(endpoint: &str, regions: &str) -> Topology {
    let home = tempfile::tempdir().expect("temp dir");
    let output = haven(endpoint, &home)
        .args([
            "snapshot",
            "--output",
            "json",
            "--no-iam",
            "--regions",
            regions,
        ])
        .output()
        .expect("run haven");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Topology::from_json(&String::from_utf8_lossy(&output.stdout)).expect("topology")
}

#[test]
fn a_failing_region_is_named_while_the_others_come_back() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults::none().with_fail_region("us-west-2", 503),
    )
    .expect("proxy");
    let topology = snapshot_json(&proxy.endpoint(), "ap-northeast-2,us-west-2");

    // The healthy Region is complete.
    let good = topology.region("ap-northeast-2").expect("ap-northeast-2");
    assert!(good.vpcs.iter().any(|v| v.is_default));
    assert_eq!(good.availability_zones.len(), 4);
    assert!(topology.errors_in("ap-northeast-2").next().is_none());

    // The failing Region is named per service, with the status the endpoint gave.
    let failing: Vec<_> = topology.errors_in("us-west-2").collect();
    assert!(!failing.is_empty());
    for service in [
        Service::Ec2,
        Service::AutoScaling,
        Service::Elbv2,
        Service::Rds,
    ] {
        assert!(
            failing.iter().any(|e| e.service == service),
            "no {service} error for us-west-2: {failing:?}"
        );
    }
    // Built from the error document on the wire, not from display strings.
    assert!(
        failing
            .iter()
            .all(|e| e.code.as_deref() == Some("ServiceUnavailable")),
        "{failing:?}"
    );
    let west = topology.region("us-west-2").expect("us-west-2 listed");
    assert!(west.vpcs.is_empty());
}
