//! The lab fixture and its primary Region, shared by the findings tests.

use super::Topology;
use crate::topology::RegionTopology;

pub(super) const PRIMARY: &str = "ap-northeast-2";

pub(super) fn healthy() -> Topology {
    Topology::from_json(include_str!("../../../../assets/fixtures/lab-healthy.json"))
        .expect("fixture")
}

pub(super) fn primary(t: &mut Topology) -> &mut RegionTopology {
    t.regions
        .iter_mut()
        .find(|r| r.region == PRIMARY)
        .expect("primary")
}
