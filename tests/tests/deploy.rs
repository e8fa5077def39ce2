//! The acceptance scenarios of issue 18 with the real `haven` binary against moto with AWS
//! realism (targets `initial` for the healthy threshold, `draining` for the deregistration delay,
//! instances spread over the group's AZs): a blue/green deploy of a new AMI to 100 % with blue
//! kept until `--finish`, a rolling deploy by batches that never leaves an AZ without a healthy
//! target, and a deploy killed mid-shift that continues when run again.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use haven_testkit::lab::PRIMARY;
use haven_testkit::{Faults, MotoServer, Proxy, Realism};
use haven_tests::{haven_process, moto_query, text};

fn lab_blueprint() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("assets/blueprints/lab.toml")
}

fn haven(proxy: &Proxy, home: &tempfile::TempDir, args: &[&str]) -> Command {
    let mut command = haven_process(&proxy.endpoint(), home);
    command.args(args);
    command
}

/// Runs `command` to its end (at most `limit`).
fn run(mut command: Command, limit: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start haven");
    let (mut out, mut err) = (
        child.stdout.take().expect("stdout"),
        child.stderr.take().expect("stderr"),
    );
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll") {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().ok();
            break child.wait().expect("reap");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().expect("stdout"),
        stderr: err.join().expect("stderr"),
    }
}

/// The lab built by `haven up` through a realism proxy, and a new AMI to deploy.
struct Stack {
    moto: MotoServer,
    proxy: Proxy,
    home: tempfile::TempDir,
    ami: String,
}

fn stack(realism: Realism) -> Stack {
    let moto = MotoServer::start().expect("moto");
    let proxy =
        Proxy::start(&moto.endpoint(), Faults::none().with_realism(realism)).expect("proxy");
    let home = tempfile::tempdir().expect("home");
    let blueprint = lab_blueprint();
    let mut up = haven(&proxy, &home, &["up", "--yes"]);
    up.arg(&blueprint);
    let output = run(up, Duration::from_secs(600));
    assert!(output.status.success(), "haven up: {}", text(&output));
    // The new version: an AMI made from one of the lab's instances.
    let instance = instance_ids(&moto, "lab-asg")[0].clone();
    let created = moto_query(
        &moto.endpoint(),
        PRIMARY,
        "ec2",
        &[
            ("Action", "CreateImage"),
            ("Version", "2016-11-15"),
            ("InstanceId", &instance),
            ("Name", "lab-web-v2"),
        ],
    );
    let ami = haven_tests::xml_value(&created, "imageId").expect("an AMI");
    Stack {
        moto,
        proxy,
        home,
        ami,
    }
}

fn deploy(stack: &Stack, extra: &[&str]) -> Command {
    let blueprint = lab_blueprint();
    let mut command = haven(&stack.proxy, &stack.home, &["deploy"]);
    command.arg(&blueprint).args(["--poll", "200ms", "--yes"]);
    if !extra.contains(&"--health-timeout") {
        command.args(["--health-timeout", "30s"]);
    }
    command.args(extra);
    command
}

fn query(moto: &MotoServer, service: &str, params: &[(&str, &str)]) -> String {
    moto_query(&moto.endpoint(), PRIMARY, service, params)
}

/// Every value of `<tag>` in `xml`, in order.
fn values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(v, _)| v.to_string()))
        .collect()
}

fn group_names(moto: &MotoServer) -> Vec<String> {
    let xml = query(
        moto,
        "autoscaling",
        &[
            ("Action", "DescribeAutoScalingGroups"),
            ("Version", "2011-01-01"),
        ],
    );
    values(&xml, "AutoScalingGroupName")
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn instance_ids(moto: &MotoServer, group: &str) -> Vec<String> {
    let xml = query(
        moto,
        "autoscaling",
        &[
            ("Action", "DescribeAutoScalingGroups"),
            ("Version", "2011-01-01"),
            ("AutoScalingGroupNames.member.1", group),
        ],
    );
    values(&xml, "InstanceId")
}

fn images(moto: &MotoServer, ids: &[String]) -> Vec<String> {
    let mut params = vec![
        ("Action".to_string(), "DescribeInstances".to_string()),
        ("Version".to_string(), "2016-11-15".to_string()),
    ];
    for (i, id) in ids.iter().enumerate() {
        params.push((format!("InstanceId.{}", i + 1), id.clone()));
    }
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    values(&query(moto, "ec2", &borrowed), "imageId")
}

/// The listener's forward weights by target group name.
fn weights(moto: &MotoServer) -> Vec<(String, i32)> {
    let lbs = query(
        moto,
        "elasticloadbalancing",
        &[
            ("Action", "DescribeLoadBalancers"),
            ("Version", "2015-12-01"),
        ],
    );
    let lb = values(&lbs, "LoadBalancerArn")[0].clone();
    let listeners = query(
        moto,
        "elasticloadbalancing",
        &[
            ("Action", "DescribeListeners"),
            ("Version", "2015-12-01"),
            ("LoadBalancerArn", &lb),
        ],
    );
    let forward = listeners
        .split("<ForwardConfig>")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let arns = values(&forward, "TargetGroupArn");
    let weights = values(&forward, "Weight");
    if arns.is_empty() {
        // A plain forward: all to its one target group.
        let arn = values(&listeners, "TargetGroupArn")[0].clone();
        return vec![(name_of(&arn), 100)];
    }
    arns.iter()
        .zip(weights.iter().chain(std::iter::repeat(&"1".to_string())))
        .map(|(arn, w)| (name_of(arn), w.parse().unwrap_or(0)))
        .collect()
}

fn name_of(arn: &str) -> String {
    arn.split('/').nth(1).unwrap_or(arn).to_string()
}

fn green_share(moto: &MotoServer) -> i32 {
    let all = weights(moto);
    let total: i32 = all.iter().map(|(_, w)| w).sum();
    let green: i32 = all
        .iter()
        .filter(|(name, _)| name != "lab-tg")
        .map(|(_, w)| w)
        .sum();
    if total == 0 { 0 } else { green * 100 / total }
}

fn action_log(home: &tempfile::TempDir) -> String {
    let path = home.path().join("data").join("actions.jsonl");
    std::fs::read_to_string(&path).unwrap_or_default()
}

#[test]
fn blue_green_deploy_of_a_new_ami_ends_on_green_and_keeps_blue_until_finish() {
    let stack = stack(Realism::aws().spread_launches());
    // --dry-run: every step and its API calls, nothing sent.
    let before = stack.proxy.requests().len();
    let dry = run(
        deploy(
            &stack,
            &["--image", &stack.ami, "--steps", "50,100", "--dry-run"],
        ),
        Duration::from_secs(60),
    );
    let planned = text(&dry);
    assert!(dry.status.success(), "{planned}");
    for line in [
        "create green",
        "shift 50 % to green",
        "CreateAutoScalingGroup",
        "ModifyListener",
        "PutScalingPolicy",
        "nothing was sent",
    ] {
        assert!(
            planned.contains(line),
            "no {line:?} in the dry run: {planned}"
        );
    }
    assert!(
        stack.proxy.requests()[before..]
            .iter()
            .all(|r| !haven_tests::is_mutating(&r.action)),
        "{planned}"
    );
    let output = run(
        deploy(
            &stack,
            &["--image", &stack.ami, "--steps", "50,100", "--bake", "1s"],
        ),
        Duration::from_secs(300),
    );
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    for step in [
        "create green",
        "shift 50 % to green",
        "shift 100 % to green",
        "watch",
    ] {
        assert!(said.contains(step), "no step {step:?}: {said}");
    }
    assert!(said.contains("--finish"), "{said}");

    // All traffic on green, whose instances run the new AMI; blue is still there.
    let groups = group_names(&stack.moto);
    let green = groups
        .iter()
        .find(|g| g.starts_with("lab-asg-d"))
        .expect("a green group")
        .clone();
    assert_eq!(green_share(&stack.moto), 100, "{:?}", weights(&stack.moto));
    let members = instance_ids(&stack.moto, &green);
    assert_eq!(members.len(), 2);
    assert!(
        images(&stack.moto, &members)
            .iter()
            .all(|i| *i == stack.ami),
        "green runs {:?}",
        images(&stack.moto, &members)
    );
    assert!(
        groups.contains(&"lab-asg".to_string()),
        "blue kept: {groups:?}"
    );
    // Green's target group drains like blue's (the blueprint's 30 s, not AWS's 300 s).
    let green_tg = weights(&stack.moto)
        .into_iter()
        .map(|(name, _)| name)
        .find(|name| name != "lab-tg")
        .expect("green's target group");
    let attributes = query(
        &stack.moto,
        "elasticloadbalancing",
        &[
            ("Action", "DescribeTargetGroupAttributes"),
            ("Version", "2015-12-01"),
            ("TargetGroupArn", &target_group_arn(&stack.moto, &green_tg)),
        ],
    );
    let delay = attributes
        .split("<member>")
        .find(|m| m.contains("deregistration_delay.timeout_seconds"))
        .and_then(|m| values(m, "Value").into_iter().next());
    assert_eq!(delay.as_deref(), Some("30"), "{attributes}");
    assert_eq!(instance_ids(&stack.moto, "lab-asg").len(), 2);

    // Run again: it reports where the deploy stands and sends nothing.
    let before = stack.proxy.requests().len();
    let again = run(
        deploy(&stack, &["--image", &stack.ami]),
        Duration::from_secs(60),
    );
    assert!(again.status.success(), "{}", text(&again));
    let mutating = stack.proxy.requests()[before..]
        .iter()
        .filter(|r| haven_tests::is_mutating(&r.action))
        .count();
    assert_eq!(mutating, 0, "{}", text(&again));

    // --status names the deploy and its step.
    let status = run(deploy(&stack, &["--status"]), Duration::from_secs(60));
    assert!(text(&status).contains("step watch"), "{}", text(&status));

    // `haven up` now would change what the deploy is changing: refused, nothing sent.
    let before = stack.proxy.requests().len();
    let mut up = haven(&stack.proxy, &stack.home, &["up", "--yes"]);
    up.arg(lab_blueprint());
    let refused = run(up, Duration::from_secs(120));
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("is running"), "{}", text(&refused));
    assert!(
        stack.proxy.requests()[before..]
            .iter()
            .all(|r| !haven_tests::is_mutating(&r.action))
    );

    // --finish deletes blue and its target group; the listener forwards to green alone.
    let finish = run(deploy(&stack, &["--finish"]), Duration::from_secs(120));
    assert!(finish.status.success(), "{}", text(&finish));
    assert!(!group_names(&stack.moto).contains(&"lab-asg".to_string()));
    assert!(
        weights(&stack.moto)
            .iter()
            .all(|(name, _)| name != "lab-tg")
    );
    // The blueprint's plan takes green (and its target group) for the stack's group: nothing
    // to create or delete, the target group and the listener as they are. (The blueprint still
    // names the old image: its plan would take the group back to it until the blueprint says
    // the new one, which the finish line asks for.)
    assert!(text(&finish).contains("[compute] ami"), "{}", text(&finish));
    let mut plan = haven(&stack.proxy, &stack.home, &["plan"]);
    plan.arg(lab_blueprint());
    let planned = text(&run(plan, Duration::from_secs(120)));
    assert!(
        planned.contains("0 to create") && planned.contains("0 to delete"),
        "{planned}"
    );
    for kind in [
        "target-group/target-group",
        "listener/listener-80",
        "scaling-policy/cpu-target",
    ] {
        assert!(
            planned
                .lines()
                .any(|l| l.contains(kind) && l.starts_with("unchanged")),
            "{kind} after the deploy: {planned}"
        );
    }
    let log = action_log(&stack.home);
    for name in [
        "deploy-create-group",
        "listener-weights",
        "deploy-delete-group",
    ] {
        assert!(log.contains(name), "the action log has no {name}: {log}");
    }
}

#[test]
fn rolling_by_batches_replaces_every_instance_keeping_a_healthy_target_in_every_az() {
    let stack = stack(Realism::aws().spread_launches());
    // Watch the load balancer through the proxy (realism's target states) while it runs.
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let endpoint = stack.proxy.endpoint();
    let tg = target_group_arn(&stack.moto, "lab-tg");
    // The lab is healthy in both AZs before the deploy (its targets passed their first checks).
    let started = Instant::now();
    while healthy_azs(&endpoint, &tg) != "ap-northeast-2a,ap-northeast-2b" {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{}",
            healthy_azs(&endpoint, &tg)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let watcher = {
        let (stop, seen) = (Arc::clone(&stop), Arc::clone(&seen));
        let (endpoint, tg) = (endpoint.clone(), tg.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                seen.lock().expect("lock").push(healthy_azs(&endpoint, &tg));
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let before = instance_ids(&stack.moto, "lab-asg");
    let output = run(
        deploy(
            &stack,
            &[
                "--image",
                &stack.ami,
                "--strategy",
                "rolling",
                "--rolling-mode",
                "batches",
            ],
        ),
        Duration::from_secs(300),
    );
    stop.store(true, Ordering::Relaxed);
    watcher.join().expect("watcher");
    let said = text(&output);
    assert!(output.status.success(), "{said}");

    let after = instance_ids(&stack.moto, "lab-asg");
    assert_eq!(after.len(), 2, "{said}");
    assert!(
        after.iter().all(|id| !before.contains(id)),
        "{before:?} → {after:?}"
    );
    assert!(images(&stack.moto, &after).iter().all(|i| *i == stack.ami));
    let seen = seen.lock().expect("lock");
    assert!(seen.len() > 5, "the watcher saw the deploy: {}", seen.len());
    for (i, azs) in seen.iter().enumerate() {
        assert!(
            azs.contains("ap-northeast-2a") && azs.contains("ap-northeast-2b"),
            "at observation {i} the healthy targets were only in {azs:?}: {said}"
        );
    }
}

fn target_group_arn(moto: &MotoServer, name: &str) -> String {
    let xml = query(
        moto,
        "elasticloadbalancing",
        &[
            ("Action", "DescribeTargetGroups"),
            ("Version", "2015-12-01"),
            ("Names.member.1", name),
        ],
    );
    values(&xml, "TargetGroupArn")[0].clone()
}

/// The AZs (comma-joined) of the healthy targets of `tg`, as seen through the proxy.
fn healthy_azs(endpoint: &str, tg: &str) -> String {
    let health = moto_query(
        endpoint,
        PRIMARY,
        "elasticloadbalancing",
        &[
            ("Action", "DescribeTargetHealth"),
            ("Version", "2015-12-01"),
            ("TargetGroupArn", tg),
        ],
    );
    let healthy: Vec<String> = health
        .split("<member>")
        .skip(1)
        .filter(|m| m.contains("<State>healthy</State>"))
        .filter_map(|m| values(m, "Id").into_iter().next())
        .collect();
    if healthy.is_empty() {
        return String::new();
    }
    let mut params = vec![
        ("Action".to_string(), "DescribeInstances".to_string()),
        ("Version".to_string(), "2016-11-15".to_string()),
    ];
    for (i, id) in healthy.iter().enumerate() {
        params.push((format!("InstanceId.{}", i + 1), id.clone()));
    }
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let xml = moto_query(endpoint, PRIMARY, "ec2", &borrowed);
    let mut azs = values(&xml, "availabilityZone");
    azs.sort();
    azs.dedup();
    azs.join(",")
}

#[test]
fn a_deploy_killed_mid_shift_continues_from_the_weights_it_finds() {
    let stack = stack(Realism::aws().spread_launches());
    let args = [
        "--image",
        stack.ami.as_str(),
        "--steps",
        "10,50,100",
        "--bake",
        "4s",
    ];
    let mut first = deploy(&stack, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start haven");
    // Kill it once green takes traffic.
    let started = Instant::now();
    while green_share(&stack.moto) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "green never took traffic"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    first.kill().expect("kill");
    first.wait().expect("reap");
    let share = green_share(&stack.moto);
    assert!((1..100).contains(&share), "killed mid-shift at {share} %");

    let again = run(deploy(&stack, &args), Duration::from_secs(300));
    let said = text(&again);
    assert!(again.status.success(), "{said}");
    assert!(
        !said.contains("create green"),
        "green is not made twice: {said}"
    );
    assert_eq!(green_share(&stack.moto), 100, "{said}");
    let greens: Vec<String> = group_names(&stack.moto)
        .into_iter()
        .filter(|g| g.starts_with("lab-asg-d"))
        .collect();
    assert_eq!(greens.len(), 1, "{greens:?}");
}

#[test]
fn bad_flags_and_read_only_send_nothing() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("home");
    let blueprint = lab_blueprint();
    for (args, expected) in [
        (vec!["--image", "not-an-ami"], "is not an AMI id"),
        (vec!["--image", "ami-0abc", "--bake", "5 minutes"], "--bake"),
        (
            vec![
                "--image",
                "ami-0abc",
                "--strategy",
                "canary",
                "--canary",
                "100",
            ],
            "between 1 and 99",
        ),
    ] {
        let mut command = haven(&proxy, &home, &["deploy"]);
        command.arg(&blueprint).args(&args);
        let output = run(command, Duration::from_secs(30));
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output));
        assert!(
            text(&output).contains(expected),
            "{args:?}: {}",
            text(&output)
        );
    }
    let mut command = haven(&proxy, &home, &["--read-only", "deploy"]);
    command
        .arg(&blueprint)
        .args(["--image", "ami-0abc", "--yes"]);
    let output = run(command, Duration::from_secs(30));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("read-only"), "{}", text(&output));
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
}

#[test]
fn a_green_that_never_becomes_healthy_is_rolled_back_on_its_own_naming_the_gate() {
    let stack = stack(Realism::aws().spread_launches());
    // The new image is broken: its instances fail the load balancer's health checks.
    stack.proxy.set_faults(
        Faults::none().with_realism(Realism::aws().spread_launches().unhealthy_image(&stack.ami)),
    );
    let output = run(
        deploy(
            &stack,
            &[
                "--image",
                &stack.ami,
                "--health-timeout",
                "3s",
                "--bake",
                "1s",
            ],
        ),
        Duration::from_secs(300),
    );
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("ROLLING BACK"), "{said}");
    assert!(
        said.contains("healthy-per-az"),
        "the failed gate is named: {said}"
    );
    assert!(said.contains("rolled back"), "{said}");
    // Everything on blue, green gone.
    assert_eq!(green_share(&stack.moto), 0, "{:?}", weights(&stack.moto));
    let groups = group_names(&stack.moto);
    assert!(
        groups.iter().all(|g| !g.starts_with("lab-asg-d")),
        "green removed: {groups:?}"
    );
    assert_eq!(instance_ids(&stack.moto, "lab-asg").len(), 2);
    // Running it again reports the rollback; it does not start again.
    let again = run(
        deploy(&stack, &["--image", &stack.ami]),
        Duration::from_secs(60),
    );
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(text(&again).contains("was rolled back"), "{}", text(&again));
}
