//! Lookups built once per Region, so that checks stay linear on large stacks. The meaning of
//! each lookup is the one of [`crate::relations`]; only the cost differs.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::relations::HealthCount;
use crate::topology::{
    AutoScalingGroup, DbInstance, Instance, LaunchTemplate, LaunchTemplateRef,
    LaunchTemplateVersion, LoadBalancer, NatGateway, RegionTopology, RouteTable, RouteTarget,
    SecurityGroup, Subnet, Target, TargetGroup, TargetHealthState,
};

/// One Region with its lookups.
pub(crate) struct RegionIndex<'a> {
    pub region: &'a RegionTopology,
    subnets: HashMap<&'a str, &'a Subnet>,
    instances: HashMap<&'a str, &'a Instance>,
    explicit_route_table: HashMap<&'a str, &'a RouteTable>,
    main_route_table: HashMap<&'a str, &'a RouteTable>,
    nats: HashMap<&'a str, &'a NatGateway>,
    templates_by_id: HashMap<&'a str, &'a LaunchTemplate>,
    templates_by_name: HashMap<&'a str, &'a LaunchTemplate>,
    security_groups: HashMap<&'a str, &'a SecurityGroup>,
    db_instances: HashMap<&'a str, &'a DbInstance>,
    default_vpcs: HashSet<&'a str>,
    /// Target group ARN → instance ids of the ASGs that feed it.
    feeding_members: HashMap<&'a str, HashSet<&'a str>>,
    /// Load balancer ARN → its target groups (listener order, then the ones naming it).
    tgs_of_lb: HashMap<&'a str, Vec<&'a TargetGroup>>,
    /// Target group ARN → load balancers using it.
    lbs_of_tg: HashMap<&'a str, Vec<&'a LoadBalancer>>,
}

impl<'a> RegionIndex<'a> {
    pub fn new(region: &'a RegionTopology) -> Self {
        let mut explicit_route_table = HashMap::new();
        let mut main_route_table = HashMap::new();
        for rt in &region.route_tables {
            for a in &rt.associations {
                if let Some(subnet) = a.subnet_id.as_deref() {
                    explicit_route_table.entry(subnet).or_insert(rt);
                }
                if a.main {
                    main_route_table.entry(rt.vpc_id.as_str()).or_insert(rt);
                }
            }
        }
        let target_groups: HashMap<&str, &TargetGroup> = region
            .target_groups
            .iter()
            .map(|t| (t.arn.as_str(), t))
            .collect();
        let mut feeding_members: HashMap<&str, HashSet<&str>> = HashMap::new();
        for asg in &region.auto_scaling_groups {
            for tg in &asg.target_group_arns {
                feeding_members
                    .entry(tg.as_str())
                    .or_default()
                    .extend(asg.instances.iter().map(|m| m.instance_id.as_str()));
            }
        }
        let mut tgs_of_lb: HashMap<&str, Vec<&TargetGroup>> = HashMap::new();
        let mut lbs_of_tg: HashMap<&str, Vec<&LoadBalancer>> = HashMap::new();
        for lb in &region.load_balancers {
            let mut arns: Vec<&str> = Vec::new();
            for tg in lb.listeners.iter().flat_map(|l| l.forwards()) {
                if !arns.contains(&tg.arn.as_str()) {
                    arns.push(&tg.arn);
                }
            }
            let groups: Vec<&TargetGroup> = arns
                .iter()
                .filter_map(|a| target_groups.get(a).copied())
                .collect();
            tgs_of_lb.insert(lb.arn.as_str(), groups);
        }
        // Target groups that name their load balancer but are not in a default action (rules).
        let lbs_by_arn: HashMap<&str, &LoadBalancer> = region
            .load_balancers
            .iter()
            .map(|l| (l.arn.as_str(), l))
            .collect();
        for tg in &region.target_groups {
            for lb_arn in &tg.load_balancer_arns {
                if let Some(groups) = tgs_of_lb.get_mut(lb_arn.as_str())
                    && !groups.iter().any(|g| g.arn == tg.arn)
                {
                    groups.push(tg);
                }
            }
        }
        for lb in &region.load_balancers {
            for tg in tgs_of_lb.get(lb.arn.as_str()).into_iter().flatten() {
                if let Some(lb) = lbs_by_arn.get(lb.arn.as_str()) {
                    lbs_of_tg.entry(tg.arn.as_str()).or_default().push(lb);
                }
            }
        }
        Self {
            region,
            subnets: region.subnets.iter().map(|s| (s.id.as_str(), s)).collect(),
            instances: region
                .instances
                .iter()
                .map(|i| (i.id.as_str(), i))
                .collect(),
            explicit_route_table,
            main_route_table,
            nats: region
                .nat_gateways
                .iter()
                .map(|n| (n.id.as_str(), n))
                .collect(),
            templates_by_id: region
                .launch_templates
                .iter()
                .map(|t| (t.id.as_str(), t))
                .collect(),
            templates_by_name: region
                .launch_templates
                .iter()
                .map(|t| (t.name.as_str(), t))
                .collect(),
            security_groups: region
                .security_groups
                .iter()
                .map(|g| (g.id.as_str(), g))
                .collect(),
            db_instances: region
                .db_instances
                .iter()
                .map(|d| (d.identifier.as_str(), d))
                .collect(),
            default_vpcs: region
                .vpcs
                .iter()
                .filter(|v| v.is_default)
                .map(|v| v.id.as_str())
                .collect(),
            feeding_members,
            tgs_of_lb,
            lbs_of_tg,
        }
    }

    pub fn code(&self) -> &'a str {
        &self.region.region
    }

    pub fn subnet(&self, id: &str) -> Option<&'a Subnet> {
        self.subnets.get(id).copied()
    }

    pub fn instance(&self, id: &str) -> Option<&'a Instance> {
        self.instances.get(id).copied()
    }

    pub fn security_group(&self, id: &str) -> Option<&'a SecurityGroup> {
        self.security_groups.get(id).copied()
    }

    pub fn db_instance(&self, identifier: &str) -> Option<&'a DbInstance> {
        self.db_instances.get(identifier).copied()
    }

    pub fn is_default_vpc(&self, vpc_id: &str) -> bool {
        self.default_vpcs.contains(vpc_id)
    }

    /// Same as [`RegionTopology::route_table_for_subnet`].
    pub fn route_table(&self, subnet_id: &str) -> Option<&'a RouteTable> {
        self.explicit_route_table
            .get(subnet_id)
            .copied()
            .or_else(|| {
                let vpc = &self.subnet(subnet_id)?.vpc_id;
                self.main_route_table.get(vpc.as_str()).copied()
            })
    }

    /// Same as [`RegionTopology::subnet_is_public`].
    pub fn subnet_is_public(&self, subnet_id: &str) -> bool {
        self.route_table(subnet_id).is_some_and(|rt| {
            rt.routes
                .iter()
                .any(|r| matches!(r.target, RouteTarget::InternetGateway(_)))
        })
    }

    /// Same as [`RegionTopology::nat_for_subnet`]; also the NAT id when the NAT is unknown.
    pub fn nat_route(&self, subnet_id: &str) -> Option<(&'a str, Option<&'a NatGateway>)> {
        let rt = self.route_table(subnet_id)?;
        rt.routes.iter().find_map(|r| match &r.target {
            RouteTarget::NatGateway(id) if r.destination == "0.0.0.0/0" => {
                Some((id.as_str(), self.nats.get(id.as_str()).copied()))
            }
            _ => None,
        })
    }

    /// Same as [`RegionTopology::nat_az_for_subnet`].
    pub fn nat_az(&self, nat: &NatGateway) -> Option<&'a str> {
        Some(self.subnet(&nat.subnet_id)?.availability_zone.as_str())
    }

    /// Same as [`RegionTopology::target_az`].
    pub fn target_az<'t>(&self, target: &'t Target) -> Option<&'t str>
    where
        'a: 't,
    {
        self.instance(&target.id)
            .map(|i| i.availability_zone.as_str())
            .or(target.availability_zone.as_deref())
    }

    /// Same as [`RegionTopology::stale_targets`] being empty for this target.
    fn target_is_live(&self, tg: &TargetGroup, target: &Target) -> bool {
        if tg.target_type != "instance" {
            return true;
        }
        match self.instance(&target.id) {
            None => false,
            Some(i) if i.state.is_gone() => false,
            Some(_) => self
                .feeding_members
                .get(tg.arn.as_str())
                // An attached group with no members (scaled to nothing) feeds none of them.
                .is_none_or(|members| members.contains(target.id.as_str())),
        }
    }

    /// Live targets with their AZ.
    pub fn live_targets<'t>(&'t self, tg: &'t TargetGroup) -> impl Iterator<Item = &'t Target> {
        tg.targets
            .iter()
            .filter(move |t| self.target_is_live(tg, t))
    }

    /// Same as [`RegionTopology::healthy_targets_by_az`].
    pub fn healthy_targets_by_az(&self, tg: &TargetGroup) -> BTreeMap<String, HealthCount> {
        let mut by_az: BTreeMap<String, HealthCount> = BTreeMap::new();
        for target in self.live_targets(tg) {
            let az = self.target_az(target).unwrap_or("unknown").to_string();
            let count = by_az.entry(az).or_default();
            count.total += 1;
            if target.health == TargetHealthState::Healthy {
                count.healthy += 1;
            }
        }
        by_az
    }

    /// Same as [`RegionTopology::target_groups_of`].
    pub fn target_groups_of(&self, lb: &LoadBalancer) -> &[&'a TargetGroup] {
        self.tgs_of_lb
            .get(lb.arn.as_str())
            .map_or(&[], Vec::as_slice)
    }

    /// Load balancers forwarding to a target group.
    pub fn load_balancers_of(&self, tg_arn: &str) -> &[&'a LoadBalancer] {
        self.lbs_of_tg.get(tg_arn).map_or(&[], Vec::as_slice)
    }

    /// Same as [`RegionTopology::load_balancer_health_by_az`].
    pub fn load_balancer_health_by_az(&self, lb: &LoadBalancer) -> BTreeMap<String, HealthCount> {
        let mut by_az: BTreeMap<String, HealthCount> = lb
            .zones
            .iter()
            .map(|z| (z.availability_zone.clone(), HealthCount::default()))
            .collect();
        for tg in self.target_groups_of(lb) {
            for (az, count) in self.healthy_targets_by_az(tg) {
                let entry = by_az.entry(az).or_default();
                entry.healthy += count.healthy;
                entry.total += count.total;
            }
        }
        by_az
    }

    /// Load balancers serving an Auto Scaling group (through its target groups).
    pub fn load_balancers_of_asg(&self, asg: &AutoScalingGroup) -> Vec<&'a LoadBalancer> {
        let mut out: Vec<&LoadBalancer> = Vec::new();
        for tg in &asg.target_group_arns {
            for lb in self.load_balancers_of(tg) {
                if !out.iter().any(|o| o.arn == lb.arn) {
                    out.push(lb);
                }
            }
        }
        out
    }

    /// The launch template a reference names.
    pub fn launch_template(&self, r: &LaunchTemplateRef) -> Option<&'a LaunchTemplate> {
        r.id.as_deref()
            .and_then(|id| self.templates_by_id.get(id).copied())
            .or_else(|| {
                r.name
                    .as_deref()
                    .and_then(|n| self.templates_by_name.get(n).copied())
            })
    }

    /// The template version a reference resolves to (`$Latest`, `$Default`, a number, or none
    /// meaning the default).
    pub fn launch_template_version(
        &self,
        r: &LaunchTemplateRef,
    ) -> Option<(&'a LaunchTemplate, &'a LaunchTemplateVersion)> {
        let lt = self.launch_template(r)?;
        let number = match r.version.as_deref() {
            Some("$Latest") => lt.latest_version,
            Some("$Default") | None => lt.default_version,
            Some(n) => n.parse().ok(),
        };
        let version = match number {
            Some(n) => lt.versions.iter().find(|v| v.number == n),
            None => lt.versions.iter().find(|v| v.is_default),
        }?;
        Some((lt, version))
    }

    /// Live members of an ASG by AZ (same as [`RegionTopology::asg_instances_by_az`]).
    pub fn asg_instances_by_az(&self, asg: &'a AutoScalingGroup) -> BTreeMap<String, Vec<&'a str>> {
        let mut by_az: BTreeMap<String, Vec<&str>> = asg
            .availability_zones
            .iter()
            .map(|az| (az.clone(), Vec::new()))
            .collect();
        for member in &asg.instances {
            let gone = self
                .instance(&member.instance_id)
                .is_some_and(|i| i.state == crate::topology::InstanceState::Terminated);
            if !gone {
                by_az
                    .entry(member.availability_zone.clone())
                    .or_default()
                    .push(&member.instance_id);
            }
        }
        by_az
    }

    /// The security groups of each tier: load balancers, app instances (members of ASGs behind
    /// a load balancer, or registered targets), and databases.
    pub fn tier_security_groups(&self) -> TierGroups<'a> {
        let mut tiers = TierGroups::default();
        for lb in &self.region.load_balancers {
            tiers
                .lb
                .extend(lb.security_group_ids.iter().map(String::as_str));
        }
        for asg in &self.region.auto_scaling_groups {
            if self.load_balancers_of_asg(asg).is_empty() {
                continue;
            }
            for m in &asg.instances {
                if let Some(i) = self.instance(&m.instance_id) {
                    tiers
                        .app
                        .extend(i.security_group_ids.iter().map(String::as_str));
                }
            }
            if let Some((_, v)) = asg
                .launch_template
                .as_ref()
                .and_then(|r| self.launch_template_version(r))
            {
                tiers
                    .app
                    .extend(v.security_group_ids.iter().map(String::as_str));
            }
        }
        for tg in &self.region.target_groups {
            if self.load_balancers_of(&tg.arn).is_empty() {
                continue;
            }
            for t in &tg.targets {
                if let Some(i) = self.instance(&t.id) {
                    tiers
                        .app
                        .extend(i.security_group_ids.iter().map(String::as_str));
                }
            }
        }
        for db in &self.region.db_instances {
            for sg in &db.vpc_security_group_ids {
                tiers
                    .db
                    .insert(sg.as_str(), db.endpoint.as_ref().and_then(|e| e.port));
            }
        }
        for cl in &self.region.db_clusters {
            for sg in &cl.vpc_security_group_ids {
                tiers.db.insert(sg.as_str(), cl.port);
            }
        }
        // A group shared by two tiers is judged by the tier in front.
        let lb = tiers.lb.clone();
        tiers.app.retain(|g| !lb.contains(g));
        tiers
    }
}

/// Security groups per tier; database groups with the port they serve.
#[derive(Default)]
pub(crate) struct TierGroups<'a> {
    pub lb: BTreeSet<&'a str>,
    pub app: BTreeSet<&'a str>,
    pub db: BTreeMap<&'a str, Option<i32>>,
}
