//! Issue 19's second acceptance scenario with the real `haven` binary and AWS realism on: the
//! lab with a DR replica and a Route 53 failover record leading to its load balancer; the
//! primary Region goes silent (its health check fails) and `haven failover-region` ends with
//! the users moved: the DR Region's record aliases the new DR load balancer and is PRIMARY, the
//! lost Region's SECONDARY, and Route 53's own answer (TestDNSAnswer, played by the proxy: moto
//! has none) is the DR load balancer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Output;

use haven_model::Topology;
use haven_model::topology::RegionTopology;
use haven_testkit::{Faults, MotoServer, Proxy, Realism};
use haven_tests::{haven, kms_key, text, xml_value};

const PRIMARY: &str = "ap-northeast-2";
const DR: &str = "us-east-1";
const XMLNS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

fn lab() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/blueprints/lab.toml")
}

fn run(endpoint: &str, home: &tempfile::TempDir, args: &[&str]) -> Output {
    haven(endpoint, home)
        .args(args)
        .output()
        .expect("run haven")
}

fn ok(endpoint: &str, home: &tempfile::TempDir, args: &[&str]) -> String {
    let output = run(endpoint, home, args);
    assert!(
        output.status.success(),
        "haven {}: {}",
        args.join(" "),
        text(&output)
    );
    text(&output)
}

fn snapshot(endpoint: &str, home: &tempfile::TempDir, region: &str) -> RegionTopology {
    let output = run(
        endpoint,
        home,
        &["--region", region, "snapshot", "--output", "json"],
    );
    assert!(output.status.success(), "{}", text(&output));
    Topology::from_json(&String::from_utf8_lossy(&output.stdout))
        .expect("topology")
        .region(region)
        .cloned()
        .expect("the Region")
}

/// A Route 53 (REST) call, signed for us-east-1 in the credential scope only (moto checks no
/// signature); the proxy reads the scope. Returns (status line, body).
fn route53(endpoint: &str, method: &str, path: &str, body: &str) -> (String, String) {
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/xml\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20261130/us-east-1/route53/aws4_request, \
         SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

fn route53_ok(endpoint: &str, method: &str, path: &str, body: &str) -> String {
    let (status, body) = route53(endpoint, method, path, body);
    assert!(
        status.contains(" 200 ") || status.contains(" 201 "),
        "{method} {path}: {status}\n{body}"
    );
    body
}

/// The zone `example.com`, a health check of the primary load balancer and the PRIMARY failover
/// record `lab.example.com` aliasing it, made by hand as an operator would have (the blueprint's
/// `[dns]` builds them otherwise). Returns the zone id.
fn front_door(endpoint: &str, alb_dns_name: &str) -> String {
    let zone = route53_ok(
        endpoint,
        "POST",
        "/2013-04-01/hostedzone",
        &format!(
            "<CreateHostedZoneRequest xmlns=\"{XMLNS}\"><Name>example.com</Name>\
             <CallerReference>dr-traffic-zone</CallerReference></CreateHostedZoneRequest>"
        ),
    );
    let zone = xml_value(&zone, "Id")
        .expect("zone id")
        .trim_start_matches("/hostedzone/")
        .to_string();
    let check = route53_ok(
        endpoint,
        "POST",
        "/2013-04-01/healthcheck",
        &format!(
            "<CreateHealthCheckRequest xmlns=\"{XMLNS}\"><CallerReference>dr-traffic-hc\
             </CallerReference><HealthCheckConfig><Port>80</Port><Type>HTTP</Type>\
             <ResourcePath>/</ResourcePath><FullyQualifiedDomainName>{alb_dns_name}\
             </FullyQualifiedDomainName><RequestInterval>30</RequestInterval>\
             <FailureThreshold>3</FailureThreshold></HealthCheckConfig>\
             </CreateHealthCheckRequest>"
        ),
    );
    let check = xml_value(&check, "Id").expect("health check id");
    route53_ok(
        endpoint,
        "POST",
        &format!("/2013-04-01/hostedzone/{zone}/rrset/"),
        &format!(
            "<ChangeResourceRecordSetsRequest xmlns=\"{XMLNS}\"><ChangeBatch><Changes><Change>\
             <Action>CREATE</Action><ResourceRecordSet><Name>lab.example.com</Name><Type>A</Type>\
             <SetIdentifier>lab-{PRIMARY}</SetIdentifier><Failover>PRIMARY</Failover>\
             <AliasTarget><HostedZoneId>Z2P70J7EXAMPLE</HostedZoneId>\
             <DNSName>{alb_dns_name}</DNSName><EvaluateTargetHealth>false</EvaluateTargetHealth>\
             </AliasTarget><HealthCheckId>{check}</HealthCheckId></ResourceRecordSet></Change>\
             </Changes></ChangeBatch></ChangeResourceRecordSetsRequest>"
        ),
    );
    zone
}

/// (set identifier, failover role, alias DNS name) of each `lab.example.com` record.
fn records(endpoint: &str, zone: &str) -> Vec<(String, String, String)> {
    let xml = route53_ok(
        endpoint,
        "GET",
        &format!("/2013-04-01/hostedzone/{zone}/rrset"),
        "",
    );
    xml.split("<ResourceRecordSet>")
        .skip(1)
        .filter(|set| set.contains("lab.example.com"))
        .map(|set| {
            (
                xml_value(set, "SetIdentifier").unwrap_or_default(),
                xml_value(set, "Failover").unwrap_or_default(),
                xml_value(set, "DNSName")
                    .unwrap_or_default()
                    .trim_end_matches('.')
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn failover_region_moves_the_users_to_the_dr_load_balancer() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(
        &moto.endpoint(),
        Faults::none().with_realism(Realism::aws()),
    )
    .expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let blueprint = lab();
    let blueprint = blueprint.to_str().expect("path");
    ok(&proxy.endpoint(), &home, &["up", blueprint, "--yes"]);
    let key = kms_key(&moto.endpoint(), DR);
    // moto cannot copy the automated DB snapshot `replicate` also picks: that one may fail.
    let _ = run(
        &proxy.endpoint(),
        &home,
        &[
            "replicate",
            "--yes",
            "--blueprint",
            blueprint,
            "--kms-key",
            &format!("{DR}={key}"),
        ],
    );
    let primary = snapshot(&moto.endpoint(), &home, PRIMARY);
    let home_alb = primary
        .load_balancers
        .iter()
        .find(|lb| lb.name == "lab-alb")
        .and_then(|lb| lb.dns_name.clone())
        .expect("the primary load balancer");
    let zone = front_door(&moto.endpoint(), &home_alb);

    // The primary Region goes silent; its health check fails.
    proxy.set_faults(Faults::none().with_realism(Realism::aws().silent_region(PRIMARY)));
    let said = ok(
        &proxy.endpoint(),
        &home,
        &["failover-region", blueprint, "--yes"],
    );
    let dr = snapshot(&proxy.endpoint(), &home, DR);
    let dr_alb = dr
        .load_balancers
        .iter()
        .find(|lb| lb.name == "lab-alb")
        .and_then(|lb| lb.dns_name.clone())
        .expect("the DR load balancer");
    // Previewed with why, then done.
    assert!(
        said.contains("then send the users of lab.example.com to us-east-1")
            && said.contains("Send the users of lab.example.com to us-east-1")
            && said.contains("Route 53 would otherwise send users back"),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "Route 53 answers lab.example.com A: NOERROR {}",
            dr_alb.trim_end_matches('.')
        )) && said.contains("users go to us-east-1"),
        "{said}"
    );
    let mut found = records(&moto.endpoint(), &zone);
    found.sort();
    assert_eq!(
        found,
        vec![
            (
                format!("lab-{PRIMARY}"),
                "SECONDARY".to_string(),
                home_alb.trim_end_matches('.').to_string()
            ),
            (
                format!("lab-{DR}"),
                "PRIMARY".to_string(),
                dr_alb.trim_end_matches('.').to_string()
            ),
        ],
        "{said}"
    );
    // Route 53's own answer, through the proxy.
    let answer = route53_ok(
        &proxy.endpoint(),
        "GET",
        &format!(
            "/2013-04-01/testdnsanswer?hostedzoneid={zone}&recordname=lab.example.com&recordtype=A"
        ),
        "",
    );
    assert_eq!(
        xml_value(&answer, "RecordDataEntry").as_deref(),
        Some(dr_alb.trim_end_matches('.')),
        "{answer}"
    );

    // The primary Region answers again: failback brings the users home the same way.
    proxy.set_faults(Faults::none().with_realism(Realism::aws()));
    let (primary_key, dr_key) = (
        kms_key(&moto.endpoint(), PRIMARY),
        kms_key(&moto.endpoint(), DR),
    );
    let said = ok(
        &proxy.endpoint(),
        &home,
        &[
            "failback",
            blueprint,
            "--yes",
            "--catch-up",
            "0",
            "--kms-key",
            &format!("{PRIMARY}={primary_key}"),
            "--kms-key",
            &format!("{DR}={dr_key}"),
        ],
    );
    assert!(
        said.contains("Send the users of lab.example.com to ap-northeast-2"),
        "{said}"
    );
    let back = records(&moto.endpoint(), &zone);
    assert!(
        back.iter()
            .any(|(id, role, _)| id == &format!("lab-{PRIMARY}") && role == "PRIMARY")
            && back
                .iter()
                .any(|(id, role, _)| id == &format!("lab-{DR}") && role == "SECONDARY"),
        "{back:?}\n{said}"
    );
    drop(moto);
}
