//! The action menu on the selected row and the confirmation dialog.
//!
//! The menu lists only what applies to the resource as discovered
//! ([`haven_model::action::applicable`], plus the DR copies replication would make). Choosing an
//! entry opens the dialog with the action as `haven act` would take it, e.g.
//! `asg-set-capacity lab-asg --desired 3`: the parameters can be edited, the sentence and the
//! exact API calls follow every keystroke, and a destructive action then asks for the
//! resource's name to be typed.

use chrono::{DateTime, Utc};
use haven_model::action::{ResourceKind, ResourceRef, Risk, applicable};
use haven_model::dr::Protection;
use haven_model::findings::Policy;
use haven_model::replication::Operation;
use haven_model::{RegionTopology, Topology, name_tag};

use super::deploys::{self, DeployOp};
use super::insight;
use super::jobs::Work;
use super::rows::{ListKind, RowRef};
use crate::act_line::action_from_line;

/// What an entry starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seed {
    /// A `haven act` line in a Region, editable.
    Act {
        /// The Region.
        region: String,
        /// The line, e.g. `rds-reboot lab-db --failover`.
        line: String,
    },
    /// A replication operation, fixed.
    Replicate(Operation),
    /// Calls on a running deploy (pause, resume, roll back, finish), fixed.
    Deploy(Work),
}

/// One entry of the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuEntry {
    /// What it is called.
    pub title: String,
    /// How much harm it can do.
    pub risk: Risk,
    /// What the dialog starts from.
    pub seed: Seed,
}

/// The open menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    /// The resource, e.g. `asg lab-asg`.
    pub title: String,
    /// The entries.
    pub entries: Vec<MenuEntry>,
    /// The entry under the cursor.
    pub selected: usize,
}

/// The confirmation dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// What it started from.
    pub seed: Seed,
    /// The editable `haven act` line (empty for replication).
    pub line: String,
    /// What will run, or why the line cannot be run.
    pub work: Result<Work, String>,
    /// For destructive work, once the line is accepted: what has been typed so far.
    pub typed: Option<String>,
}

impl Dialog {
    /// Opens the dialog on an entry.
    pub fn open(seed: Seed, topology: &Topology) -> Self {
        let line = match &seed {
            Seed::Act { line, .. } => line.clone(),
            Seed::Replicate(_) | Seed::Deploy(_) => String::new(),
        };
        let mut dialog = Self {
            seed,
            line,
            work: Err(String::new()),
            typed: None,
        };
        dialog.rebuild(topology);
        dialog
    }

    /// Re-reads the line after an edit.
    pub fn rebuild(&mut self, topology: &Topology) {
        self.work = match &self.seed {
            Seed::Act { .. } if self.line.trim_start().starts_with("dns-") => {
                crate::act_line::dns_action_from_line(&self.line, topology).map(Work::Act)
            }
            Seed::Act { region, .. } => {
                action_from_line(&self.line, region, topology.region(region)).map(Work::Act)
            }
            Seed::Replicate(op) => Ok(Work::Replicate(op.clone())),
            Seed::Deploy(work) => Ok(work.clone()),
        };
    }

    /// The line can be edited (replication operations are fixed).
    pub fn editable(&self) -> bool {
        matches!(self.seed, Seed::Act { .. }) && self.typed.is_none()
    }
}

/// The resource a list row stands for, as an action target, with its Region.
pub fn target_of(
    topology: &Topology,
    kind: ListKind,
    row: RowRef,
) -> Option<(String, ResourceRef)> {
    let region = topology.regions.get(row.region?)?;
    let i = row.index;
    let target = match kind {
        ListKind::Ec2 => {
            let inst = region.instances.get(i)?;
            let r = ResourceRef::new(ResourceKind::Instance, &inst.id);
            match name_tag(&inst.tags) {
                Some(name) => r.named(name),
                None => r,
            }
        }
        ListKind::Asg => ResourceRef::new(
            ResourceKind::AutoScalingGroup,
            &region.auto_scaling_groups.get(i)?.name,
        ),
        ListKind::Tg => {
            let tg = region.target_groups.get(i)?;
            ResourceRef::new(ResourceKind::TargetGroup, &tg.arn).named(&tg.name)
        }
        ListKind::Lb => {
            let lb = region.load_balancers.get(i)?;
            let listener = lb.listeners.first()?;
            ResourceRef::new(ResourceKind::Listener, &listener.arn).named(format!(
                "{} :{}",
                lb.name,
                listener.port.map_or_else(|| "?".into(), |p| p.to_string())
            ))
        }
        ListKind::Lt => {
            let lt = region.launch_templates.get(i)?;
            ResourceRef::new(ResourceKind::LaunchTemplate, &lt.id).named(&lt.name)
        }
        ListKind::Rds => ResourceRef::new(
            ResourceKind::DbInstance,
            &region.db_instances.get(i)?.identifier,
        ),
        ListKind::Dns => {
            let entry = haven_model::front_door::entry_points(topology)
                .into_iter()
                .nth(i)?;
            ResourceRef::new(
                ResourceKind::DnsRecord,
                haven_model::action::dns_record_id(&entry.zone_id, &entry.name),
            )
            .named(entry.host())
        }
        _ => return None,
    };
    Some((region.region.clone(), target))
}

/// The `haven act` line an entry starts with: the action, its target and sensible parameters.
fn default_line(
    name: &str,
    target: &ResourceRef,
    region: &RegionTopology,
    now: DateTime<Utc>,
) -> String {
    let id = &target.id;
    let stamp = now.format("%Y%m%d-%H%M");
    let group = region.auto_scaling_groups.iter().find(|g| g.name == *id);
    let args = match name {
        "asg-set-capacity" => {
            let desired = group.map_or(1, |g| g.desired_capacity + 1);
            match group {
                Some(g) if desired > g.max_size => {
                    format!("--desired {desired} --max {desired}")
                }
                _ => format!("--desired {desired}"),
            }
        }
        "az-remove" => {
            let az = group
                .and_then(|g| g.availability_zones.last().cloned())
                .or_else(|| region.availability_zones.first().map(|z| z.name.clone()))
                .unwrap_or_default();
            format!("--az {az}")
        }
        "az-restore" => {
            let az = group
                .and_then(|g| region.restorable_azs(g).first().copied())
                .unwrap_or_default();
            format!("--az {az}")
        }
        "instance-create-image" => format!("--name {id}-{stamp} --no-reboot"),
        // The version is shown as a number in the dialog (its default version now).
        "asg-start-refresh" => group
            .and_then(|g| g.launch_template.as_ref())
            .and_then(|lt| {
                region
                    .launch_templates
                    .iter()
                    .find(|t| Some(&t.id) == lt.id.as_ref() || Some(&t.name) == lt.name.as_ref())
            })
            .and_then(|t| t.default_version)
            .map(|v| format!("--version {v}"))
            .unwrap_or_default(),
        "asg-enter-standby" | "asg-exit-standby" => region
            .asg_for_instance(id)
            .map(|g| format!("--group {}", g.name))
            .unwrap_or_default(),
        "tg-register" | "tg-deregister" => region
            .target_groups
            .iter()
            .find(|tg| tg.arn == *id)
            .and_then(|tg| tg.targets.first())
            .map(|t| t.id.clone())
            .unwrap_or_else(|| "i-…".into()),
        "tg-health-check" => "--path /health --interval 10".into(),
        // The weights it has now, to edit (e.g. blue=100 green=0 → blue=90 green=10).
        "listener-weights" => listener_weights(region, id),
        "lt-new-version" => "--description rollout".into(),
        "lt-set-default" => {
            let latest = region
                .launch_templates
                .iter()
                .find(|lt| lt.id == *id)
                .and_then(|lt| lt.latest_version)
                .unwrap_or(1);
            format!("--version {latest}")
        }
        "rds-reboot" => String::new(),
        "rds-create-replica" => format!("--replica-id {id}-replica-{}", now.format("%H%M")),
        "rds-snapshot" => format!("--snapshot-id {id}-{stamp}"),
        "rds-modify-class" => {
            let class = region
                .db_instances
                .iter()
                .find(|d| d.identifier == *id)
                .map_or("db.t3.micro".to_string(), |d| d.class.clone());
            format!("--class {class}")
        }
        _ => String::new(),
    };
    // Target groups and listeners are given by ARN.
    if args.is_empty() {
        format!("{name} {id}")
    } else {
        format!("{name} {id} {args}")
    }
}

/// A listener's forward weights as `--weight NAME=W` flags, names for target groups it knows.
fn listener_weights(region: &RegionTopology, listener_arn: &str) -> String {
    let listener = region
        .load_balancers
        .iter()
        .flat_map(|lb| &lb.listeners)
        .find(|l| l.arn == listener_arn);
    listener
        .into_iter()
        .flat_map(|l| l.forwards())
        .map(|tg| {
            let name = region
                .target_group(&tg.arn)
                .map_or(tg.arn.as_str(), |t| t.name.as_str());
            format!("--weight {name}={}", tg.weight.unwrap_or(100))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The menu for the selected row of a list, `None` when nothing applies.
pub fn for_row(
    topology: &Topology,
    policy: &Policy,
    kind: ListKind,
    row: RowRef,
    now: DateTime<Utc>,
) -> Option<Menu> {
    if kind == ListKind::Deploy {
        return deploy_menu(topology, row, now);
    }
    let mut entries = Vec::new();
    let mut title = String::new();
    if let Some((region_code, target)) = target_of(topology, kind, row)
        && target.kind == ResourceKind::DnsRecord
    {
        title = format!("{} {}", target.kind.as_str(), target.label());
        entries.extend(dns_entries(topology, &region_code, &target));
    } else if let Some((region_code, target)) = target_of(topology, kind, row) {
        let region = topology.region(&region_code)?;
        title = format!("{} {}", target.kind.as_str(), target.label());
        for template in applicable(region, &target) {
            let line = default_line(template.name, &target, region, now);
            let mut risk = template.risk;
            if template.name == "rds-reboot" {
                let multi_az = region
                    .db_instances
                    .iter()
                    .any(|d| d.identifier == target.id && d.multi_az);
                if multi_az {
                    entries.push(MenuEntry {
                        title: "Reboot with failover to the standby".into(),
                        risk,
                        seed: Seed::Act {
                            region: region_code.clone(),
                            line: format!("{line} --failover"),
                        },
                    });
                }
            }
            if template.name == "az-remove" {
                // A real AZ loss: the instances stay, only out of the load balancer.
                entries.push(MenuEntry {
                    title: "AZ loss drill: keep the instances (AZRebalance suspended)".into(),
                    risk: Risk::Disruptive,
                    seed: Seed::Act {
                        region: region_code.clone(),
                        line: format!("{line} --keep-instances"),
                    },
                });
            }
            if template.name == "asg-terminate-instance" {
                entries.push(MenuEntry {
                    title: "Terminate in its group, lowering desired capacity".into(),
                    risk: Risk::Destructive,
                    seed: Seed::Act {
                        region: region_code.clone(),
                        line: format!("{line} --decrement"),
                    },
                });
            }
            if template.name == "instance-create-image" {
                // The line starts with --no-reboot: nothing is interrupted.
                risk = Risk::Safe;
            }
            entries.push(MenuEntry {
                title: template.title.to_string(),
                risk,
                seed: Seed::Act {
                    region: region_code.clone(),
                    line,
                },
            });
        }
    }
    entries.extend(dr_entries(topology, policy, kind, row, &mut title));
    if entries.is_empty() {
        return None;
    }
    Some(Menu {
        title,
        entries,
        selected: 0,
    })
}

/// The Route 53 entries of a record name: move its users to each Region it does not send them
/// to, and set its weights (the line starts with the weights as they are).
fn dns_entries(topology: &Topology, region_code: &str, target: &ResourceRef) -> Vec<MenuEntry> {
    let Some(dns) = &topology.dns else {
        return Vec::new();
    };
    let Some((zone, name)) = haven_model::action::split_record_id(&target.id) else {
        return Vec::new();
    };
    let Ok(named) = haven_model::traffic::named(topology, name, Some(zone)) else {
        return Vec::new();
    };
    let host = named.host().to_string();
    let mut entries = Vec::new();
    for template in haven_model::action::dns_applicable(dns, target) {
        match template.name {
            "dns-move-traffic" => {
                for region in named.records.iter().filter_map(|(r, _)| r.as_deref()) {
                    let served = named.record_in(region).is_some_and(|r| {
                        r.failover.as_deref() == Some("PRIMARY")
                            || (r.weight.is_some()
                                && named
                                    .records
                                    .iter()
                                    .all(|(_, o)| o.weight.unwrap_or(0) <= r.weight.unwrap_or(0)))
                    });
                    if served {
                        continue;
                    }
                    entries.push(MenuEntry {
                        title: format!("Move the users to {region}"),
                        risk: template.risk,
                        seed: Seed::Act {
                            region: region.to_string(),
                            line: format!("dns-move-traffic {host} --zone {zone} --to {region}"),
                        },
                    });
                }
            }
            "dns-set-weights" => {
                let weights = named
                    .records
                    .iter()
                    .filter_map(|(_, r)| {
                        Some(format!(
                            "--weight {}={}",
                            r.set_identifier.as_deref()?,
                            r.weight?
                        ))
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                entries.push(MenuEntry {
                    title: template.title.to_string(),
                    risk: template.risk,
                    seed: Seed::Act {
                        region: region_code.to_string(),
                        line: format!("dns-set-weights {host} --zone {zone} {weights}"),
                    },
                });
            }
            _ => {}
        }
    }
    entries
}

/// The entries on a deploy row: pause or resume, roll back, and finish once it can be.
fn deploy_menu(topology: &Topology, row: RowRef, now: DateTime<Utc>) -> Option<Menu> {
    let ops = [
        DeployOp::PauseOrResume,
        DeployOp::Rollback,
        DeployOp::Finish,
    ];
    let works: Vec<Work> = ops
        .into_iter()
        .filter_map(|op| deploys::work(topology, row, op, now).ok())
        .collect();
    let title = match works.first()? {
        Work::Deploy { stack, region, .. } => format!("deploy of stack {stack} in {region}"),
        _ => String::new(),
    };
    let entries = works
        .into_iter()
        .map(|work| MenuEntry {
            title: work.sentence(),
            risk: work.risk(),
            seed: Seed::Deploy(work),
        })
        .collect();
    Some(Menu {
        title,
        entries,
        selected: 0,
    })
}

/// The DR entries for a row: copies and replicas replication would make of it, and promotion of
/// a DR replica.
fn dr_entries(
    topology: &Topology,
    policy: &Policy,
    kind: ListKind,
    row: RowRef,
    title: &mut String,
) -> Vec<MenuEntry> {
    let mut out = Vec::new();
    let op_entry = |op: &Operation| MenuEntry {
        title: match op {
            Operation::Copy(c) => format!("Copy to {}", c.destination_region),
            Operation::Replica(r) => {
                format!("Create a cross-Region replica in {}", r.destination_region)
            }
            Operation::Delete(d) => format!("Delete copy {} ({})", d.id, d.why),
        },
        risk: Work::Replicate(op.clone()).risk(),
        seed: Seed::Replicate(op.clone()),
    };
    if kind == ListKind::Dr {
        let entries = insight::dr_entries(topology, policy);
        let Some(entry) = entries.get(row.index) else {
            return out;
        };
        let row = &entry.row;
        *title = format!("{} of {} in {}", row.protection, row.protects, row.region);
        // A failed copy's removal comes first: its remake reuses the name.
        out.extend(entry.operations.iter().map(op_entry));
        if row.protection == Protection::ReadReplica
            && let Some(replica) = &row.usable
        {
            out.push(MenuEntry {
                title: format!("Promote {replica} (Region failover of the database)"),
                risk: Risk::Destructive,
                seed: Seed::Act {
                    region: row.region.clone(),
                    line: format!("rds-promote {replica}"),
                },
            });
        }
        return out;
    }
    let Some(region) = row.region.and_then(|i| topology.regions.get(i)) else {
        return out;
    };
    let source_id = match kind {
        ListKind::Ami => region.images.get(row.index).map(|i| i.id.clone()),
        ListKind::Snap => region.snapshots.get(row.index).map(|s| s.id.clone()),
        ListKind::DbSnap => region
            .db_snapshots
            .get(row.index)
            .map(|s| s.identifier.clone()),
        ListKind::Rds => region.db_instances.get(row.index).map(|d| d.arn.clone()),
        _ => None,
    };
    let Some(source_id) = source_id else {
        return out;
    };
    let Some(dr) = insight::dr_policy(topology, policy) else {
        return out;
    };
    if dr.source_region != region.region {
        return out;
    }
    let plan = haven_replicate::plan(topology, &dr);
    for op in &plan.operations {
        let matches = match op {
            Operation::Copy(c) => c.source_id == source_id,
            Operation::Replica(r) => r.source_arn == source_id,
            Operation::Delete(_) => false,
        };
        if matches {
            if title.is_empty() {
                *title = format!("{} {source_id}", kind.command());
            }
            out.push(op_entry(op));
        }
    }
    out
}
