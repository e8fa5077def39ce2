//! `haven check` on the real binary, from topology fixtures (no AWS needed).

use assert_cmd::Command;
use serde_json::Value;

fn fixture(name: &str) -> String {
    format!(
        "{}/../../assets/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn haven() -> Command {
    let mut cmd = Command::cargo_bin("haven").expect("binary");
    // Keep the user's config and logs out of the test.
    let home = std::env::temp_dir().join("haven-check-test-home");
    cmd.env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"));
    cmd
}

#[test]
fn the_degraded_lab_lists_the_expected_ids_and_exits_3() {
    let out = haven()
        .args([
            "check",
            "--input",
            &fixture("lab-degraded.json"),
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or_default(),
                f["resource"]["id"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    for expected in [
        ("HA-ALB-AZ", "lab-alb"),
        ("HA-NAT-AZ", "subnet-0725950d278dac400"),
        ("RDS.5", "lab-db"),
    ] {
        assert!(ids.contains(&expected), "{expected:?} missing from {ids:?}");
    }
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["failed"], true);
    assert_eq!(doc["fail_on"], "high");
    assert!(doc["summary"]["high"].as_u64().unwrap_or(0) >= 3);
    assert!(doc["resilience"]["comparisons"].is_array());
}

#[test]
fn the_healthy_lab_passes_at_critical() {
    haven()
        .args([
            "check",
            "--input",
            &fixture("lab-healthy.json"),
            "--fail-on",
            "critical",
        ])
        .assert()
        .code(0);
}

#[test]
fn the_healthy_lab_has_no_ha_finding_but_its_accepted_exception() {
    let out = haven()
        .args([
            "check",
            "--input",
            &fixture("lab-healthy.json"),
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let ha: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .filter(|id| id.starts_with("HA-"))
        .collect();
    assert_eq!(ha, vec!["HA-IR-LATEST"]);
}

#[test]
fn a_policy_file_accepts_exceptions_and_sets_the_rpo() {
    let dir = std::env::temp_dir().join(format!("haven-check-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        r#"
[objectives.region]
rto_seconds = 14400
rpo_seconds = 172800

[[exceptions]]
id = "EC2.2"
resource = "*"
reason = "default groups are emptied by a later change"
"#,
    )
    .expect("write");
    let ids = ids_with_config(&dir, &["--policy", policy.to_str().expect("utf-8")]);
    assert!(
        !ids.iter().any(|id| id == "EC2.2" || id == "DR-RPO"),
        "{ids:?}"
    );
    std::fs::write(&policy, "max_key_age = 3\n").expect("write");
    haven()
        .args(["check", "--input", &fixture("lab-healthy.json")])
        .arg("--policy")
        .arg(&policy)
        .assert()
        .code(2);
}

/// The findings ids `haven check` reports for the healthy lab, with `config_dir` as haven's
/// config directory and `extra` arguments; the check must pass (exit 0).
fn ids_with_config(config_dir: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let out = haven()
        .env("HAVEN_CONFIG_DIR", config_dir)
        .args([
            "check",
            "--input",
            &fixture("lab-healthy.json"),
            "--format",
            "json",
        ])
        .args(extra)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn policy_toml_in_the_config_directory_is_the_default_policy_and_flag_overrides_it() {
    let dir = std::env::temp_dir().join(format!("haven-check-config-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let without = ids_with_config(&dir, &["--fail-on", "critical"]);
    assert!(without.iter().any(|id| id == "EC2.2"), "{without:?}");

    std::fs::write(
        dir.join("policy.toml"),
        "[[exceptions]]\nid = \"EC2.2\"\nresource = \"*\"\n",
    )
    .expect("write");
    let accepted = ids_with_config(&dir, &["--fail-on", "critical"]);
    assert!(!accepted.iter().any(|id| id == "EC2.2"), "{accepted:?}");

    let empty = dir.join("empty-policy.toml");
    std::fs::write(&empty, "").expect("write");
    let empty_policy = [
        "--fail-on",
        "critical",
        "--policy",
        empty.to_str().expect("utf-8"),
    ];
    let overridden = ids_with_config(&dir, &empty_policy);
    assert_eq!(overridden, without, "--policy replaces policy.toml");

    // A wrong policy.toml stops check and the dashboard alike, before any network call.
    std::fs::write(
        dir.join("policy.toml"),
        "primary_region = \"ap-nrotheast-2\"\n",
    )
    .expect("write");
    for args in [
        vec!["check", "--input", &fixture("lab-healthy.json")],
        vec!["--endpoint-url", "http://127.0.0.1:9"],
    ] {
        let out = haven()
            .env("HAVEN_CONFIG_DIR", &dir)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .args(&args)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("policy.toml:1:18:")
                && stderr.contains("did you mean `ap-northeast-2`"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("cannot reach"), "{args:?}: {stderr}");
    }
    // --policy replaces even a broken policy.toml.
    assert_eq!(ids_with_config(&dir, &empty_policy), without);
}

/// The SARIF 2.1.0 schema's required fields, checked by hand (no network, no schema crate).
fn validate_sarif(doc: &Value) -> Result<(), String> {
    let obj = |v: &Value, what: &str| -> Result<(), String> {
        v.is_object()
            .then_some(())
            .ok_or(format!("{what} is not an object"))
    };
    obj(doc, "log")?;
    if doc["version"] != "2.1.0" {
        return Err("version must be 2.1.0".into());
    }
    if !doc["$schema"]
        .as_str()
        .is_some_and(|s| s.contains("sarif-2.1.0"))
    {
        return Err("$schema".into());
    }
    let runs = doc["runs"].as_array().ok_or("runs must be an array")?;
    if runs.is_empty() {
        return Err("no run".into());
    }
    let levels = ["none", "note", "warning", "error"];
    for run in runs {
        let driver = &run["tool"]["driver"];
        obj(driver, "tool.driver")?;
        if !driver["name"].is_string() {
            return Err("tool.driver.name is required".into());
        }
        if !driver["informationUri"]
            .as_str()
            .is_some_and(|u| u.contains("://"))
        {
            return Err("tool.driver.informationUri must be a URI".into());
        }
        let rules = driver["rules"].as_array().ok_or("rules must be an array")?;
        let mut ids = std::collections::BTreeSet::new();
        for rule in rules {
            let id = rule["id"].as_str().ok_or("rule.id is required")?;
            if !ids.insert(id) {
                return Err(format!("duplicate rule {id}"));
            }
            for field in ["shortDescription", "help"] {
                if !rule[field]["text"].is_string() {
                    return Err(format!("rule {id}: {field}.text is required"));
                }
            }
            let level = rule["defaultConfiguration"]["level"].as_str().unwrap_or("");
            if !levels.contains(&level) {
                return Err(format!("rule {id}: bad level {level}"));
            }
            let score: f64 = rule["properties"]["security-severity"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or(format!("rule {id}: security-severity"))?;
            if !(0.0..=10.0).contains(&score) {
                return Err(format!("rule {id}: security-severity out of range"));
            }
        }
        let results = run["results"]
            .as_array()
            .ok_or("results must be an array")?;
        for result in results {
            if !result["message"]["text"].is_string() {
                return Err("result.message.text is required".into());
            }
            let rule_id = result["ruleId"].as_str().ok_or("result.ruleId")?;
            if !ids.contains(rule_id) {
                return Err(format!("result names unknown rule {rule_id}"));
            }
            if let Some(index) = result["ruleIndex"].as_u64() {
                let indexed = rules
                    .get(usize::try_from(index).unwrap_or(usize::MAX))
                    .and_then(|r| r["id"].as_str());
                if indexed != Some(rule_id) {
                    return Err(format!("ruleIndex {index} is not {rule_id}"));
                }
            }
            if !levels.contains(&result["level"].as_str().unwrap_or("")) {
                return Err("result.level".into());
            }
            let locations = result["locations"].as_array().ok_or("locations")?;
            for location in locations {
                let logical = location["logicalLocations"]
                    .as_array()
                    .ok_or("logicalLocations")?;
                for l in logical {
                    if !l["fullyQualifiedName"].is_string() || !l["kind"].is_string() {
                        return Err("logicalLocation needs fullyQualifiedName and kind".into());
                    }
                }
            }
        }
    }
    Ok(())
}

#[test]
fn sarif_output_is_a_valid_sarif_2_1_0_log() {
    let out = haven()
        .args([
            "check",
            "--input",
            &fixture("lab-degraded.json"),
            "--format",
            "sarif",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["version"], "2.1.0");
    validate_sarif(&doc).expect("valid SARIF");
    assert!(
        !doc["runs"][0]["results"]
            .as_array()
            .expect("results")
            .is_empty()
    );
    // Each rule links the page that defines it: Security Hub's control for an AWS id.
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    let rule = |id: &str| {
        rules
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("rule {id}"))
    };
    assert_eq!(
        rule("EC2.15")["helpUri"],
        "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-15"
    );
    assert_eq!(
        rule("HA-NAT-AZ")["helpUri"],
        "https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-basics.html"
    );
    // The validator does catch a broken log.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["ruleId"] = Value::from("NOPE.1");
    assert!(validate_sarif(&broken).is_err());
}

#[test]
fn a_bad_fail_on_value_exits_2() {
    haven()
        .args([
            "check",
            "--input",
            &fixture("lab-healthy.json"),
            "--fail-on",
            "severe",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a severity"));
}

#[test]
fn a_missing_or_malformed_input_exits_2() {
    haven()
        .args(["check", "--input", "/nonexistent/topology.json"])
        .assert()
        .code(2);
    let bad = std::env::temp_dir().join(format!("haven-check-bad-{}.json", std::process::id()));
    std::fs::write(&bad, "{\"schema_version\": 99}").expect("write");
    haven()
        .args(["check", "--input"])
        .arg(&bad)
        .assert()
        .code(2);
}
