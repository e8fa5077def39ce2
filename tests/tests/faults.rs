//! haven under faults and interruption, against moto through the chaos proxy: 20% throttling,
//! 5% server errors, dropped connections and latency spikes, several fixed seeds. Discovery sees
//! the same topology as without faults; `up`, `replicate` and `down` converge with nothing
//! duplicated or left behind; `down` and `replicate` killed with SIGKILL at seeded points and run
//! again converge too. Every failure message names its seed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use haven_model::Topology;
use haven_testkit::lab::{self, DR, PRIMARY};
use haven_testkit::{Chaos, Faults, MotoServer, Proxy};
use haven_tests::{
    Reliability, haven, haven_process, inventory, is_mutating, record_reliability, text,
};
use serde_json::Value;

/// Attempts per call under chaos: 25% of calls fail, so ten attempts make a lost call
/// practically impossible (0.25^10).
const ATTEMPTS: &str = "10";

fn lab_blueprint() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/blueprints/lab.toml")
}

/// Runs haven through `endpoint` with enough attempts for chaos; panics naming `seed`.
fn run(endpoint: &str, home: &tempfile::TempDir, seed: u64, args: &[&str]) -> String {
    let output = haven(endpoint, home)
        .env("AWS_MAX_ATTEMPTS", ATTEMPTS)
        .args(args)
        .output()
        .expect("run haven");
    assert!(
        output.status.success(),
        "seed {seed}: haven {} failed: {}",
        args.join(" "),
        text(&output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn snapshot_json(endpoint: &str, home: &tempfile::TempDir, seed: u64) -> Value {
    let json = run(
        endpoint,
        home,
        seed,
        &[
            "--regions",
            &format!("{PRIMARY},{DR}"),
            "snapshot",
            "--output",
            "json",
        ],
    );
    let mut value: Value = serde_json::from_str(&json).expect("topology JSON");
    if let Some(object) = value.as_object_mut() {
        object.remove("taken_at");
    }
    value
}

fn topology(endpoint: &str, home: &tempfile::TempDir) -> Topology {
    let value = snapshot_json(endpoint, home, 0);
    let mut object = value.as_object().cloned().unwrap_or_default();
    object.insert("taken_at".into(), Value::from("2026-11-22T00:00:00Z"));
    serde_json::from_value(Value::Object(object)).expect("topology")
}

fn injected(proxy: &Proxy) -> usize {
    proxy.requests().iter().filter(|r| r.injected).count()
}

fn chaos_proxy(moto: &MotoServer, seed: u64) -> Proxy {
    Proxy::start(
        &moto.endpoint(),
        Faults::none().with_chaos(Chaos::standard(seed)),
    )
    .expect("proxy")
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_under_faults_returns_the_same_topology() {
    let moto = MotoServer::start().expect("moto");
    lab::build(&moto.endpoint()).await.expect("lab");
    let home = tempfile::tempdir().expect("temp dir");
    let baseline = snapshot_json(&moto.endpoint(), &home, 0);
    assert_eq!(baseline["errors"], Value::Array(Vec::new()));
    let mut record = Reliability::default();
    for seed in [11, 12, 13] {
        let proxy = chaos_proxy(&moto, seed);
        let seen = snapshot_json(&proxy.endpoint(), &home, seed);
        assert!(injected(&proxy) > 0, "seed {seed}: no fault was injected");
        assert!(
            seen == baseline,
            "seed {seed}: the topology under faults differs"
        );
        record.faults_injected += injected(&proxy);
        record.runs += 1;
        record.resources_checked += baseline["regions"].as_array().map_or(0, |r| {
            r.iter().map(|r| r.as_object().map_or(0, |o| o.len())).sum()
        });
    }
    record_reliability("discovery_under_faults", &record);
}

/// Copies in `region` per source, by the links discovery makes.
fn copies_per_source(topology: &Topology) -> BTreeMap<String, usize> {
    let mut count = BTreeMap::new();
    for link in topology
        .snapshot_copies()
        .into_iter()
        .chain(topology.image_copies())
    {
        *count.entry(link.source.id).or_insert(0) += 1;
    }
    if let Some(dr) = topology.region(DR) {
        for snapshot in &dr.db_snapshots {
            if let Some(source) = snapshot.tags.get(haven_model::relations::SOURCE_TAG) {
                *count.entry(source.clone()).or_insert(0) += 1;
            }
        }
    }
    count
}

#[test]
fn up_replicate_and_down_under_faults_leave_no_duplicate_and_nothing_behind() {
    let moto = MotoServer::start().expect("moto");
    let home = tempfile::tempdir().expect("temp dir");
    let blueprint = lab_blueprint();
    let blueprint = blueprint.to_str().expect("path");
    run(&moto.endpoint(), &home, 0, &["up", blueprint]);
    let whole = inventory(&topology(&moto.endpoint(), &home));
    let mut record = Reliability::default();
    for seed in [21, 22] {
        moto.reset().expect("reset");
        let proxy = chaos_proxy(&moto, seed);
        run(&proxy.endpoint(), &home, seed, &["up", blueprint]);
        let built = inventory(&topology(&moto.endpoint(), &home));
        assert_eq!(
            built, whole,
            "seed {seed}: up under faults built another stack"
        );

        // Data to protect, then replicate under faults.
        let lab = topology(&moto.endpoint(), &home);
        let volume = lab.region(PRIMARY).expect("primary").volumes[0].id.clone();
        let direct = moto.endpoint();
        let act = |args: &[&str]| {
            let mut all = vec!["--region", PRIMARY, "act", "--yes"];
            all.extend_from_slice(args);
            run(&direct, &home, seed, &all)
        };
        act(&["volume-snapshot", &volume]);
        act(&["rds-snapshot", "lab-db", "--snapshot-id", "lab-db-manual-1"]);
        let key = haven_tests::kms_key(&direct, DR);
        let kms = format!("{DR}={key}");
        run(
            &proxy.endpoint(),
            &home,
            seed,
            &[
                "--region",
                PRIMARY,
                "replicate",
                "--to",
                DR,
                "--yes",
                "--kms-key",
                &kms,
            ],
        );
        let copies = copies_per_source(&topology(&direct, &home));
        assert_eq!(copies.len(), 2, "seed {seed}: {copies:?}");
        assert!(
            copies.values().all(|n| *n == 1),
            "seed {seed}: duplicate copies {copies:?}"
        );

        run(
            &proxy.endpoint(),
            &home,
            seed,
            // The DR network stays while the DR replica does: both go.
            &["down", blueprint, "--yes", "--include-dr-copies"],
        );
        let left = inventory(&topology(&direct, &home));
        assert_eq!(left, BTreeMap::new(), "seed {seed}: down left these behind");
        record.faults_injected += injected(&proxy);
        record.runs += 3;
        record.resources_checked += whole.len() + copies.len();
    }
    record_reliability("stack_under_faults", &record);
}

/// Starts haven and kills it (SIGKILL) once `calls` mutating requests have gone through.
fn killed(proxy: &Proxy, home: &tempfile::TempDir, args: &[&str], calls: usize) {
    let mut child = haven_process(&proxy.endpoint(), home)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start haven");
    let started = Instant::now();
    let mutating = || {
        proxy
            .requests()
            .iter()
            .filter(|r| is_mutating(&r.action))
            .count()
    };
    while mutating() < calls
        && child.try_wait().expect("poll").is_none()
        && started.elapsed() < Duration::from_secs(120)
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().ok();
    child.wait().expect("reap haven");
}

/// Kill points from a seed: `count` numbers in `1..=max`.
fn kill_points(seed: u64, count: usize, max: usize) -> Vec<usize> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % max as u64).unwrap_or(0) + 1
        })
        .collect()
}

#[test]
fn down_killed_at_seeded_points_and_run_again_leaves_nothing() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let blueprint = lab_blueprint();
    let blueprint = blueprint.to_str().expect("path");
    let mut record = Reliability::default();
    for (seed, calls) in kill_points(31, 10, 40).into_iter().enumerate() {
        moto.reset().expect("reset");
        run(&moto.endpoint(), &home, 0, &["up", blueprint]);
        proxy.clear_requests();
        killed(&proxy, &home, &["down", blueprint, "--yes"], calls);
        run(&moto.endpoint(), &home, 0, &["down", blueprint, "--yes"]);
        let left = inventory(&topology(&moto.endpoint(), &home));
        assert_eq!(
            left,
            BTreeMap::new(),
            "kill point {seed} (after {calls} calls): left behind"
        );
        record.runs += 2;
    }
    record_reliability("down_killed", &record);
}

#[tokio::test(flavor = "multi_thread")]
async fn replicate_killed_at_seeded_points_and_run_again_copies_each_source_once() {
    let moto = MotoServer::start().expect("moto");
    let proxy = Proxy::start(&moto.endpoint(), Faults::none()).expect("proxy");
    let home = tempfile::tempdir().expect("temp dir");
    let mut record = Reliability::default();
    for (seed, calls) in kill_points(41, 10, 6).into_iter().enumerate() {
        moto.reset().expect("reset");
        lab::launch_instances(&moto.endpoint(), PRIMARY, 6)
            .await
            .expect("instances");
        let volumes: Vec<String> = topology(&moto.endpoint(), &home)
            .region(PRIMARY)
            .expect("primary")
            .volumes
            .iter()
            .map(|v| v.id.clone())
            .collect();
        for volume in &volumes {
            run(
                &moto.endpoint(),
                &home,
                0,
                &[
                    "--region",
                    PRIMARY,
                    "act",
                    "--yes",
                    "volume-snapshot",
                    volume,
                ],
            );
        }
        proxy.clear_requests();
        let args = [
            "--region",
            PRIMARY,
            "replicate",
            "--to",
            DR,
            "--no-replica",
            "--all",
            "--yes",
        ];
        killed(&proxy, &home, &args, calls);
        run(&moto.endpoint(), &home, 0, &args);
        let copies = copies_per_source(&topology(&moto.endpoint(), &home));
        assert_eq!(copies.len(), volumes.len(), "kill point {seed}: {copies:?}");
        assert!(
            copies.values().all(|n| *n == 1),
            "kill point {seed} (after {calls} calls): duplicates {copies:?}"
        );
        record.runs += 2;
        record.resources_checked += copies.len();
    }
    record_reliability("replicate_killed", &record);
}
