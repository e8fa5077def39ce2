//! What a refresh reads: everything (a full discovery), or only what changes often, with the
//! narrowest calls for what is already known (the live read).
//!
//! The live read follows what AWS changes on its own between two looks: instance states, target
//! health, Auto Scaling capacity and members, DB status, alarm states and copies in progress.
//! Networks, security groups, launch templates, IAM and the rest change when somebody changes
//! them: they are read by the full discovery (on its slower cadence, on `R`, or for the view
//! asked with `r`).

use std::collections::BTreeSet;

use crate::topology::{Part, RegionTopology, Topology};

/// What to read in one Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionRead {
    /// The Region code.
    pub region: String,
    /// The parts to read.
    pub parts: BTreeSet<Part>,
    /// For [`Part::TargetHealth`]: the target groups whose health is asked.
    pub target_groups: Vec<String>,
}

/// What one refresh reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadPlan {
    /// Account-wide parts ([`Part::Iam`], [`Part::Dns`]).
    pub global: BTreeSet<Part>,
    /// Per Region, in the order shown.
    pub regions: Vec<RegionRead>,
}

impl ReadPlan {
    /// Every part of every Region, and the account-wide parts given.
    pub fn full(regions: &[String], global: impl IntoIterator<Item = Part>) -> Self {
        Self::parts(regions, Part::REGIONAL, global)
    }

    /// These parts in every Region (a view's `r`), and the account-wide parts given.
    pub fn parts(
        regions: &[String],
        parts: impl IntoIterator<Item = Part>,
        global: impl IntoIterator<Item = Part>,
    ) -> Self {
        let parts: BTreeSet<Part> = parts.into_iter().filter(|p| !p.is_global()).collect();
        Self {
            global: global.into_iter().filter(|p| p.is_global()).collect(),
            regions: regions
                .iter()
                .map(|region| RegionRead {
                    region: region.clone(),
                    parts: parts.clone(),
                    target_groups: Vec::new(),
                })
                .collect(),
        }
    }

    /// The (Region, part) pairs this plan will answer, account-wide ones with no Region.
    pub fn pending(&self) -> BTreeSet<(Option<String>, Part)> {
        let global = self.global.iter().map(|&p| (None, p));
        let regional = self
            .regions
            .iter()
            .flat_map(|r| r.parts.iter().map(|&p| (Some(r.region.clone()), p)));
        global.chain(regional).collect()
    }

    /// Adds another plan's reads (a view's parts to the live read, say).
    pub fn merge(mut self, other: ReadPlan) -> Self {
        self.global.extend(other.global);
        for read in other.regions {
            match self.regions.iter_mut().find(|r| r.region == read.region) {
                Some(mine) => {
                    mine.parts.extend(read.parts);
                    for tg in read.target_groups {
                        if !mine.target_groups.contains(&tg) {
                            mine.target_groups.push(tg);
                        }
                    }
                }
                None => self.regions.push(read),
            }
        }
        for read in &mut self.regions {
            // A whole read makes its narrow one redundant.
            let whole: Vec<Part> = read.parts.iter().copied().collect();
            read.parts
                .retain(|&p| !whole.iter().any(|&w| w != p && w.answers(p)));
        }
        self
    }

    /// Nothing to read.
    pub fn is_empty(&self) -> bool {
        self.global.is_empty() && self.regions.iter().all(|r| r.parts.is_empty())
    }
}

/// The live read: for each Region, only the parts that change on their own and only where
/// something is there to change (a Region without a database asks no RDS; a new database shows
/// at the next full discovery). A Region not read yet is read whole.
pub fn live_plan(shown: &Topology, regions: &[String]) -> ReadPlan {
    let reads = regions
        .iter()
        .map(|code| match shown.region(code) {
            Some(region) => live_read(region),
            None => RegionRead {
                region: code.clone(),
                parts: Part::REGIONAL.into_iter().collect(),
                target_groups: Vec::new(),
            },
        })
        .collect();
    ReadPlan {
        global: BTreeSet::new(),
        regions: reads,
    }
}

/// A state AWS moves on its own from (a copy, a launch, a modification in progress).
fn in_progress(state: &str) -> bool {
    matches!(
        state,
        "pending" | "creating" | "copying" | "modifying" | "in-progress"
    )
}

fn live_read(region: &RegionTopology) -> RegionRead {
    let mut parts = BTreeSet::from([Part::Instances]);
    if !region.auto_scaling_groups.is_empty() {
        parts.insert(Part::AsgCapacity);
    }
    // Only groups a load balancer sends traffic to have health that the map shows.
    let target_groups: Vec<String> = region
        .target_groups
        .iter()
        .filter(|g| !g.load_balancer_arns.is_empty())
        .map(|g| g.arn.clone())
        .collect();
    if !target_groups.is_empty() {
        parts.insert(Part::TargetHealth);
    }
    if !region.db_instances.is_empty() {
        parts.insert(Part::Databases);
    }
    if !region.db_clusters.is_empty() {
        parts.insert(Part::DbClusters);
    }
    if !region.alarms.is_empty() {
        parts.insert(Part::Alarms);
    }
    let copying = region.snapshots.iter().any(|s| in_progress(&s.state))
        || region.images.iter().any(|i| in_progress(&i.state))
        || region.volumes.iter().any(|v| in_progress(&v.state));
    if copying {
        parts.insert(Part::Storage);
    }
    if region.db_snapshots.iter().any(|s| in_progress(&s.status)) {
        parts.insert(Part::DbSnapshots);
    }
    RegionRead {
        region: region.region.clone(),
        parts,
        target_groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> Topology {
        serde_json::from_str(include_str!("../../../assets/fixtures/two-regions.json"))
            .expect("fixture")
    }

    fn regions(t: &Topology) -> Vec<String> {
        t.regions.iter().map(|r| r.region.clone()).collect()
    }

    #[test]
    fn the_live_read_asks_only_what_changes_on_its_own_and_only_where_it_is() {
        let lab = lab();
        let plan = live_plan(&lab, &regions(&lab));
        let primary = &plan.regions[0];
        assert_eq!(
            primary.parts,
            BTreeSet::from([
                Part::Instances,
                Part::AsgCapacity,
                Part::TargetHealth,
                Part::Databases,
                Part::Alarms,
            ])
        );
        assert_eq!(primary.target_groups.len(), 1);
        let dr = &plan.regions[1];
        // The DR Region has a snapshot copy still pending: its storage is followed.
        assert_eq!(
            dr.parts,
            BTreeSet::from([
                Part::Instances,
                Part::Storage,
                Part::Databases,
                Part::Alarms
            ])
        );
        for read in &plan.regions {
            for slow in [
                Part::Network,
                Part::LaunchTemplates,
                Part::Settings,
                Part::Backup,
            ] {
                assert!(!read.parts.contains(&slow), "{slow:?} in {}", read.region);
            }
        }
        assert!(plan.global.is_empty(), "IAM and DNS are not live");
    }

    #[test]
    fn a_copy_in_progress_is_followed_until_it_is_done() {
        let mut lab = lab();
        let mut copy = lab.regions[0].db_snapshots[0].clone();
        copy.status = "copying".into();
        lab.regions[1].db_snapshots = vec![copy.clone()];
        let plan = live_plan(&lab, &regions(&lab));
        assert!(plan.regions[1].parts.contains(&Part::DbSnapshots));
        copy.status = "available".into();
        lab.regions[1].db_snapshots = vec![copy];
        let plan = live_plan(&lab, &regions(&lab));
        assert!(!plan.regions[1].parts.contains(&Part::DbSnapshots));
    }

    #[test]
    fn a_region_never_read_is_read_whole_and_merging_drops_narrow_reads() {
        let lab = lab();
        let mut asked = regions(&lab);
        asked.push("eu-west-1".into());
        let plan = live_plan(&lab, &asked);
        assert_eq!(plan.regions[2].parts.len(), Part::REGIONAL.len());
        let view = ReadPlan::parts(&asked, [Part::LoadBalancers], []);
        let merged = plan.merge(view);
        let primary = &merged.regions[0];
        assert!(primary.parts.contains(&Part::LoadBalancers));
        assert!(!primary.parts.contains(&Part::TargetHealth));
        assert!(
            merged
                .pending()
                .contains(&(Some("eu-west-1".into()), Part::Network))
        );
    }
}
