use super::*;

const LAB: &str = include_str!("../../../../assets/blueprints/lab.toml");
const SMALL: &str = include_str!("../../../../assets/blueprints/small.toml");
const SCHEMA: &str = include_str!("../../../../assets/blueprints/blueprint.schema.json");

fn any_file(_: &str) -> bool {
    true
}

fn errors(text: &str) -> Vec<String> {
    match parse(text, "t.toml", &any_file) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.errors().iter().map(ToString::to_string).collect(),
    }
}

/// The lab with one line replaced.
fn lab_with(from: &str, to: &str) -> String {
    assert!(LAB.contains(from), "lab.toml has {from:?}");
    LAB.replacen(from, to, 1)
}

fn one_error(text: &str) -> String {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().unwrap_or_default()
}

#[test]
fn the_lab_blueprint_is_the_classic_lab() {
    let lab = parse(LAB, "lab.toml", &|path| path == "lab-user-data.sh").expect("lab.toml");
    assert_eq!(lab.name(), "lab");
    assert_eq!(lab.region(), "ap-northeast-2");
    assert_eq!(lab.network.azs.len(), 2);
    assert_eq!(lab.network.nat, NatMode::PerAz);
    assert_eq!(lab.network.private_subnets[1].to_string(), "10.0.144.0/20");
    assert!(lab.security.ssh_from.is_empty());
    assert_eq!(lab.security.db_port, 3306);
    assert_eq!(lab.iam.instance_profile, "SSMInstanceProfile");
    assert_eq!(lab.iam.instance_policy_arns, vec![SSM_MANAGED_POLICY_ARN]);
    assert!(matches!(lab.compute.ami, AmiSource::SsmParameter(ref p) if p.contains("al2023")));
    let hc = &lab.load_balancer.health_check;
    assert_eq!((hc.interval, hc.timeout, hc.healthy_threshold), (15, 5, 3));
    assert_eq!((hc.unhealthy_threshold, hc.matcher.as_str()), (2, "200"));
    let asg = &lab.auto_scaling;
    assert_eq!((asg.min, asg.desired, asg.max), (2, 2, 4));
    assert_eq!(asg.cpu_target, Some(50.0));
    assert_eq!(lab.database.read_replicas, vec!["lab-db-replica-1"]);
    assert!(lab.database.multi_az && lab.database.manage_master_user_password);
    assert!(!lab.database.deletion_protection);
}

#[test]
fn the_small_blueprint_takes_the_defaults() {
    let small = parse(SMALL, "small.toml", &|_| false).expect("small.toml");
    assert_eq!(small.security.db_port, 5432);
    assert_eq!(small.security.app_port, 80);
    assert_eq!(small.iam.instance_role, "small-instance-role");
    assert!(small.compute.imdsv2_required);
    assert_eq!(small.auto_scaling.health_check_type, AsgHealthCheck::Elb);
    assert_eq!(small.database.backup_retention_days, 7);
    assert!(small.database.read_replicas.is_empty());
    assert!(small.dr.is_none());
}

#[test]
fn errors_name_file_line_column_and_what_is_valid() {
    let error = one_error(&lab_with(
        "instance_type = \"t3.micro\"",
        "instnce_type = \"t3.micro\"",
    ));
    assert!(
        error.contains("unknown key `instnce_type` in [compute]; did you mean `instance_type`?"),
        "{error}"
    );
    let line = LAB
        .lines()
        .position(|l| l.starts_with("instance_type"))
        .map(|i| i + 1);
    assert!(
        error.starts_with(&format!("t.toml:{}:1:", line.unwrap_or(0))),
        "{error}"
    );

    let error = one_error(&lab_with(
        "private_subnets = [\"10.0.128.0/20\", \"10.0.144.0/20\"]",
        "private_subnets = [\"10.0.128.0/20\", \"10.1.144.0/20\"]",
    ));
    assert!(
        error.contains(":37: subnet 10.1.144.0/20 is outside the VPC 10.0.0.0/16"),
        "{error}"
    );
    assert!(
        error.contains("expected a block inside 10.0.0.0/16"),
        "{error}"
    );
}

#[test]
fn each_rule_is_enforced() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "region = \"ap-northeast-2\"",
            "region = \"ap-northeast-9\"",
            "did you mean",
        ),
        (
            "nat = \"per-az\"",
            "nat = \"per_az\"",
            "did you mean \"per-az\"?",
        ),
        (
            "azs = [\"ap-northeast-2a\", \"ap-northeast-2b\"]",
            "azs = [\"ap-northeast-2a\", \"us-east-1b\"]",
            "not in the stack's Region",
        ),
        (
            "public_subnets = [\"10.0.0.0/20\", \"10.0.16.0/20\"]",
            "public_subnets = [\"10.0.0.0/20\", \"10.0.8.0/24\"]",
            "overlaps 10.0.0.0/20",
        ),
        (
            "public_subnets = [\"10.0.0.0/20\", \"10.0.16.0/20\"]",
            "public_subnets = [\"10.0.0.0/20\"]",
            "1 public_subnets for 2 Availability Zones",
        ),
        (
            "vpc_cidr = \"10.0.0.0/16\"",
            "vpc_cidr = \"10.0.0.1/16\"",
            "did you mean \"10.0.0.0/16\"?",
        ),
        (
            "timeout = 5",
            "timeout = 15",
            "not shorter than the interval",
        ),
        (
            "healthy_threshold = 3",
            "healthy_threshold = 11",
            "from 2 to 10",
        ),
        ("matcher = \"200\"", "matcher = \"600\"", "within 200–499"),
        ("desired = 2", "desired = 5", "desired 5 is above max 4"),
        ("min = 2", "min = 3", "min 3 is above desired 2"),
        (
            "backup_retention_days = 7",
            "backup_retention_days = 0",
            "source with automated backups",
        ),
        (
            "ssh_from = []",
            "ssh_from = [\"0.0.0.0/0\"]",
            "allow_ssh_from_anywhere = true",
        ),
        (
            "manage_master_user_password = true",
            "master_password = \"hunter2\"",
            "Secrets Manager",
        ),
        (
            "class = \"db.t3.micro\"",
            "class = \"t3.micro\"",
            "\"db.\" and an instance type",
        ),
        ("name = \"lab\"", "name = \"Lab_1\"", "lowercase letters"),
        (
            "min = 2",
            "min = \"2\"",
            "must be an integer, found a string",
        ),
    ];
    for (from, to, wanted) in cases {
        let error = one_error(&lab_with(from, to));
        assert!(error.contains(wanted), "{to}: {error}");
    }
    assert!(errors(&lab_with("nat = \"per-az\"", "nat = \"single\"")).is_empty());
    let anywhere = lab_with(
        "ssh_from = []",
        "ssh_from = [\"0.0.0.0/0\"]\nallow_ssh_from_anywhere = true",
    );
    assert!(errors(&anywhere).is_empty());
}

#[test]
fn a_missing_user_data_file_and_section_are_reported() {
    let errors = parse(LAB, "lab.toml", &|_| false).expect_err("no user data");
    assert_eq!(errors.errors().len(), 1);
    assert!(
        errors
            .to_string()
            .contains("user-data file \"lab-user-data.sh\" does not exist")
    );
    let start = LAB.find("[database]").unwrap_or(LAB.len());
    let error = one_error(&LAB[..start]);
    assert!(
        error.starts_with("t.toml:1:1: missing section [database]"),
        "{error}"
    );
}

#[test]
fn all_problems_come_back_sorted_by_position() {
    let text = lab_with("max = 4", "max = 1").replacen("interval = 15", "interval = 1", 1);
    let errors = errors(&text);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].contains("`interval` = 1 is out of range"),
        "{errors:#?}"
    );
    assert!(
        errors[1].contains("desired 2 is above max 1"),
        "{errors:#?}"
    );
}

#[test]
fn invalid_toml_names_its_position() {
    let error = one_error("[stack]\nname = lab\n");
    assert!(error.starts_with("t.toml:2:8: not valid TOML"), "{error}");
}

#[test]
fn the_json_schema_lists_the_same_keys_as_the_parser() {
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).expect("schema JSON");
    for section in SECTIONS {
        let mut node = &schema;
        for part in section.path.split('.').filter(|p| !p.is_empty()) {
            node = &node["properties"][part];
        }
        let properties = node["properties"].as_object().expect(section.path);
        let mut in_schema: Vec<&str> = properties.keys().map(String::as_str).collect();
        let mut in_parser: Vec<&str> = section.keys.iter().map(|k| k.name).collect();
        in_schema.sort_unstable();
        in_parser.sort_unstable();
        assert_eq!(in_schema, in_parser, "[{}]", section.path);
        let required: Vec<&str> = node["required"]
            .as_array()
            .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        for key in section.keys {
            assert_eq!(
                required.contains(&key.name),
                key.required,
                "{}.{}",
                section.path,
                key.name
            );
        }
    }
}

/// An edit of a blueprint's text; positions are fractions of its length, so they always fall
/// inside whatever the earlier edits left.
#[derive(Debug, Clone)]
enum Edit {
    Delete(f64, usize),
    Insert(f64, u8),
    Replace(f64, u8),
    Truncate(f64),
    SwapLines(f64, f64),
    DoubleLine(f64, f64),
}

fn at(fraction: f64, len: usize) -> usize {
    ((fraction * len as f64) as usize).min(len.saturating_sub(1))
}

fn apply_edit(bytes: &mut Vec<u8>, edit: &Edit) {
    let len = bytes.len();
    match *edit {
        Edit::Delete(f, n) => {
            let start = at(f, len).min(len);
            let end = (start + n).min(len);
            bytes.drain(start..end);
        }
        Edit::Insert(f, b) => bytes.insert(at(f, len).min(len), b),
        Edit::Replace(f, b) => {
            if let Some(x) = bytes.get_mut(at(f, len)) {
                *x = b;
            }
        }
        Edit::Truncate(f) => bytes.truncate(at(f, len)),
        Edit::SwapLines(i, j) | Edit::DoubleLine(i, j) => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let mut lines: Vec<&str> = text.lines().collect();
            if lines.is_empty() {
                return;
            }
            let (i, j) = (at(i, lines.len()), at(j, lines.len()));
            if matches!(edit, Edit::SwapLines(..)) {
                lines.swap(i, j);
            } else {
                let line = lines[i];
                lines.insert(j, line);
            }
            *bytes = lines.join("\n").into_bytes();
        }
    }
}

fn edit() -> impl proptest::strategy::Strategy<Value = Edit> {
    use proptest::prelude::*;
    let byte = prop::sample::select(
        b"[]=\"{}#\n.,-_/0123456789 abcdefghijklmnopqrstuvwxyzT\t\xff".to_vec(),
    );
    prop_oneof![
        (0.0..1.0, 0_usize..12).prop_map(|(f, n)| Edit::Delete(f, n)),
        (0.0..1.0, byte.clone()).prop_map(|(f, b)| Edit::Insert(f, b)),
        (0.0..1.0, byte).prop_map(|(f, b)| Edit::Replace(f, b)),
        (0.0..1.0).prop_map(Edit::Truncate),
        (0.0..1.0, 0.0..1.0).prop_map(|(i, j)| Edit::SwapLines(i, j)),
        (0.0..1.0, 0.0..1.0).prop_map(|(i, j)| Edit::DoubleLine(i, j)),
    ]
}

/// Whatever `parse` says of `text`: no panic, and a refusal names a line and column inside the
/// file with what is wrong and what would be valid. Returns whether it refused.
fn check_refusal(text: &str) -> Result<bool, proptest::test_runner::TestCaseError> {
    let line_count = text.lines().count() + 1;
    let Err(errors) = parse(text, "fuzz.toml", &any_file) else {
        return Ok(false);
    };
    proptest::prop_assert!(!errors.errors().is_empty(), "empty refusal");
    for error in errors.errors() {
        proptest::prop_assert!(
            error.line >= 1 && error.line <= line_count && error.column >= 1,
            "{} is outside the file\n{}",
            error,
            text
        );
        proptest::prop_assert!(
            !error.problem.is_empty() && !error.expected.is_empty(),
            "{}",
            error
        );
    }
    Ok(true)
}

/// Property: mutations of a valid blueprint (bytes deleted, inserted and replaced, lines doubled,
/// swapped and cut) never panic the parser, and every refusal has a position inside the file.
/// A fixed seed keeps CI repeatable; proptest shrinks a failure to the fewest edits.
#[test]
fn mutated_blueprints_never_panic_and_every_refusal_has_a_position() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let config = Config {
        cases: 3000,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[42; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let refused = std::cell::Cell::new(0_usize);
    let strategy = (any::<bool>(), prop::collection::vec(edit(), 1..5));
    let result = runner.run(&strategy, |(lab, edits)| {
        let mut bytes = if lab { LAB } else { SMALL }.as_bytes().to_vec();
        for e in &edits {
            apply_edit(&mut bytes, e);
        }
        if check_refusal(&String::from_utf8_lossy(&bytes))? {
            refused.set(refused.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(
        refused.get() > 500,
        "the mutations do break blueprints: {}",
        refused.get()
    );
}

/// Property: any text at all (random Unicode, control characters, huge numbers) gets a result or
/// a positioned refusal, never a panic.
#[test]
fn any_text_is_parsed_or_refused_with_a_position() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let config = Config {
        cases: 1000,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[43; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let text = prop_oneof![
        any::<String>(),
        "(\\[[a-z_.]{0,12}\\]\n|[a-z_]{1,10} = (\"[^\"]{0,8}\"|-?[0-9]{1,25}|\\[\\]|true)\n){0,12}",
    ];
    let result = runner.run(&text, |text| check_refusal(&text).map(|_| ()));
    if let Err(e) = result {
        panic!("{e}");
    }
}

const FRONT_DOOR: &str = "\n[dns]\nzone = \"example.com\"\ncreate_zone = true\nrecord = \
                          \"lab.example.com\"\n\n[https]\n";

#[test]
fn dns_and_https_take_their_defaults() {
    let text = format!("{LAB}{FRONT_DOOR}");
    let lab = parse(&text, "lab.toml", &any_file).expect("lab + front door");
    let dns = lab.dns.as_ref().expect("[dns]");
    assert_eq!(dns.zone, "example.com");
    assert_eq!(dns.record, "lab.example.com");
    assert!(dns.create_zone && dns.alias);
    assert_eq!(dns.routing, DnsRouting::Failover);
    assert_eq!(dns.ttl, 60);
    assert_eq!(dns.health_check_path, lab.load_balancer.health_check.path);
    assert_eq!(dns.weights, [100, 0]);
    let https = lab.https.as_ref().expect("[https]");
    assert_eq!(https.certificate, CertificateSource::Request);
    assert_eq!(https.port, 443);
    assert_eq!(https.tls_policy, "ELBSecurityPolicy-TLS13-1-2-Res-2021-06");
    assert!(https.redirect_http);
    let alb = &crate::plan::layout::security_groups(&lab)[0];
    let ports: Vec<i32> = alb.rules.iter().map(|r| r.port).collect();
    assert_eq!(ports, vec![80, 443]);
    // Without the sections nothing changes.
    let plain = parse(LAB, "lab.toml", &any_file).expect("lab");
    assert!(plain.dns.is_none() && plain.https.is_none());
}

#[test]
fn dns_and_https_rules_are_enforced() {
    let with = |extra: &str| format!("{LAB}{extra}");
    let cases: &[(String, &str, &str)] = &[
        (
            with("\n[dns]\nzone = \"example.com\"\nrecord = \"lab.example.org\"\n"),
            "5:",
            "not inside the zone",
        ),
        (
            with(
                "\n[dns]\nzone = \"example.com\"\nrecord = \"example.com\"\nalias = false\n\
                 ttl = 300\n",
            ),
            "",
            "not allow at the zone apex",
        ),
        (
            with("\n[dns]\nzone = \"example.com\"\nrecord = \"lab.example.com\"\nttl = 300\n"),
            "",
            "alias = false",
        ),
        (
            with(
                "\n[dns]\nzone = \"example.com\"\nrecord = \"lab.example.com\"\nrouting = \
                 \"failovr\"\n",
            ),
            "",
            "did you mean \"failover\"?",
        ),
        (
            with(
                "\n[dns]\nzone = \"example.com\"\nrecord = \"lab.example.com\"\nrouting = \
                 \"weighted\"\nweights = [0, 0]\n",
            ),
            "",
            "at least one weight above 0",
        ),
        (
            with(
                "\n[dns]\nzone = \"example.com\"\nrecord = \"lab.example.com\"\nrouting = \
                 \"weighted\"\nweights = [300, 0]\n",
            ),
            "",
            "from 0 to 255",
        ),
        (
            with(
                "\n[dns]\nzone = \"example.com\"\nrecord = \"lab.example.com\"\nweights = [1, 2]\n",
            ),
            "",
            "routing = \"weighted\"",
        ),
        (
            with("\n[dns]\nzone = \"example.com\"\n"),
            "",
            "missing key `record` in [dns]",
        ),
        (with("\n[https]\n"), "", "needs a [dns] section"),
        (
            with(
                "\n[https]\ncertificate = \
                 \"arn:aws:acm:us-east-1:123456789012:certificate/abc\"\n",
            ),
            "",
            "not in the stack's Region ap-northeast-2",
        ),
        (
            with("\n[https]\ncertificate = \"requested\"\n"),
            "",
            "neither \"request\" nor an ACM certificate ARN",
        ),
        (
            format!("{LAB}{FRONT_DOOR}tls_policy = \"ELBSecurityPolicy-TLS13-1-2-2021-6\"\n"),
            "",
            "did you mean \"ELBSecurityPolicy-TLS13-1-2-2021-06\"?",
        ),
        (
            format!("{LAB}{FRONT_DOOR}port = 80\n"),
            "",
            "listener_port already",
        ),
        (
            format!("{LAB}{FRONT_DOOR}redirect_htp = true\n"),
            "",
            "did you mean `redirect_http`?",
        ),
    ];
    for (text, _, wanted) in cases {
        let error = one_error(text);
        assert!(error.contains(wanted), "{wanted:?} not in {error}");
        assert!(error.starts_with("t.toml:"), "{error}");
    }
    // [https] beside an HTTPS [load_balancer] listener: say which to keep.
    let https_lb = lab_with(
        "listener_protocol = \"HTTP\"",
        "listener_protocol = \"HTTPS\"\ncertificate_arn = \
         \"arn:aws:acm:ap-northeast-2:123456789012:certificate/abc\"",
    );
    let error = one_error(&format!("{https_lb}{FRONT_DOOR}"));
    assert!(
        error.contains("listener_protocol is \"HTTPS\" already"),
        "{error}"
    );
    assert!(error.contains("keep [https]"), "{error}");
}
