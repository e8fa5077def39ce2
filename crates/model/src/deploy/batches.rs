//! Rolling by batches, driven by haven where instance refresh is not available (moto, for one):
//! which instances to take out next so that every AZ keeps a healthy target and the group keeps
//! its minimum healthy percentage.

use std::collections::BTreeMap;

use serde::Serialize;

/// The sequence of batches for a group, and the extra instances to launch first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollingPlan {
    /// Instances to add before the first batch (desired capacity raised by this much, lowered
    /// again at the end): one per AZ that has a single member, plus one when the minimum
    /// healthy percentage leaves no room to take any instance out.
    pub surge: usize,
    /// The AZs with a single member, which the surge fills (Auto Scaling launches into the AZ
    /// with the fewest instances).
    pub surge_azs: Vec<String>,
    /// Batches of instance ids, in order; each is replaced and healthy before the next.
    pub batches: Vec<Vec<String>>,
}

/// The smallest number of healthy instances `min_healthy_percent` of `capacity` allows.
pub fn healthy_floor(capacity: usize, min_healthy_percent: u8) -> usize {
    (capacity * usize::from(min_healthy_percent.min(100))).div_ceil(100)
}

/// The next batch: at most `batch` of the `old` members, at most `allowed_out` in all, and in
/// each AZ at most its healthy members less one, so that no AZ is left without a healthy target.
/// AZs with the most room give first.
pub fn next_batch(
    old_by_az: &BTreeMap<String, Vec<String>>,
    healthy_by_az: &BTreeMap<String, usize>,
    batch: usize,
    allowed_out: usize,
) -> Vec<String> {
    let limit = batch.max(1).min(allowed_out);
    let mut room: BTreeMap<&str, usize> = old_by_az
        .keys()
        .map(|az| {
            let healthy = healthy_by_az.get(az).copied().unwrap_or(0);
            (az.as_str(), healthy.saturating_sub(1))
        })
        .collect();
    let mut taken: BTreeMap<&str, usize> = BTreeMap::new();
    let mut chosen = Vec::new();
    while chosen.len() < limit {
        // The AZ with the most room left that still has an old member not chosen.
        let pick = old_by_az
            .iter()
            .filter(|(az, ids)| {
                room.get(az.as_str()).copied().unwrap_or(0) > 0
                    && taken.get(az.as_str()).copied().unwrap_or(0) < ids.len()
            })
            .max_by_key(|(az, _)| (room.get(az.as_str()).copied().unwrap_or(0), az.as_str()));
        let Some((az, ids)) = pick else {
            break;
        };
        let index = taken.entry(az.as_str()).or_default();
        chosen.push(ids[*index].clone());
        *index += 1;
        if let Some(r) = room.get_mut(az.as_str()) {
            *r -= 1;
        }
    }
    chosen
}

/// Every batch of a rolling replacement of `members_by_az` (all healthy, all on the old
/// version), `batch` at a time, never leaving an AZ without a healthy member nor the group
/// under `min_healthy_percent` of its size, assuming each replacement launches in the AZ of the
/// instance it replaces (the AZ with the fewest instances, where Auto Scaling launches).
pub fn rolling_batches(
    members_by_az: &BTreeMap<String, Vec<String>>,
    batch: usize,
    min_healthy_percent: u8,
) -> RollingPlan {
    let size: usize = members_by_az.values().map(Vec::len).sum();
    let floor = healthy_floor(size, min_healthy_percent);
    let surge_azs: Vec<String> = members_by_az
        .iter()
        .filter(|(_, ids)| ids.len() == 1)
        .map(|(az, _)| az.clone())
        .collect();
    let healthy_by_az: BTreeMap<String, usize> = members_by_az
        .iter()
        .map(|(az, ids)| (az.clone(), ids.len() + usize::from(ids.len() == 1)))
        .collect();
    let mut healthy = size + surge_azs.len();
    let mut surge = surge_azs.len();
    if size > 0 && healthy <= floor {
        surge += 1;
        healthy += 1;
    }
    let mut old = members_by_az.clone();
    let mut batches = Vec::new();
    while old.values().any(|ids| !ids.is_empty()) {
        let next = next_batch(&old, &healthy_by_az, batch, healthy - floor);
        if next.is_empty() {
            break;
        }
        for ids in old.values_mut() {
            ids.retain(|id| !next.contains(id));
        }
        batches.push(next);
    }
    RollingPlan {
        surge,
        surge_azs,
        batches,
    }
}
