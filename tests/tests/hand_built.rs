//! A stack built by hand, call by call as with the AWS CLI, with the holes an auditor looks for
//! first: subnets auto-assigning public IPs, an unencrypted volume, a public snapshot, an
//! HTTP-only listener, a network ACL open to SSH. `haven check --format sarif` names each with
//! its AWS Security Hub id, and walks the open path to the instance.

use std::collections::BTreeSet;

use haven_testkit::{MotoServer, hand_built};
use haven_tests::haven;
use serde_json::Value;

const REGION: &str = "ap-northeast-2";

#[test]
fn check_names_each_hole_of_a_hand_built_stack_with_its_aws_id() {
    let moto = MotoServer::start().expect("moto_server");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let built = runtime.block_on(hand_built::build(&moto.endpoint(), REGION));
    let home = tempfile::tempdir().expect("home");
    let output = haven(&moto.endpoint(), &home)
        .args(["--region", REGION, "check", "--format", "sarif"])
        .output()
        .expect("run haven check");
    assert_eq!(
        output.status.code(),
        Some(3),
        "findings at or above high: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sarif: Value = serde_json::from_slice(&output.stdout).expect("SARIF JSON");
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().expect("results");
    let found: BTreeSet<(String, String)> = results
        .iter()
        .map(|r| {
            let resource = r["properties"]["resourceId"].as_str().unwrap_or_default();
            (
                r["ruleId"].as_str().unwrap_or_default().to_string(),
                resource.to_string(),
            )
        })
        .collect();
    let expected = [
        ("EC2.15", built.subnets[0].as_str()),
        ("EC2.15", built.subnets[1].as_str()),
        ("EC2.3", built.volume.as_str()),
        ("EC2.1", built.snapshot.as_str()),
        ("EC2.21", built.acl.as_str()),
        ("EC2.9", built.instance.as_str()),
        ("SEC-REACH", built.instance.as_str()),
    ];
    for (id, resource) in expected {
        assert!(
            found.contains(&(id.to_string(), resource.to_string())),
            "{id} on {resource} missing; found {found:?}"
        );
    }
    assert!(
        found.iter().any(|(id, _)| id == "ELB.1"),
        "ELB.1 (HTTP listener without redirect) missing; found {found:?}"
    );
    // Each of those rules links its Security Hub control.
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    for id in ["EC2.15", "EC2.3", "EC2.1", "EC2.21", "ELB.1"] {
        let rule = rules
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("rule {id}"));
        let (service, number) = id.split_once('.').expect("aws id");
        let service = service.to_lowercase();
        assert_eq!(
            rule["helpUri"],
            format!(
                "https://docs.aws.amazon.com/securityhub/latest/userguide/{service}-controls.html#{service}-{number}"
            )
        );
    }
    // The path to the instance is the evidence.
    let reach = results
        .iter()
        .find(|r| r["ruleId"] == "SEC-REACH")
        .expect("SEC-REACH");
    let text = reach["message"]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains(&built.acl) && text.contains(":22 via igw-"),
        "{text}"
    );
}
