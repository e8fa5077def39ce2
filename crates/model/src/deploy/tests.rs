//! The deploy model driven step by step against a small simulation of AWS built on the lab
//! fixtures: what `next` asks is applied to the topology, instances launch and become healthy
//! (or not), and the invariants are checked after every call.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::{Strategy as _, prop_assert, prop_assert_eq, proptest};

use super::*;
use crate::action::ActionKind;
use crate::topology::ListenerAction;
use crate::topology::{
    AsgInstance, InstanceState, LaunchTemplateRef, LaunchTemplateVersion, LoadBalancer, Target,
    TargetGroup, Topology, WeightedTargetGroup,
};

const LISTENER: &str = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:listener/app/lab-alb/a23db4bf7f2e5534/listener/78cd15dc6792a14a";
const BLUE_TG: &str = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/lab-web-tg/7a90e8168e7730ff";

fn fixture(text: &str) -> RegionTopology {
    let topology = Topology::from_json(text).expect("the fixture reads");
    let mut region = topology.regions[0].clone();
    for group in &mut region.auto_scaling_groups {
        group.tags.insert(STACK_TAG.into(), "lab".into());
    }
    region
}

fn lab() -> RegionTopology {
    fixture(include_str!("../../../../assets/fixtures/lab-healthy.json"))
}

fn degraded() -> RegionTopology {
    fixture(include_str!(
        "../../../../assets/fixtures/lab-degraded.json"
    ))
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .expect("a time")
        .with_timezone(&Utc)
}

fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

fn spec(id: &str, strategy: Strategy) -> DeploySpec {
    DeploySpec {
        id: id.into(),
        stack: "lab".into(),
        region: "ap-northeast-2".into(),
        version: NewVersion::Image("ami-0new".into()),
        strategy,
        gates: Gate::defaults(),
        health_timeout: minutes(10),
    }
}

fn blue_green(steps: &[u8]) -> Strategy {
    Strategy::BlueGreen {
        steps: steps.to_vec(),
        bake: minutes(5),
        keep_blue: true,
    }
}

fn batches(batch: u32, min: u8) -> Strategy {
    Strategy::Rolling {
        batch,
        min_healthy_percent: min,
        mode: RollingMode::Batches,
    }
}

/// A tiny AWS: applies deploy calls to a topology; instances launch `Pending`, and on
/// [`World::settle`] come in service with their targets healthy (or stay `initial` when
/// `green_never_healthy`).
struct World {
    region: RegionTopology,
    now: DateTime<Utc>,
    launched: u32,
    never_healthy: bool,
    refresh: Option<i64>,
    /// Green's share of the traffic after every call, for assertions.
    percents: Vec<u8>,
}

impl World {
    fn new(region: RegionTopology) -> Self {
        World {
            region,
            now: t0(),
            launched: 0,
            never_healthy: false,
            refresh: None,
            percents: Vec::new(),
        }
    }

    fn group_mut(&mut self, name: &str) -> &mut AutoScalingGroup {
        self.region
            .auto_scaling_groups
            .iter_mut()
            .find(|g| g.name == name)
            .expect("the group exists")
    }

    fn group(&self, name: &str) -> &AutoScalingGroup {
        self.region
            .auto_scaling_groups
            .iter()
            .find(|g| g.name == name)
            .expect("the group exists")
    }

    fn template(&mut self) -> &mut crate::topology::LaunchTemplate {
        &mut self.region.launch_templates[0]
    }

    fn launch_version(&self, group: &AutoScalingGroup) -> i64 {
        let template = &self.region.launch_templates[0];
        version_number(
            template,
            group
                .launch_template
                .as_ref()
                .and_then(|r| r.version.as_deref()),
        )
        .expect("a version")
    }

    fn launch(&mut self, group_name: &str, az: &str) {
        self.launched += 1;
        let id = format!("i-new{:04}", self.launched);
        let group = self.group(group_name).clone();
        let version = self.launch_version(&group);
        let template = &self.region.launch_templates[0];
        let image = template
            .versions
            .iter()
            .find(|v| v.number == version)
            .and_then(|v| v.image_id.clone());
        let mut instance = self.region.instances[0].clone();
        instance.id = id.clone();
        instance.availability_zone = az.into();
        instance.image_id = image;
        instance.launch_time = Some(self.now);
        instance.state = InstanceState::Pending;
        self.region.instances.push(instance);
        let member = AsgInstance {
            instance_id: id.clone(),
            availability_zone: az.into(),
            lifecycle_state: "Pending".into(),
            health_status: "Healthy".into(),
            launch_template: Some(LaunchTemplateRef {
                id: Some(template.id.clone()),
                name: Some(template.name.clone()),
                version: Some(version.to_string()),
            }),
            protected_from_scale_in: false,
        };
        self.group_mut(group_name).instances.push(member);
    }

    /// The AZ of the group with the fewest live members (where Auto Scaling launches).
    fn emptiest_az(&self, group: &AutoScalingGroup) -> String {
        let by_az = self.region.asg_instances_by_az(group);
        group
            .availability_zones
            .iter()
            .min_by_key(|az| {
                by_az.get(*az).map_or(0, |ids| {
                    ids.iter()
                        .filter(|id| {
                            group.instances.iter().any(|m| {
                                &m.instance_id == *id && !m.lifecycle_state.starts_with("Terminat")
                            })
                        })
                        .count()
                })
            })
            .cloned()
            .expect("an AZ")
    }

    fn terminate(&mut self, id: &str) {
        for group in &mut self.region.auto_scaling_groups {
            for m in &mut group.instances {
                if m.instance_id == id {
                    m.lifecycle_state = "Terminating".into();
                }
            }
        }
        for tg in &mut self.region.target_groups {
            tg.targets.retain(|t| t.id != id);
        }
    }

    fn apply(&mut self, call: &DeployCall) {
        match call {
            DeployCall::Act(action) => self.act(&action.target.id, &action.kind),
            DeployCall::Tag { group, tags, .. } => {
                if let Some(g) = self
                    .region
                    .auto_scaling_groups
                    .iter_mut()
                    .find(|g| &g.name == group)
                {
                    g.tags.extend(tags.clone());
                }
            }
            DeployCall::CreateTargetGroup { name, .. } => {
                let mut tg: TargetGroup = self.region.target_groups[0].clone();
                tg.arn = format!(
                    "{}/{name}/green",
                    BLUE_TG.rsplit_once("/lab-web-tg").expect("arn").0
                );
                tg.name = name.clone();
                tg.targets.clear();
                self.region.target_groups.push(tg);
            }
            DeployCall::CreateGroup {
                name,
                target_group,
                settings,
                tags,
            } => {
                let tg = self
                    .region
                    .target_groups
                    .iter()
                    .find(|t| &t.name == target_group)
                    .expect("green's target group")
                    .arn
                    .clone();
                let mut group = self.region.auto_scaling_groups[0].clone();
                group.name = name.clone();
                group.instances.clear();
                group.tags = tags.clone();
                group.target_group_arns = vec![tg];
                group.desired_capacity = settings.capacity.desired;
                group.launch_template = Some(LaunchTemplateRef {
                    id: Some(settings.launch_template_id.clone()),
                    name: None,
                    version: Some(settings.version.clone()),
                });
                self.region.auto_scaling_groups.push(group.clone());
                for _ in 0..settings.capacity.desired {
                    let az = self.emptiest_az(self.group(name));
                    self.launch(name, &az);
                }
            }
            DeployCall::PointGroupAt { group, version, .. } => {
                if let Some(r) = self.group_mut(group).launch_template.as_mut() {
                    r.version = Some(version.clone());
                }
            }
            DeployCall::DeleteGroup { group } => {
                let members: Vec<String> = self
                    .group(group)
                    .instances
                    .iter()
                    .map(|m| m.instance_id.clone())
                    .collect();
                for id in members {
                    self.terminate(&id);
                }
                self.group_mut(group).status = Some("Delete in progress".into());
            }
            DeployCall::DeleteTargetGroup { arn, .. } => {
                let in_use = self.listener_arns().contains(arn);
                assert!(
                    !in_use,
                    "a target group a listener forwards to cannot be deleted"
                );
                self.region.target_groups.retain(|t| &t.arn != arn);
            }
        }
        self.percents.push(self.green_percent());
        self.assert_no_az_without_healthy();
    }

    fn act(&mut self, id: &str, kind: &ActionKind) {
        match kind {
            ActionKind::SetListenerWeights { target_groups } => {
                let lb: &mut LoadBalancer = &mut self.region.load_balancers[0];
                lb.listeners[0].default_actions = vec![ListenerAction::Forward {
                    target_groups: target_groups
                        .iter()
                        .map(|w| WeightedTargetGroup {
                            arn: w.target_group_arn.clone(),
                            weight: Some(w.weight),
                        })
                        .collect(),
                }];
            }
            ActionKind::CreateLaunchTemplateVersion { image_id, .. } => {
                let template = self.template();
                let number = template.latest_version.unwrap_or(0) + 1;
                let mut version: LaunchTemplateVersion = template.versions[0].clone();
                version.number = number;
                version.is_default = false;
                version.image_id = image_id.clone();
                template.versions.insert(0, version);
                template.latest_version = Some(number);
            }
            ActionKind::SetCapacity {
                desired, min, max, ..
            } => {
                let group = self.group_mut(id);
                if let Some(m) = min {
                    group.min_size = *m;
                }
                if let Some(m) = max {
                    group.max_size = *m;
                }
                if let Some(d) = desired {
                    group.desired_capacity = *d;
                }
            }
            ActionKind::DeregisterTargets { instance_ids } => {
                for tg in &mut self.region.target_groups {
                    tg.targets.retain(|t| !instance_ids.contains(&t.id));
                }
            }
            ActionKind::TerminateAsgInstance { decrement, .. } => {
                assert!(!decrement);
                self.terminate(id);
            }
            ActionKind::StartInstanceRefresh { version, .. } => {
                self.refresh = version.as_deref().and_then(|v| v.parse().ok());
            }
            ActionKind::CancelInstanceRefresh => self.refresh = None,
            other => panic!("the simulation does not run {}", other.name()),
        }
    }

    fn listener_arns(&self) -> Vec<String> {
        weights_of(&self.region, LISTENER)
            .into_iter()
            .map(|w| w.target_group_arn)
            .collect()
    }

    fn green_percent(&self) -> u8 {
        let weights = weights_of(&self.region, LISTENER);
        let total: i32 = weights.iter().map(|w| w.weight).sum();
        let green: i32 = weights
            .iter()
            .filter(|w| w.target_group_arn != BLUE_TG)
            .map(|w| w.weight)
            .sum();
        u8::try_from(green * 100 / total.max(1)).expect("a percentage")
    }

    /// Users are served in every AZ of the load balancer, whatever the step.
    fn assert_no_az_without_healthy(&self) {
        let lb = &self.region.load_balancers[0];
        let served: BTreeMap<String, usize> = self
            .listener_arns()
            .iter()
            .filter(|arn| {
                weights_of(&self.region, LISTENER)
                    .iter()
                    .any(|w| &&w.target_group_arn == arn && w.weight > 0)
            })
            .filter_map(|arn| self.region.target_group(arn))
            .flat_map(|tg| self.region.healthy_targets_by_az(tg))
            .fold(BTreeMap::new(), |mut acc, (az, count)| {
                *acc.entry(az).or_default() += count.healthy;
                acc
            });
        for zone in &lb.zones {
            assert!(
                served.get(&zone.availability_zone).copied().unwrap_or(0) > 0,
                "{} has no healthy target taking traffic at {}",
                zone.availability_zone,
                self.now
            );
        }
    }

    /// Time passes: terminating members go (replaced to the desired capacity, in the AZ with
    /// the fewest), pending ones come in service and register, an instance refresh replaces
    /// one old member.
    fn settle(&mut self) {
        self.now += TimeDelta::seconds(30);
        let names: Vec<String> = self
            .region
            .auto_scaling_groups
            .iter()
            .filter(|g| g.status.is_none())
            .map(|g| g.name.clone())
            .collect();
        for name in names {
            if let Some(version) = self.refresh {
                let group = self.group(&name).clone();
                let old = group.instances.iter().find(|m| {
                    m.lifecycle_state == "InService"
                        && m.launch_template.as_ref().and_then(|t| t.version.clone())
                            != Some(version.to_string())
                });
                let busy = group
                    .instances
                    .iter()
                    .any(|m| m.lifecycle_state != "InService");
                if let (Some(old), false) = (old, busy) {
                    let id = old.instance_id.clone();
                    if let Some(r) = self.group_mut(&name).launch_template.as_mut() {
                        r.version = Some(version.to_string());
                    }
                    self.terminate(&id);
                }
            }
            let gone: Vec<String> = self
                .group(&name)
                .instances
                .iter()
                .filter(|m| m.lifecycle_state == "Terminating")
                .map(|m| m.instance_id.clone())
                .collect();
            self.group_mut(&name)
                .instances
                .retain(|m| m.lifecycle_state != "Terminating");
            for id in gone {
                if let Some(i) = self.region.instances.iter_mut().find(|i| i.id == id) {
                    i.state = InstanceState::Terminated;
                }
            }
            let group = self.group(&name).clone();
            for m in &group.instances {
                if m.lifecycle_state == "Pending" {
                    self.come_in_service(&name, &m.instance_id);
                }
            }
            let desired = usize::try_from(group.desired_capacity).expect("a size");
            let mut live = self.group(&name).instances.len();
            while live < desired {
                let az = self.emptiest_az(self.group(&name));
                self.launch(&name, &az);
                live += 1;
            }
            while live > desired {
                self.scale_in(&name);
                live -= 1;
            }
        }
        self.assert_no_az_without_healthy();
    }

    fn come_in_service(&mut self, group: &str, id: &str) {
        let healthy = !self.never_healthy;
        let tgs = self.group(group).target_group_arns.clone();
        for m in &mut self.group_mut(group).instances {
            if m.instance_id == id {
                m.lifecycle_state = "InService".into();
            }
        }
        if let Some(i) = self.region.instances.iter_mut().find(|i| i.id == id) {
            i.state = InstanceState::Running;
        }
        for arn in tgs {
            if let Some(tg) = self.region.target_groups.iter_mut().find(|t| t.arn == arn) {
                tg.targets.push(Target {
                    id: id.into(),
                    port: Some(80),
                    availability_zone: None,
                    health: if healthy {
                        TargetHealthState::Healthy
                    } else {
                        TargetHealthState::Initial
                    },
                    reason: None,
                    description: None,
                });
            }
        }
    }

    /// Auto Scaling's default termination: the AZ with the most instances, the oldest version.
    fn scale_in(&mut self, group_name: &str) {
        let group = self.group(group_name).clone();
        let mut by_az: BTreeMap<&str, Vec<&AsgInstance>> = BTreeMap::new();
        for m in &group.instances {
            by_az
                .entry(m.availability_zone.as_str())
                .or_default()
                .push(m);
        }
        let (_, members) = by_az
            .iter()
            .max_by_key(|(_, ms)| ms.len())
            .expect("a member");
        let victim = members
            .iter()
            .min_by_key(|m| {
                m.launch_template
                    .as_ref()
                    .and_then(|t| t.version.as_deref())
                    .and_then(|v| v.parse::<i64>().ok())
            })
            .expect("a member")
            .instance_id
            .clone();
        self.terminate(&victim);
        self.group_mut(group_name)
            .instances
            .retain(|m| m.instance_id != victim);
    }

    /// Calls `next` and does what it says until the deploy is done, rolled back or refused.
    fn drive(&mut self, spec: &DeploySpec, signals: &Signals) -> Vec<Next> {
        let mut seen = Vec::new();
        for _ in 0..400 {
            let state = DeployState::read(&self.region, &spec.stack);
            let step = next(spec, state.as_ref(), &self.region, signals, self.now);
            match &step {
                Next::Run { calls, .. } | Next::Rollback { calls, .. } => {
                    for call in calls {
                        self.apply(call);
                    }
                }
                Next::Wait { .. } => self.settle(),
                Next::Done { .. } | Next::Refused(_) => {}
            }
            let over = matches!(
                step,
                Next::Done { .. } | Next::Refused(_) | Next::Rollback { .. }
            );
            seen.push(step);
            if over {
                return seen;
            }
        }
        panic!("the deploy did not end: {:#?}", seen.last());
    }
}

fn green_group(world: &World) -> &AutoScalingGroup {
    world
        .region
        .auto_scaling_groups
        .iter()
        .find(|g| g.tags.get(ROLE_TAG).map(String::as_str) == Some("green"))
        .expect("green exists")
}

fn steps_run(seen: &[Next]) -> Vec<String> {
    seen.iter()
        .filter_map(|n| match n {
            Next::Run { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn blue_green_on_the_lab_shifts_10_50_100_with_bakes_and_keeps_blue_until_finish() {
    let mut world = World::new(lab());
    let spec = spec("d1", blue_green(&[10, 50, 100]));
    let seen = world.drive(&spec, &Signals::default());

    assert_eq!(
        steps_run(&seen),
        [
            "make a launch template version with ami-0new",
            "create green",
            "shift 10 % to green",
            "shift 50 % to green",
            "shift 100 % to green",
            "watch",
        ]
    );
    assert!(
        matches!(seen.last(), Some(Next::Done { message, rolled_back: false }) if message.contains("--finish"))
    );
    // Traffic only went up, through the steps asked.
    let mut percents = world.percents.clone();
    percents.dedup();
    assert_eq!(percents, [0, 10, 50, 100]);
    // Green runs the new AMI in both AZs; blue is still there, pinned to the old version.
    let green = green_group(&world).clone();
    assert_eq!(green.instances.len(), 2);
    for m in &green.instances {
        let image = world
            .region
            .instance(&m.instance_id)
            .and_then(|i| i.image_id.clone());
        assert_eq!(image.as_deref(), Some("ami-0new"));
    }
    let blue = world.group("lab-asg");
    assert_eq!(blue.desired_capacity, 2);
    assert_eq!(
        blue.launch_template
            .as_ref()
            .and_then(|r| r.version.as_deref()),
        Some("1"),
        "blue is pinned to its old version before the new one exists"
    );
    // Each bake lasted at least 5 minutes: 3 bakes after green became healthy.
    assert!(world.now - t0() >= TimeDelta::minutes(15), "{}", world.now);

    // Another deploy is refused while blue is watched.
    let other = spec_with_version("d2", 1);
    assert!(matches!(
        next(&other, DeployState::read(&world.region, "lab").as_ref(), &world.region, &Signals::default(), world.now),
        Next::Refused(Refusal::AlreadyRunning { id, .. }) if id == "d1"
    ));

    // --finish deletes blue and leaves the listener on green alone.
    let state = DeployState::read(&world.region, "lab").expect("running");
    assert_eq!(state.green_percent(), Some(100));
    let calls = finish(&spec, &state, &world.region, world.now).expect("finishable");
    for call in &calls {
        world.apply(call);
    }
    assert_eq!(world.listener_arns(), green.target_group_arns);
    assert!(world.region.target_group(BLUE_TG).is_none());
    assert!(DeployState::read(&world.region, "lab").is_none());
    let record = DeployState::all(&world.region, "lab");
    assert_eq!(record.len(), 1);
    assert_eq!(record[0].step, FINISHED);
    assert!(matches!(
        next(&spec, None, &world.region, &Signals::default(), world.now),
        Next::Done {
            rolled_back: false,
            ..
        }
    ));
    // The next deploy starts from green, now the stack's only group.
    let Next::Run { calls, .. } = next(
        &spec_with_version("d2", 1),
        None,
        &world.region,
        &Signals::default(),
        world.now,
    ) else {
        panic!("the next deploy starts");
    };
    assert!(matches!(&calls[0], DeployCall::Tag { group, .. } if group == "lab-asg-d1"));
}

fn spec_with_version(id: &str, version: i64) -> DeploySpec {
    DeploySpec {
        version: NewVersion::LaunchTemplateVersion(version),
        ..spec(id, blue_green(&[50, 100]))
    }
}

#[test]
fn canary_takes_a_small_step_bakes_long_then_all() {
    let mut world = World::new(lab());
    let spec = spec(
        "c1",
        Strategy::Canary {
            first: 5,
            bake: minutes(30),
            keep_blue: false,
        },
    );
    let seen = world.drive(&spec, &Signals::default());
    assert!(matches!(seen.last(), Some(Next::Done { .. })));
    let mut percents = world.percents.clone();
    percents.dedup();
    assert_eq!(percents, [0, 5, 100]);
    // The 5 % step was watched for its whole bake: a wait names its end.
    let bake_end = seen.iter().find_map(|n| match n {
        Next::Wait { what, until, .. } if what.contains("5 %") => *until,
        _ => None,
    });
    let shifted_at = DeployState::all(&world.region, "lab")[0]
        .since
        .expect("since");
    assert!(bake_end.is_some_and(|end| end < shifted_at));
    assert!(shifted_at - t0() >= TimeDelta::minutes(30));
    // keep_blue false: blue is scaled in once all traffic is on green.
    assert_eq!(world.group("lab-asg").desired_capacity, 0);
}

#[test]
fn rolling_back_a_scaled_in_blue_brings_it_back_before_the_traffic() {
    let mut world = World::new(lab());
    let spec = spec(
        "c1",
        Strategy::Canary {
            first: 5,
            bake: minutes(1),
            keep_blue: false,
        },
    );
    world.drive(&spec, &Signals::default());
    world.settle();
    assert_eq!(world.group("lab-asg").instances.len(), 0);
    // --rollback during the watch: blue first, traffic once it is healthy.
    let state = DeployState::read(&world.region, "lab").expect("watched");
    let calls = rollback(&spec, &state, &world.region, world.now);
    let names: Vec<&str> = calls.iter().map(DeployCall::name).collect();
    assert_eq!(names, ["deploy-tag", "deploy-tag", "asg-set-capacity"]);
    calls.iter().for_each(|c| world.apply(c));
    let state = DeployState::read(&world.region, "lab").expect("rolling back");
    assert!(matches!(
        next(&spec, Some(&state), &world.region, &Signals::default(), world.now),
        Next::Wait { what, .. } if what.contains("before traffic goes back")
    ));
    assert_eq!(
        world.green_percent(),
        100,
        "traffic stays on green meanwhile"
    );
    let mut resumed = None;
    for _ in 0..5 {
        world.settle();
        let state = DeployState::read(&world.region, "lab").expect("rolling back");
        match next(
            &spec,
            Some(&state),
            &world.region,
            &Signals::default(),
            world.now,
        ) {
            Next::Wait { .. } => continue,
            other => {
                resumed = Some(other);
                break;
            }
        }
    }
    let Some(Next::Rollback { calls, .. }) = resumed else {
        panic!("the rollback goes on: {resumed:#?}");
    };
    // World::apply checks after each call that every AZ is served.
    calls.iter().for_each(|c| world.apply(c));
    assert_eq!(world.listener_arns(), [BLUE_TG]);
    assert_eq!(DeployState::all(&world.region, "lab")[0].step, ROLLED_BACK);
}

#[test]
fn a_gate_failing_while_blue_is_watched_still_rolls_back() {
    let mut world = World::new(lab());
    let spec = spec("d1", blue_green(&[100]));
    world.drive(&spec, &Signals::default());
    let state = DeployState::read(&world.region, "lab").expect("watched");
    let failing = Signals {
        failed_launches: Some(BTreeMap::from([(
            "lab-asg-d1".to_string(),
            vec!["Launching a new EC2 instance. Status Reason: quota".to_string()],
        )])),
        ..Signals::default()
    };
    let Next::Rollback { failed, reason, .. } =
        next(&spec, Some(&state), &world.region, &failing, world.now)
    else {
        panic!("expected a rollback");
    };
    assert_eq!(failed.map(|f| f.gate), Some(Gate::NoFailedLaunches));
    assert!(
        reason.contains("lab-asg-d1 failed to launch: Launching"),
        "{reason}"
    );
}

#[test]
fn green_never_healthy_rolls_back_to_blue_and_names_the_gate() {
    let mut world = World::new(lab());
    world.never_healthy = true;
    let spec = spec("d1", blue_green(&[10, 50, 100]));
    let seen = world.drive(&spec, &Signals::default());
    let Some(Next::Rollback { failed, reason, .. }) = seen.last() else {
        panic!("expected a rollback: {:#?}", seen.last());
    };
    let failed = failed.as_ref().expect("a gate");
    assert_eq!(failed.gate, Gate::HealthyPerAz);
    assert!(
        reason.contains("healthy-per-az") && reason.contains("10m"),
        "{reason}"
    );
    // It gave green its ten minutes, no less.
    assert!(world.now - t0() >= TimeDelta::minutes(10));
    // 100 % on blue, green deleted, the deploy over.
    assert_eq!(world.listener_arns(), [BLUE_TG]);
    assert_eq!(world.green_percent(), 0);
    assert!(
        green_group(&world).status.is_some(),
        "green is being deleted"
    );
    assert_eq!(world.region.target_groups.len(), 1);
    assert!(DeployState::read(&world.region, "lab").is_none());
    assert_eq!(DeployState::all(&world.region, "lab")[0].step, ROLLED_BACK);
    // Traffic never went to green.
    assert!(world.percents.iter().all(|p| *p == 0));
    // Running the same deploy again reports the rollback instead of starting over.
    assert!(matches!(
        next(&spec, None, &world.region, &Signals::default(), world.now),
        Next::Done { rolled_back: true, message } if message.contains("rolled back")
    ));
}

#[test]
fn an_alarm_during_a_bake_rolls_back_with_its_name() {
    let mut world = World::new(lab());
    let mut spec = spec("d1", blue_green(&[10, 50, 100]));
    spec.gates.push(Gate::Alarm("lab-5xx".into()));
    let quiet = Signals {
        failed_launches: Some(BTreeMap::new()),
        alarms_firing: Some(BTreeSet::new()),
        refreshes: None,
    };
    // Up to the 50 % step.
    for _ in 0..200 {
        let state = DeployState::read(&world.region, "lab");
        if state.as_ref().and_then(DeployState::green_percent) == Some(50) {
            break;
        }
        match next(&spec, state.as_ref(), &world.region, &quiet, world.now) {
            Next::Run { calls, .. } => calls.iter().for_each(|c| world.apply(c)),
            Next::Wait { .. } => world.settle(),
            other => panic!("unexpected {other:#?}"),
        }
    }
    let firing = Signals {
        alarms_firing: Some(BTreeSet::from(["lab-5xx".to_string()])),
        ..quiet
    };
    let state = DeployState::read(&world.region, "lab").expect("running");
    let Next::Rollback { failed, calls, .. } =
        next(&spec, Some(&state), &world.region, &firing, world.now)
    else {
        panic!("expected a rollback");
    };
    assert_eq!(failed.map(|f| f.gate), Some(Gate::Alarm("lab-5xx".into())));
    // --rollback by hand gives the same calls.
    assert_eq!(rollback(&spec, &state, &world.region, world.now), calls);
    for call in &calls {
        world.apply(call);
    }
    assert_eq!(world.listener_arns(), [BLUE_TG]);
}

#[test]
fn a_run_killed_mid_shift_resumes_from_the_weights_it_finds() {
    let mut world = World::new(lab());
    let spec = spec("d1", blue_green(&[10, 50, 100]));
    // Run until the 50 % step is about to be sent, then apply only its tags (killed before
    // ModifyListener).
    loop {
        let state = DeployState::read(&world.region, "lab");
        match next(
            &spec,
            state.as_ref(),
            &world.region,
            &Signals::default(),
            world.now,
        ) {
            Next::Run { step, calls } if step == "shift 50 % to green" => {
                calls
                    .iter()
                    .filter(|c| c.is("deploy-tag"))
                    .for_each(|c| world.apply(c));
                break;
            }
            Next::Run { calls, .. } => calls.iter().for_each(|c| world.apply(c)),
            Next::Wait { .. } => world.settle(),
            other => panic!("unexpected {other:#?}"),
        }
    }
    let state = DeployState::read(&world.region, "lab").expect("running");
    assert_eq!(
        (state.shift_step(), state.green_percent()),
        (Some(50), Some(10))
    );
    let resumed = next(
        &spec,
        Some(&state),
        &world.region,
        &Signals::default(),
        world.now,
    );
    let Next::Run { step, calls } = resumed else {
        panic!("expected the shift again: {resumed:#?}");
    };
    assert_eq!(step, "shift 50 % to green (resumed)");
    assert_eq!(calls.len(), 1);
    assert!(calls[0].is("listener-weights"));
    world.apply(&calls[0]);
    // Killed again during the bake: the next run waits for the rest of it, from the tag.
    let state = DeployState::read(&world.region, "lab").expect("running");
    let since = state.since.expect("since");
    world.now += TimeDelta::minutes(2);
    match next(
        &spec,
        Some(&state),
        &world.region,
        &Signals::default(),
        world.now,
    ) {
        Next::Wait { until, what, .. } => {
            assert_eq!(until, Some(since + TimeDelta::minutes(5)));
            assert!(what.contains("50 %"));
        }
        other => panic!("expected the bake: {other:#?}"),
    }
    // And it finishes from there.
    let seen = world.drive(&spec, &Signals::default());
    assert!(matches!(seen.last(), Some(Next::Done { .. })));
}

#[test]
fn a_rollback_killed_half_way_resumes_as_a_rollback() {
    let mut world = World::new(lab());
    world.never_healthy = true;
    let spec = spec("d1", blue_green(&[10, 100]));
    let mut rollback_calls = None;
    for _ in 0..100 {
        let state = DeployState::read(&world.region, "lab");
        match next(
            &spec,
            state.as_ref(),
            &world.region,
            &Signals::default(),
            world.now,
        ) {
            Next::Run { calls, .. } => calls.iter().for_each(|c| world.apply(c)),
            Next::Wait { .. } => world.settle(),
            Next::Rollback { calls, .. } => {
                rollback_calls = Some(calls);
                break;
            }
            other => panic!("unexpected {other:#?}"),
        }
    }
    let calls = rollback_calls.expect("a rollback");
    // Killed after the tags only.
    calls
        .iter()
        .take_while(|c| c.is("deploy-tag"))
        .for_each(|c| world.apply(c));
    let state = DeployState::read(&world.region, "lab").expect("still running");
    assert!(matches!(
        next(
            &spec,
            Some(&state),
            &world.region,
            &Signals::default(),
            world.now
        ),
        Next::Rollback { failed: None, .. }
    ));
}

#[test]
fn two_deploys_of_one_stack_are_refused() {
    let mut world = World::new(lab());
    let first = spec("d1", blue_green(&[50, 100]));
    let Next::Run { calls, .. } = next(&first, None, &world.region, &Signals::default(), world.now)
    else {
        panic!("the first deploy starts");
    };
    calls.iter().for_each(|c| world.apply(c));
    let Next::Run { calls, .. } = next(&first, None, &world.region, &Signals::default(), world.now)
    else {
        panic!("green is created");
    };
    calls.iter().for_each(|c| world.apply(c));

    let second = spec("d2", blue_green(&[50, 100]));
    assert!(matches!(
        plan(&second, &world.region, &Signals::default(), world.now),
        Err(Refusal::AlreadyRunning { ref id, .. }) if id == "d1"
    ));
    let refused = next(&second, None, &world.region, &Signals::default(), world.now);
    assert!(
        matches!(&refused, Next::Refused(Refusal::AlreadyRunning { id, .. }) if id == "d1"),
        "{refused:#?}"
    );

    // Both tagged at once (two runs racing): each sees the conflict.
    world
        .group_mut("lab-asg-d1")
        .tags
        .insert(DEPLOY_TAG.into(), "d2".into());
    let state = DeployState::read(&world.region, "lab");
    let refusal = next(
        &first,
        state.as_ref(),
        &world.region,
        &Signals::default(),
        world.now,
    );
    assert!(
        matches!(&refusal, Next::Refused(Refusal::TwoDeploys { ids, .. }) if ids == "d1, d2"),
        "{refusal:#?}"
    );
}

#[test]
fn a_degraded_stack_is_refused_and_the_az_named() {
    let region = degraded();
    let refusal = plan(
        &spec("d1", blue_green(&[50, 100])),
        &region,
        &Signals::default(),
        t0(),
    )
    .expect_err("refused");
    let Refusal::Unhealthy(why) = &refusal else {
        panic!("{refusal:?}");
    };
    assert!(why.contains("ap-northeast-2b"), "{why}");
}

#[test]
fn wrong_steps_and_batches_are_refused() {
    for steps in [vec![50, 10, 100], vec![10, 50], vec![0, 100]] {
        assert!(matches!(
            plan(
                &spec("d1", blue_green(&steps)),
                &lab(),
                &Signals::default(),
                t0()
            ),
            Err(Refusal::Invalid(_))
        ));
    }
    assert!(matches!(
        plan(
            &spec("d1", batches(0, 50)),
            &lab(),
            &Signals::default(),
            t0()
        ),
        Err(Refusal::Invalid(_))
    ));
    let unknown = DeploySpec {
        version: NewVersion::LaunchTemplateVersion(7),
        ..spec("d1", batches(1, 50))
    };
    assert!(matches!(
        plan(&unknown, &lab(), &Signals::default(), t0()),
        Err(Refusal::UnknownVersion { version: 7, .. })
    ));
}

#[test]
fn the_dry_run_plan_lists_every_step_and_call() {
    let steps = plan(
        &spec("d1", blue_green(&[10, 50, 100])),
        &lab(),
        &Signals::default(),
        t0(),
    )
    .expect("a plan");
    let titles: Vec<&str> = steps.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "make a launch template version with ami-0new",
            "create green",
            "shift 10 % to green",
            "shift 50 % to green",
            "shift 100 % to green",
            "watch",
        ]
    );
    let operations: Vec<String> = steps
        .iter()
        .flat_map(|s| &s.calls)
        .flat_map(DeployCall::api_calls)
        .map(|c| c.operation)
        .collect();
    for op in [
        "UpdateAutoScalingGroup",
        "CreateLaunchTemplateVersion",
        "CreateOrUpdateTags",
        "AddTags",
        "CreateTargetGroup",
        "CreateAutoScalingGroup",
        "ModifyListener",
    ] {
        assert!(operations.iter().any(|o| o == op), "{op} in {operations:?}");
    }
    let shift = &steps[3].calls;
    let call = shift
        .iter()
        .find(|c| c.is("listener-weights"))
        .expect("weights")
        .api_calls()
        .remove(0);
    assert_eq!(
        call.get("DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.Weight"),
        Some("50")
    );
    assert_eq!(
        call.get("DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn"),
        Some("<the ARN of lab-d1>")
    );
    let create = steps[1]
        .calls
        .iter()
        .find(|c| c.is("deploy-create-group"))
        .expect("green")
        .api_calls()
        .remove(0);
    assert_eq!(
        create.get("LaunchTemplate.Version"),
        Some("<the new version>")
    );
    assert_eq!(create.get("DesiredCapacity"), Some("2"));
    assert_eq!(
        create.get("VPCZoneIdentifier"),
        Some("subnet-01e22d32a1f672c82,subnet-0725950d278dac400")
    );
}

#[test]
fn rolling_in_batches_replaces_every_instance_keeping_every_az_served() {
    let mut world = World::new(lab());
    let spec = spec("r1", batches(1, 50));
    let seen = world.drive(&spec, &Signals::default());
    assert!(
        matches!(seen.last(), Some(Next::Done { .. })),
        "{:#?}",
        seen.last()
    );
    let group = world.group("lab-asg");
    assert_eq!(
        group.desired_capacity,
        2,
        "scaled back after the surge: {:?}",
        steps_run(&seen)
    );
    assert_eq!(group.instances.len(), 2);
    let azs: BTreeSet<&str> = group
        .instances
        .iter()
        .map(|m| m.availability_zone.as_str())
        .collect();
    assert_eq!(azs.len(), 2);
    for m in &group.instances {
        assert!(
            m.instance_id.starts_with("i-new"),
            "{} was not replaced",
            m.instance_id
        );
        let image = world
            .region
            .instance(&m.instance_id)
            .and_then(|i| i.image_id.clone());
        assert_eq!(image.as_deref(), Some("ami-0new"));
    }
    let run = steps_run(&seen);
    assert!(run.iter().any(|s| s.starts_with("surge 2")), "{run:?}");
    assert_eq!(
        run.iter().filter(|s| s.starts_with("replace")).count(),
        2,
        "{run:?}"
    );
    assert_eq!(DeployState::all(&world.region, "lab")[0].step, FINISHED);
    // Every call was followed by the check that each AZ kept a healthy target (World::apply).
}

#[test]
fn rolling_in_batches_with_never_healthy_replacements_rolls_back() {
    let mut world = World::new(lab());
    world.never_healthy = true;
    let spec = spec("r1", batches(1, 50));
    let seen = world.drive(&spec, &Signals::default());
    let Some(Next::Rollback {
        failed,
        calls,
        reason,
    }) = seen.last()
    else {
        panic!("{:#?}", seen.last());
    };
    assert_eq!(
        failed.as_ref().map(|f| f.gate.clone()),
        Some(Gate::HealthyPerAz)
    );
    assert!(reason.contains("old version"), "{reason}");
    assert!(
        calls
            .iter()
            .any(|c| matches!(c, DeployCall::PointGroupAt { version, .. } if version == "1"))
    );
    // No old instance was taken out: the surge never became healthy.
    assert!(!steps_run(&seen).iter().any(|s| s.starts_with("replace")));
    assert_eq!(world.group("lab-asg").desired_capacity, 2);
}

#[test]
fn rolling_by_instance_refresh_starts_it_with_the_new_version_and_rolls_back_by_cancelling() {
    let mut world = World::new(lab());
    let spec = DeploySpec {
        version: NewVersion::LaunchTemplateVersion(1),
        ..spec(
            "r1",
            Strategy::Rolling {
                batch: 1,
                min_healthy_percent: 50,
                mode: RollingMode::InstanceRefresh,
            },
        )
    };
    // Already on version 1: nothing to do.
    assert!(matches!(
        next(&spec, None, &world.region, &Signals::default(), world.now),
        Next::Done { .. }
    ));
    let spec = DeploySpec {
        version: NewVersion::Image("ami-0new".into()),
        ..spec
    };
    let seen = world.drive(&spec, &Signals::default());
    assert!(
        matches!(seen.last(), Some(Next::Done { .. })),
        "{:#?}",
        seen.last()
    );
    let start = seen
        .iter()
        .find_map(|n| match n {
            Next::Run { calls, .. } => calls.iter().find(|c| c.is("asg-start-refresh")).cloned(),
            _ => None,
        })
        .expect("a refresh");
    let start = refresh_request(&start);
    assert_eq!(
        start.get("DesiredConfiguration.LaunchTemplate.Version"),
        Some("2")
    );
    assert_eq!(start.get("Preferences.MinHealthyPercentage"), Some("50"));
    assert!(
        world
            .group("lab-asg")
            .instances
            .iter()
            .all(|m| m.instance_id.starts_with("i-new"))
    );

    // A failed launch during the next refresh rolls back: cancel, refresh back to version 2.
    let spec3 = DeploySpec {
        id: "r2".into(),
        version: NewVersion::Image("ami-0newer".into()),
        ..spec
    };
    let failing = Signals {
        failed_launches: Some(BTreeMap::from([(
            "lab-asg".to_string(),
            vec!["InsufficientInstanceCapacity".to_string()],
        )])),
        ..Signals::default()
    };
    for _ in 0..3 {
        let state = DeployState::read(&world.region, "lab");
        if let Next::Run { calls, .. } = next(
            &spec3,
            state.as_ref(),
            &world.region,
            &Signals::default(),
            world.now,
        ) {
            calls.iter().for_each(|c| world.apply(c));
        }
    }
    let state = DeployState::read(&world.region, "lab").expect("running");
    let Next::Rollback { failed, calls, .. } =
        next(&spec3, Some(&state), &world.region, &failing, world.now)
    else {
        panic!("expected a rollback");
    };
    assert_eq!(failed.map(|f| f.gate), Some(Gate::NoFailedLaunches));
    let names: Vec<&str> = calls.iter().map(DeployCall::name).collect();
    assert_eq!(
        names,
        [
            "deploy-tag",
            "asg-cancel-refresh",
            "asg-start-refresh",
            "asg-set-capacity",
            "deploy-tag"
        ]
    );
    // The surge made for the single-instance AZs is undone too.
    assert!(matches!(
        &calls[3],
        DeployCall::Act(a) if matches!(a.kind, ActionKind::SetCapacity { desired: Some(2), .. })
    ));
    let back = refresh_request(&calls[2]);
    assert_eq!(
        back.get("DesiredConfiguration.LaunchTemplate.Version"),
        Some("2")
    );
}

fn refresh_request(call: &DeployCall) -> crate::action::ApiCall {
    call.api_calls()
        .into_iter()
        .find(|c| c.operation == "StartInstanceRefresh")
        .expect("a StartInstanceRefresh request")
}

#[test]
fn gates_say_what_they_could_not_judge() {
    let region = lab();
    let results = evaluate(&Gate::defaults(), &region, "lab-asg", &Signals::default());
    assert_eq!(results[0].status, GateStatus::Pass);
    assert_eq!(results[1].status, GateStatus::Pass);
    assert!(
        matches!(&results[2].status, GateStatus::Unknown(why) if why.contains("scaling activities"))
    );
    assert!(results.iter().all(GateResult::passes));
    let degraded = degraded();
    let results = evaluate(&Gate::defaults(), &degraded, "lab-asg", &Signals::default());
    assert!(
        matches!(&results[0].status, GateStatus::Pending(why) if why.contains("ap-northeast-2b (unused)"))
    );
    assert!(
        matches!(&results[1].status, GateStatus::Fail(why) if why.contains("ap-northeast-2b behind lab-alb"))
    );
}

#[test]
fn the_state_reads_weights_and_tags() {
    let mut region = lab();
    assert!(DeployState::read(&region, "lab").is_none());
    let group = &mut region.auto_scaling_groups[0];
    group.tags.extend([
        (DEPLOY_TAG.to_string(), "d9".to_string()),
        (ROLE_TAG.to_string(), "blue".to_string()),
        (STEP_TAG.to_string(), "shift-50".to_string()),
        (
            SINCE_TAG.to_string(),
            "2026-03-02T09:05:00+00:00".to_string(),
        ),
        (CAPACITY_TAG.to_string(), "2/4/2".to_string()),
        (FROM_TAG.to_string(), "1".to_string()),
        (VERSION_TAG.to_string(), "2".to_string()),
    ]);
    let state = DeployState::read(&region, "lab").expect("a deploy");
    assert_eq!(state.id, "d9");
    assert_eq!(state.shift_step(), Some(50));
    assert_eq!(state.since, Some(t0() + TimeDelta::minutes(5)));
    assert_eq!(
        state.capacity_before,
        Some(Capacity {
            min: 2,
            max: 4,
            desired: 2
        })
    );
    assert_eq!((state.from, state.version), (Some(1), Some(2)));
    assert_eq!(state.listeners, [LISTENER]);
    assert_eq!(state.green_percent(), None, "no green group");
}

fn members_strategy() -> impl proptest::strategy::Strategy<Value = BTreeMap<String, Vec<String>>> {
    proptest::collection::vec(0usize..6, 1..5).prop_map(|sizes| {
        let mut n = 0;
        sizes
            .iter()
            .enumerate()
            .map(|(az, size)| {
                let ids = (0..*size)
                    .map(|_| {
                        n += 1;
                        format!("i-{n}")
                    })
                    .collect();
                (format!("az-{az}"), ids)
            })
            .collect()
    })
}

proptest! {
    /// Every instance is replaced exactly once, no batch is larger than asked, every AZ keeps a
    /// healthy member at every step, and the group never drops under the minimum healthy.
    #[test]
    fn rolling_batches_never_empty_an_az(
        members in members_strategy(),
        batch in 1usize..5,
        min in 0u8..=100,
    ) {
        let plan = rolling_batches(&members, batch, min);
        let size: usize = members.values().map(Vec::len).sum();
        let mut all: Vec<&String> = plan.batches.iter().flatten().collect();
        all.sort();
        let mut expected: Vec<&String> = members.values().flatten().collect();
        expected.sort();
        prop_assert_eq!(all, expected);
        let floor = healthy_floor(size, min);
        let mut healthy: BTreeMap<&str, usize> = members
            .iter()
            .map(|(az, ids)| (az.as_str(), ids.len()))
            .collect();
        for az in &plan.surge_azs {
            *healthy.get_mut(az.as_str()).expect("an AZ") += 1;
        }
        let total = size + plan.surge;
        for b in &plan.batches {
            prop_assert!(!b.is_empty() && b.len() <= batch);
            prop_assert!(total - b.len() >= floor, "{} out of {} under {}", b.len(), total, floor);
            for (az, ids) in members.iter().filter(|(_, ids)| !ids.is_empty()) {
                let out = b.iter().filter(|id| ids.contains(id)).count();
                prop_assert!(healthy[az.as_str()] > out, "{} emptied by {:?}", az, b);
            }
        }
    }
}

#[test]
fn the_batches_plan_on_the_lab_surges_replaces_one_by_one_and_scales_back() {
    let steps = plan(
        &spec("r1", batches(1, 50)),
        &lab(),
        &Signals::default(),
        t0(),
    )
    .expect("a plan");
    let titles: Vec<&str> = steps.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "make a launch template version with ami-0new",
            "start rolling to version <the new version>",
            "surge 2 instance(s)",
            "batch 1 of 2",
            "batch 2 of 2",
            "scale back",
            "finish",
        ]
    );
    let batch: Vec<String> = steps[3]
        .calls
        .iter()
        .flat_map(DeployCall::api_calls)
        .map(|c| c.to_string())
        .collect();
    assert!(batch[2].contains("DeregisterTargets"), "{batch:?}");
    assert!(
        batch[3].contains("TerminateInstanceInAutoScalingGroup")
            && batch[3].contains("ShouldDecrementDesiredCapacity=false"),
        "{batch:?}"
    );
}

#[test]
fn blue_green_needs_a_listener_forwarding_to_blue() {
    let mut region = lab();
    region.load_balancers[0].listeners[0].default_actions = vec![ListenerAction::FixedResponse {
        status_code: Some("503".into()),
    }];
    assert!(matches!(
        plan(&spec("d1", blue_green(&[100])), &region, &Signals::default(), t0()),
        Err(Refusal::NoListener(group)) if group == "lab-asg"
    ));
    // A rolling deploy does not touch the listener.
    assert!(
        plan(
            &spec("r1", batches(1, 50)),
            &region,
            &Signals::default(),
            t0()
        )
        .is_ok()
    );
}

#[test]
fn a_paused_deploy_starts_no_step_until_resumed_but_still_rolls_back() {
    let mut world = World::new(lab());
    let spec = spec("d1", blue_green(&[10, 100]));
    // Run until 10 % is on green.
    for _ in 0..50 {
        if world.green_percent() == 10 {
            break;
        }
        let state = DeployState::read(&world.region, "lab");
        match next(
            &spec,
            state.as_ref(),
            &world.region,
            &Signals::default(),
            world.now,
        ) {
            Next::Run { calls, .. } => calls.iter().for_each(|c| world.apply(c)),
            Next::Wait { .. } => world.settle(),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(world.green_percent(), 10);
    let state = DeployState::read(&world.region, "lab").expect("running");
    for call in pause(&state, true) {
        world.apply(&call);
    }
    let state = DeployState::read(&world.region, "lab").expect("running");
    assert!(state.paused);
    // Long after the bake, still 10 %: the next shift waits for the resume.
    world.now += TimeDelta::hours(2);
    let waiting = next(
        &spec,
        Some(&state),
        &world.region,
        &Signals::default(),
        world.now,
    );
    assert!(
        matches!(&waiting, Next::Wait { what, .. } if what.contains("paused") && what.contains("shift 100 %")),
        "{waiting:?}"
    );
    // A failing gate still rolls back while paused.
    let firing = Signals {
        alarms_firing: Some(BTreeSet::from(["lab-5xx".to_string()])),
        ..Signals::default()
    };
    let with_alarm = DeploySpec {
        gates: vec![Gate::Alarm("lab-5xx".into())],
        ..spec.clone()
    };
    assert!(matches!(
        next(&with_alarm, Some(&state), &world.region, &firing, world.now),
        Next::Rollback { .. }
    ));
    // Resumed, it goes on to 100 %.
    for call in pause(&state, false) {
        world.apply(&call);
    }
    let state = DeployState::read(&world.region, "lab").expect("running");
    assert!(!state.paused);
    assert!(matches!(
        next(&spec, Some(&state), &world.region, &Signals::default(), world.now),
        Next::Run { step, .. } if step == "shift 100 % to green"
    ));
}

fn mid_deploy() -> RegionTopology {
    let topology = Topology::from_json(include_str!("../../../../assets/fixtures/lab-deploy.json"))
        .expect("the fixture reads");
    topology.regions[0].clone()
}

#[test]
fn resume_of_rebuilds_the_spec_of_a_deploy_from_its_tags_and_its_rollback_puts_all_on_blue() {
    let region = mid_deploy();
    let state = DeployState::read(&region, "lab").expect("deploy d1 runs in the fixture");
    assert_eq!(
        (state.step.as_str(), state.green_percent()),
        ("shift-50", Some(50))
    );
    let spec = DeploySpec::resume_of(&state, "ap-northeast-2").expect("a known strategy");
    assert_eq!(
        (spec.id.as_str(), spec.stack.as_str(), spec.region.as_str()),
        ("d1", "lab", "ap-northeast-2")
    );
    assert_eq!(spec.strategy.name(), "blue-green");
    assert_eq!(spec.version, NewVersion::LaunchTemplateVersion(2));
    assert_eq!(spec.gates, Gate::defaults());
    let calls = rollback(&spec, &state, &region, t0());
    let weights = calls
        .iter()
        .find_map(|c| match c {
            DeployCall::Act(a) => match &a.kind {
                ActionKind::SetListenerWeights { target_groups } => Some(target_groups.clone()),
                _ => None,
            },
            _ => None,
        })
        .expect("the rollback sets the listener's weights");
    assert_eq!(weights.len(), 1, "{weights:?}");
    assert_eq!(weights[0].target_group_arn, BLUE_TG);
    assert_eq!(weights[0].weight, 100);
}

#[test]
fn resume_of_refuses_an_unknown_strategy_and_reads_a_refresh_as_instance_refresh() {
    let region = mid_deploy();
    let mut state = DeployState::read(&region, "lab").expect("deploy d1 runs");
    state.strategy = "big-bang".into();
    let refused = DeploySpec::resume_of(&state, "ap-northeast-2").expect_err("unknown");
    assert!(refused.to_string().contains("big-bang"), "{refused}");
    state.strategy = "rolling".into();
    state.step = "refreshing".into();
    let spec = DeploySpec::resume_of(&state, "ap-northeast-2").expect("rolling");
    assert!(matches!(
        spec.strategy,
        Strategy::Rolling {
            mode: RollingMode::InstanceRefresh,
            min_healthy_percent: 100,
            ..
        }
    ));
    assert!(
        spec.gates.contains(&Gate::InstanceRefresh),
        "{:?}",
        spec.gates
    );
    state.step = "rolling".into();
    let spec = DeploySpec::resume_of(&state, "ap-northeast-2").expect("rolling");
    assert!(matches!(
        spec.strategy,
        Strategy::Rolling {
            mode: RollingMode::Batches,
            ..
        }
    ));
}

#[test]
fn an_instance_refresh_that_aws_fails_or_rolls_back_rolls_the_deploy_back() {
    let mut world = World::new(lab());
    let spec = DeploySpec {
        version: NewVersion::Image("ami-0new".into()),
        ..spec(
            "r1",
            Strategy::Rolling {
                batch: 1,
                min_healthy_percent: 50,
                mode: RollingMode::InstanceRefresh,
            },
        )
    };
    // Up to the refresh (the lab's single-instance AZs get a surge first).
    for _ in 0..20 {
        let state = DeployState::read(&world.region, "lab");
        if state.as_ref().is_some_and(|s| s.step == "refreshing") {
            break;
        }
        match next(
            &spec,
            state.as_ref(),
            &world.region,
            &Signals::default(),
            world.now,
        ) {
            Next::Run { calls, .. } => calls
                .iter()
                .filter(|c| !c.is("asg-start-refresh"))
                .for_each(|c| world.apply(c)),
            Next::Wait { .. } => world.settle(),
            other => panic!("unexpected {other:?}"),
        }
    }
    let state = DeployState::read(&world.region, "lab").expect("running");
    assert_eq!(state.step, "refreshing");
    let seen = |status: &str, started| Signals {
        refreshes: Some(BTreeMap::from([(
            "lab-asg".to_string(),
            RefreshSeen {
                id: "0a1b".into(),
                status: status.into(),
                reason: Some("Instances failed to reach a healthy state".into()),
                percent: Some(50),
                started: Some(started),
            },
        )])),
        ..Signals::default()
    };
    // AWS rolled its refresh back: the deploy rolls back and names why.
    let Next::Rollback { failed, reason, .. } = next(
        &spec,
        Some(&state),
        &world.region,
        &seen("RollbackSuccessful", world.now),
        world.now,
    ) else {
        panic!("expected a rollback");
    };
    assert_eq!(failed.map(|f| f.gate), Some(Gate::InstanceRefresh));
    assert!(
        reason.contains("RollbackSuccessful") && reason.contains("healthy state"),
        "{reason}"
    );
    // A refresh of an earlier deploy that failed is not this deploy's.
    let old = seen("Failed", world.now - TimeDelta::hours(3));
    assert!(matches!(
        next(&spec, Some(&state), &world.region, &old, world.now),
        Next::Wait { .. }
    ));
    // One in progress is waited for.
    assert!(matches!(
        next(
            &spec,
            Some(&state),
            &world.region,
            &seen("InProgress", world.now),
            world.now
        ),
        Next::Wait { .. }
    ));
}

#[test]
fn a_stack_whose_targets_are_still_initial_is_waited_for_not_refused() {
    let mut region = lab();
    for tg in &mut region.target_groups {
        for target in &mut tg.targets {
            target.health = TargetHealthState::Initial;
        }
    }
    let spec = spec("d1", blue_green(&[50, 100]));
    let waiting = next(&spec, None, &region, &Signals::default(), t0());
    assert!(
        matches!(&waiting, Next::Wait { what, .. } if what.contains("healthy before the deploy starts")),
        "{waiting:?}"
    );
    // The dry run still shows the plan.
    assert!(plan(&spec, &region, &Signals::default(), t0()).is_ok());
    // A degraded stack (an AZ without a healthy target behind the load balancer) is refused.
    assert!(matches!(
        next(&spec, None, &degraded(), &Signals::default(), t0()),
        Next::Refused(Refusal::Unhealthy(_))
    ));
}
