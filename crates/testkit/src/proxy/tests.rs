use super::*;
use crate::lab::{DR, PRIMARY};
use crate::moto::http_request;
use crate::{MotoServer, sdk_config_for};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

const SIGNED_EC2: &str = "AWS4-HMAC-SHA256 Credential=AKID/20260101/ap-northeast-2/ec2/aws4_request, \
                          SignedHeaders=host;x-amz-date, Signature=abc";

#[test]
fn credential_scope_comes_from_authorization_or_presigned_query() {
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, HeaderValue::from_static(SIGNED_EC2));
    assert_eq!(
        credential_scope(&headers, None),
        ("ap-northeast-2".to_owned(), "ec2".to_owned())
    );
    let query =
        "Action=Connect&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Frds-db%2Faws4_request";
    assert_eq!(
        credential_scope(&HeaderMap::new(), Some(query)),
        ("us-east-1".to_owned(), "rds-db".to_owned())
    );
    assert_eq!(
        credential_scope(&HeaderMap::new(), None),
        (String::new(), String::new())
    );
}

#[test]
fn action_comes_from_form_body_query_or_target() {
    let mut form = HeaderMap::new();
    form.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    assert_eq!(
        action_of(
            &form,
            None,
            b"Version=2016-11-15&Action=DescribeInstances&MaxResults=5"
        ),
        "DescribeInstances"
    );
    assert_eq!(
        action_of(&HeaderMap::new(), Some("Action=ListUsers&Version=x"), b""),
        "ListUsers"
    );
    let mut json = HeaderMap::new();
    json.insert(
        "x-amz-target",
        HeaderValue::from_static("AmazonSSM.GetParameter"),
    );
    assert_eq!(action_of(&json, None, b"{}"), "GetParameter");
    assert_eq!(percent_decode("a%2Fb+c%zz%4"), "a/b c%zz%4");
}

#[test]
fn route_53_operations_are_named_from_the_method_and_path() {
    let zone = "/2013-04-01/hostedzone/Z0123";
    assert_eq!(
        route53_operation("GET", "/2013-04-01/hostedzone"),
        "ListHostedZones"
    );
    assert_eq!(route53_operation("DELETE", zone), "DeleteHostedZone");
    assert_eq!(
        route53_operation("POST", &format!("{zone}/rrset/")),
        "ChangeResourceRecordSets"
    );
    assert_eq!(
        route53_operation("GET", &format!("{zone}/rrset")),
        "ListResourceRecordSets"
    );
    assert_eq!(
        route53_operation("POST", "/2013-04-01/tags/healthcheck"),
        "ListTagsForResources"
    );
    assert_eq!(
        route53_operation("POST", "/2013-04-01/tags/hostedzone/Z0123"),
        "ChangeTagsForResource"
    );
    assert_eq!(
        route53_operation("GET", "/2013-04-01/healthcheck/abc/status"),
        "GetHealthCheckStatus"
    );
    assert_eq!(route53_operation("POST", "/"), "");
}

#[test]
fn injected_errors_look_like_aws_errors() {
    assert_eq!(injected_error_code(503, "ec2"), "ServiceUnavailable");
    assert_eq!(injected_error_code(400, "ec2"), "RequestLimitExceeded");
    assert_eq!(injected_error_code(429, "autoscaling"), "Throttling");
    assert_eq!(injected_error_code(500, "rds"), "InternalFailure");
    let faults = Faults::none()
        .with_delay(Duration::from_millis(5))
        .with_fail_region("us-east-1", 503);
    assert_eq!(
        faults,
        Faults {
            delay: Duration::from_millis(5),
            delay_service: None,
            fail_region: Some(("us-east-1".into(), 503)),
            fail_action: None,
            fail_service: None,
            chaos: None,
            realism: None,
        }
    );
}

/// Start line, headers and body of a request the echo upstream received.
type SeenRequest = (String, Vec<String>, Vec<u8>);

/// A one-request-per-connection HTTP upstream that answers 200 with the request body and
/// reports (start line, headers, body) of every request it sees.
fn echo_upstream() -> (u16, std::sync::mpsc::Receiver<SeenRequest>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind echo");
    let port = listener.local_addr().expect("address").port();
    let (seen, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream);
            let mut start = String::new();
            if reader.read_line(&mut start).is_err() {
                continue;
            }
            let mut headers = Vec::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line == "\r\n" || line.is_empty() {
                    break;
                }
                let line = line.trim_end().to_owned();
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
                headers.push(line);
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let mut stream = reader.into_inner();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
            let _ = seen.send((start.trim_end().to_owned(), headers, body));
        }
    });
    (port, receiver)
}

/// Reads one HTTP/1.1 response with a Content-Length body from a kept-alive connection.
fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, Vec<u8>) {
    let mut start = String::new();
    reader.read_line(&mut start).expect("status line");
    let status = start
        .split_whitespace()
        .nth(1)
        .expect("status")
        .parse()
        .expect("number");
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header");
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().expect("length");
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("body");
    (status, body)
}

#[test]
fn bodies_pass_byte_exact_over_kept_alive_connections_from_sync_code() {
    let (upstream_port, seen) = echo_upstream();
    let proxy = Proxy::start(
        &format!("http://127.0.0.1:{upstream_port}"),
        Faults::default(),
    )
    .expect("proxy starts");
    let proxy_port: u16 = proxy
        .endpoint()
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("port in endpoint");

    // Two requests on one connection (HTTP/1.1 keep-alive), binary bodies included.
    let bodies: [Vec<u8>; 2] = [
        b"Action=DescribeInstances&Version=2016-11-15".to_vec(),
        (0..=255u8).chain([0, 13, 10, 13, 10]).collect(),
    ];
    let stream = TcpStream::connect(("127.0.0.1", proxy_port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    for body in &bodies {
        let head = format!(
            "POST /?x=1 HTTP/1.1\r\nHost: example.test\r\nAuthorization: {SIGNED_EC2}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        writer.write_all(head.as_bytes()).expect("write head");
        writer.write_all(body).expect("write body");
        let (status, echoed) = read_response(&mut reader);
        assert_eq!(status, 200);
        assert_eq!(&echoed, body);
        let (start, headers, received) = seen
            .recv_timeout(Duration::from_secs(5))
            .expect("upstream saw it");
        assert_eq!(start, "POST /?x=1 HTTP/1.1");
        assert_eq!(&received, body, "upstream got the exact bytes");
        assert!(
            headers
                .iter()
                .any(|h| h == "host: example.test" || h == "Host: example.test"),
            "{headers:?}"
        );
        assert!(headers.iter().any(|h| {
            h.to_ascii_lowercase()
                .starts_with("authorization: aws4-hmac-sha256 ")
        }));
    }

    let recorded = proxy.requests();
    assert_eq!(recorded.len(), 2);
    assert_eq!(
        (
            recorded[0].service.as_str(),
            recorded[0].region.as_str(),
            recorded[0].action.as_str(),
            recorded[0].status,
            recorded[0].injected,
        ),
        ("ec2", "ap-northeast-2", "DescribeInstances", 200, false)
    );
    assert_eq!(recorded[0].path, "/?x=1");
    assert_eq!(recorded[1].action, "", "binary body has no Action");
}

#[test]
fn unreachable_upstream_answers_502_and_is_recorded() {
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let proxy =
        Proxy::start(&format!("http://127.0.0.1:{port}"), Faults::default()).expect("proxy");
    let proxy_port = proxy
        .endpoint()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let response = http_request(
        proxy_port,
        "POST",
        "/",
        &[
            ("Authorization", SIGNED_EC2),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        b"Action=DescribeVpcs",
        Duration::from_secs(10),
    )
    .expect("proxy answers");
    assert_eq!(response.status, 502);
    assert!(
        response
            .body_text()
            .contains("<Code>ProxyUpstreamError</Code>")
    );
    assert_eq!(proxy.requests()[0].status, 502);
    assert!(Proxy::start("ftp://127.0.0.1:1", Faults::default()).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_sdk_calls_and_injects_region_failures_and_delay() {
    let server = MotoServer::start().expect("moto_server starts");
    let proxy = Proxy::start(&server.endpoint(), Faults::default()).expect("proxy starts");
    let primary = sdk_config_for(&proxy.endpoint(), PRIMARY).await;
    let dr = sdk_config_for(&proxy.endpoint(), DR).await;
    let ec2_primary = aws_sdk_ec2::Client::new(&primary);
    let ec2_dr = aws_sdk_ec2::Client::new(&dr);

    // Requests reach moto and are recorded with service, region, action and status.
    let zones = ec2_primary
        .describe_availability_zones()
        .send()
        .await
        .expect("DescribeAvailabilityZones through the proxy");
    assert_eq!(
        zones.availability_zones()[0].zone_name(),
        Some("ap-northeast-2a")
    );
    aws_sdk_autoscaling::Client::new(&primary)
        .describe_auto_scaling_groups()
        .send()
        .await
        .expect("DescribeAutoScalingGroups");
    aws_sdk_elasticloadbalancingv2::Client::new(&dr)
        .describe_load_balancers()
        .send()
        .await
        .expect("DescribeLoadBalancers");
    aws_sdk_rds::Client::new(&primary)
        .describe_db_instances()
        .send()
        .await
        .expect("DescribeDBInstances");
    aws_sdk_iam::Client::new(&primary)
        .list_users()
        .send()
        .await
        .expect("ListUsers");
    let seen: Vec<(String, String, String, u16)> = proxy
        .requests()
        .into_iter()
        .map(|r| (r.service, r.region, r.action, r.status))
        .collect();
    let expected = [
        ("ec2", PRIMARY, "DescribeAvailabilityZones"),
        ("autoscaling", PRIMARY, "DescribeAutoScalingGroups"),
        ("elasticloadbalancing", DR, "DescribeLoadBalancers"),
        ("rds", PRIMARY, "DescribeDBInstances"),
        // With a custom endpoint the SDK signs IAM with the configured Region, not us-east-1.
        ("iam", PRIMARY, "ListUsers"),
    ];
    assert_eq!(seen.len(), expected.len(), "{seen:?}");
    for ((service, region, action, status), (want_service, want_region, want_action)) in
        seen.iter().zip(expected)
    {
        assert_eq!(
            (service.as_str(), region.as_str(), action.as_str(), *status),
            (want_service, want_region, want_action, 200)
        );
    }

    // One Region fails with the injected status and code; the other keeps working.
    proxy.clear_requests();
    proxy.set_faults(Faults::none().with_fail_region(DR, 503));
    let error = ec2_dr
        .describe_vpcs()
        .send()
        .await
        .expect_err("us-east-1 is failing");
    assert_eq!(error.code(), Some("ServiceUnavailable"));
    assert_eq!(error.message(), Some(INJECTED_MESSAGE));
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(503));
    let rds_error = aws_sdk_rds::Client::new(&dr)
        .describe_db_instances()
        .send()
        .await
        .expect_err("us-east-1 is failing for RDS too");
    assert_eq!(rds_error.code(), Some("ServiceUnavailable"));
    ec2_primary
        .describe_vpcs()
        .send()
        .await
        .expect("ap-northeast-2 still works");
    let recorded = proxy.requests();
    assert_eq!(
        recorded.len(),
        3,
        "one attempt each (max attempts 1): {recorded:?}"
    );
    assert_eq!((recorded[0].status, recorded[0].injected), (503, true));
    assert_eq!((recorded[2].status, recorded[2].injected), (200, false));

    // Delay applies to every request.
    proxy.set_faults(Faults::none().with_delay(Duration::from_millis(400)));
    let started = Instant::now();
    ec2_dr.describe_vpcs().send().await.expect("DR works again");
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    let last = proxy.requests().pop().expect("recorded");
    assert!(last.elapsed >= Duration::from_millis(400));
    proxy.set_faults(Faults::default());
    assert_eq!(proxy.faults(), Faults::none());
}

/// The statuses 200 sequential requests get under `chaos` (0 = connection dropped).
fn chaos_statuses(chaos: Chaos) -> Vec<u16> {
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let chaos = Chaos {
        spike: Duration::from_millis(1),
        ..chaos
    };
    let proxy = Proxy::start(
        &format!("http://127.0.0.1:{port}"),
        Faults::none().with_chaos(chaos),
    )
    .expect("proxy");
    let proxy_port = proxy
        .endpoint()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    for _ in 0..200 {
        let _ = http_request(
            proxy_port,
            "POST",
            "/",
            &[
                ("Authorization", SIGNED_EC2),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            b"Action=DescribeVpcs",
            Duration::from_secs(10),
        );
    }
    proxy.requests().iter().map(|r| r.status).collect()
}

#[test]
fn chaos_is_seeded_and_keeps_its_rates() {
    let first = chaos_statuses(Chaos::standard(7));
    assert_eq!(
        first,
        chaos_statuses(Chaos::standard(7)),
        "same seed, same faults"
    );
    assert_ne!(
        first,
        chaos_statuses(Chaos::standard(8)),
        "another seed, other faults"
    );
    let count = |status: u16| first.iter().filter(|s| **s == status).count();
    // 200 requests: 2% dropped, 20% throttled (400), 5% 500/503, the rest forwarded (502 here).
    assert!((1..=12).contains(&count(0)), "dropped: {}", count(0));
    assert!((20..=65).contains(&count(400)), "throttled: {}", count(400));
    assert!((2..=25).contains(&(count(500) + count(503))), "5xx");
    assert!(count(502) > 100, "forwarded: {}", count(502));
}
