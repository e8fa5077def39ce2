//! The front door from the blueprint, with the real binary against moto: `haven plan` shows the
//! hosted zone, the record, the health check, the certificate with its validation CNAME, the
//! HTTPS listener and the redirect; `haven up` builds them; a second `up` sends no mutating call;
//! `haven down` leaves none of them, and no zone.

use std::path::{Path, PathBuf};
use std::process::Output;

use haven_model::Topology;
use haven_testkit::{Faults, MotoServer, Proxy};
use haven_tests::{haven, is_mutating, text};

const PRIMARY: &str = "ap-northeast-2";

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("assets/blueprints")
}

/// The lab blueprint with `[dns]` and `[https]`, beside a copy of its user data.
fn front_door_blueprint(dir: &Path) -> PathBuf {
    let lab = std::fs::read_to_string(assets().join("lab.toml")).expect("lab.toml");
    let text = format!(
        "{lab}\n[dns]\nzone = \"example.com\"\ncreate_zone = true\nrecord = \
         \"lab.example.com\"\n\n[https]\n"
    );
    let path = dir.join("lab.toml");
    std::fs::write(&path, text).expect("write blueprint");
    std::fs::copy(
        assets().join("lab-user-data.sh"),
        dir.join("lab-user-data.sh"),
    )
    .expect("copy user data");
    path
}

fn run(endpoint: &str, home: &tempfile::TempDir, args: &[&str], blueprint: &Path) -> Output {
    let output = haven(endpoint, home)
        .args(args)
        .arg(blueprint)
        .output()
        .expect("run haven");
    assert!(
        output.status.success(),
        "haven {args:?} failed: {}",
        text(&output)
    );
    output
}

/// Route 53 is a REST API: its operation is the method and the path.
fn route53_action(method: &str, path: &str) -> String {
    let parts: Vec<&str> = path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_matches('/')
        .split('/')
        .collect();
    match (method, &parts[1..]) {
        ("GET", _) => "Get".to_string(),
        ("POST", ["hostedzone"]) => "CreateHostedZone".to_string(),
        ("POST", ["hostedzone", _, "rrset"]) => "ChangeResourceRecordSets".to_string(),
        ("POST", ["healthcheck"]) => "CreateHealthCheck".to_string(),
        ("POST", ["healthcheck", _]) => "UpdateHealthCheck".to_string(),
        // ListTagsForResources is a POST to the resource type, without an id.
        ("POST", ["tags", _]) => "ListTagsForResources".to_string(),
        ("POST", ["tags", _, _]) => "ChangeTagsForResource".to_string(),
        ("DELETE", ["hostedzone", _]) => "DeleteHostedZone".to_string(),
        ("DELETE", ["healthcheck", _]) => "DeleteHealthCheck".to_string(),
        (method, _) => format!("{method} {path}"),
    }
}

fn mutating(proxy: &Proxy, from: usize) -> Vec<String> {
    proxy.requests()[from..]
        .iter()
        .map(|r| {
            let action = if r.service == "route53" {
                route53_action(&r.method, &r.path)
            } else {
                r.action.clone()
            };
            (r.service.clone(), action)
        })
        .filter(|(_, action)| is_mutating(action))
        .map(|(service, action)| format!("{service} {action}"))
        .collect()
}

fn snapshot(endpoint: &str, home: &tempfile::TempDir) -> Topology {
    let output = haven(endpoint, home)
        .args(["--region", PRIMARY, "snapshot", "--output", "json"])
        .output()
        .expect("run haven snapshot");
    assert!(output.status.success(), "snapshot: {}", text(&output));
    Topology::from_json(&String::from_utf8_lossy(&output.stdout)).expect("topology JSON")
}

#[test]
fn up_builds_the_front_door_a_second_up_sends_nothing_and_down_removes_it() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("blueprint dir");
    let blueprint = front_door_blueprint(dir.path());

    // The plan shows the front door before anything exists.
    let plan = run(&proxy.endpoint(), &home, &["plan"], &blueprint);
    let plan = String::from_utf8_lossy(&plan.stdout).into_owned();
    for resource in [
        "hosted-zone/hosted-zone",
        "certificate/certificate-ap-northeast-2",
        "validation-record/certificate-validation-ap-northeast-2",
        "listener/listener-443",
        "dns-health-check/health-check-ap-northeast-2",
        "dns-record/record-ap-northeast-2",
    ] {
        assert!(plan.contains(resource), "{resource} not planned:\n{plan}");
    }
    assert!(plan.contains("301 redirect to HTTPS:443"), "{plan}");
    assert!(
        mutating(&proxy, 0).is_empty(),
        "plan sent {:?}",
        mutating(&proxy, 0)
    );

    run(&proxy.endpoint(), &home, &["up", "--yes"], &blueprint);
    let sent = mutating(&proxy, 0);
    for call in [
        "route53 CreateHostedZone",
        "route53 CreateHealthCheck",
        "route53 ChangeResourceRecordSets",
        "acm RequestCertificate",
        "elasticloadbalancing CreateListener",
    ] {
        assert!(sent.iter().any(|s| s == call), "{call} not sent: {sent:?}");
    }

    let topology = snapshot(&moto.endpoint(), &home);
    let dns = topology.dns.as_ref().expect("Route 53 discovered");
    let zone = dns
        .hosted_zones
        .iter()
        .find(|z| z.name == "example.com.")
        .expect("the zone");
    let record = zone
        .records
        .iter()
        .find(|r| r.set_identifier.as_deref() == Some("lab-ap-northeast-2"))
        .expect("the record");
    assert_eq!(record.failover.as_deref(), Some("PRIMARY"));
    let region = topology.region(PRIMARY).expect("primary");
    let alb = region
        .load_balancers
        .iter()
        .find(|l| l.name == "lab-alb")
        .expect("lab-alb");
    assert_eq!(
        record.target().as_deref(),
        alb.dns_name
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
    );
    assert!(
        record
            .alias
            .as_ref()
            .is_some_and(|a| a.evaluate_target_health)
    );
    let check = dns
        .health_checks
        .iter()
        .find(|h| Some(&h.id) == record.health_check_id.as_ref())
        .expect("the record's health check");
    assert_eq!(
        (check.check_type.as_str(), check.port),
        ("HTTPS", Some(443))
    );
    let cert = region
        .certificates
        .iter()
        .find(|c| c.domain_name == "lab.example.com")
        .expect("the certificate");
    assert_eq!(cert.status, "ISSUED");
    let validation = cert.validations[0]
        .record_name
        .clone()
        .expect("validation record name");
    assert!(
        zone.records
            .iter()
            .any(|r| r.record_type == "CNAME" && r.name == validation),
        "validation CNAME {validation} in {:?}",
        zone.records
    );
    let https = alb
        .listeners
        .iter()
        .find(|l| l.port == Some(443))
        .expect("HTTPS listener");
    assert_eq!(https.certificates.first(), Some(&cert.arn));
    let http = alb
        .listeners
        .iter()
        .find(|l| l.port == Some(80))
        .expect("HTTP listener");
    assert!(
        matches!(&http.default_actions[..], [haven_model::topology::ListenerAction::Redirect { protocol, .. }] if protocol.as_deref() == Some("HTTPS")),
        "{:?}",
        http.default_actions
    );

    // A second `up`: nothing to do.
    let before = proxy.requests().len();
    run(&proxy.endpoint(), &home, &["up", "--yes"], &blueprint);
    assert!(
        mutating(&proxy, before).is_empty(),
        "second up sent {:?}",
        mutating(&proxy, before)
    );

    run(&proxy.endpoint(), &home, &["down", "--yes"], &blueprint);
    let topology = snapshot(&moto.endpoint(), &home);
    let zones = topology
        .dns
        .as_ref()
        .map(|d| d.hosted_zones.clone())
        .unwrap_or_default();
    assert!(zones.iter().all(|z| z.name != "example.com."), "{zones:?}");
    let checks = topology
        .dns
        .as_ref()
        .map(|d| d.health_checks.len())
        .unwrap_or_default();
    assert_eq!(checks, 0);
    let region = topology.region(PRIMARY).expect("primary");
    assert!(region.certificates.is_empty(), "{:?}", region.certificates);
}
