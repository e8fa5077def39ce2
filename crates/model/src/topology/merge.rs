//! Merging a refresh into the topology shown: a service that failed in this refresh keeps the
//! data of the previous one, so a discovery error never blanks what was shown.

use super::{RegionTopology, Service, Topology};

impl Topology {
    /// Keeps `previous`'s data of every service that failed in this refresh and came back
    /// empty. Returns the merged topology and what was kept, by Region (`None` = account-wide).
    pub fn keep_last_good(
        self,
        previous: Option<&Topology>,
    ) -> (Topology, Vec<(Option<String>, Service)>) {
        let mut new = self;
        let Some(previous) = previous else {
            return (new, Vec::new());
        };
        let mut kept: Vec<(Option<String>, Service)> = Vec::new();
        let failures: Vec<(Option<String>, Service)> = new
            .errors
            .iter()
            .map(|e| (e.region.clone(), e.service))
            .collect();
        for (region, service) in failures {
            if kept.contains(&(region.clone(), service)) {
                continue;
            }
            let mut any = false;
            match &region {
                Some(code) => {
                    let Some(old) = previous.region(code) else {
                        continue;
                    };
                    match new.regions.iter_mut().find(|r| &r.region == code) {
                        Some(fresh) => any = keep_service(old, fresh, service),
                        None => {
                            new.regions.push(old.clone());
                            any = true;
                        }
                    }
                }
                None => match service {
                    Service::Iam if new.iam.is_none() && previous.iam.is_some() => {
                        new.iam = previous.iam.clone();
                        any = true;
                    }
                    Service::Route53 if new.dns.is_none() && previous.dns.is_some() => {
                        new.dns = previous.dns.clone();
                        any = true;
                    }
                    Service::Sts if new.account_id.is_none() => {
                        new.account_id = previous.account_id.clone();
                        new.caller_arn = previous.caller_arn.clone();
                        any = new.account_id.is_some();
                    }
                    _ => {}
                },
            }
            if any {
                kept.push((region, service));
            }
        }
        (new, kept)
    }

    /// A refresh that did not read IAM shows `previous`'s IAM read, with the errors it had.
    pub fn keep_iam_of(&mut self, previous: &Topology) {
        self.iam.clone_from(&previous.iam);
        self.errors.extend(
            previous
                .errors
                .iter()
                .filter(|e| e.service == Service::Iam && e.region.is_none())
                .cloned(),
        );
    }
}

fn keep_service(old: &RegionTopology, fresh: &mut RegionTopology, service: Service) -> bool {
    fn keep<T: Clone>(old: &[T], fresh: &mut Vec<T>) -> bool {
        if fresh.is_empty() && !old.is_empty() {
            *fresh = old.to_vec();
            true
        } else {
            false
        }
    }
    let mut any = false;
    match service {
        Service::Ec2 => {
            any |= keep(&old.availability_zones, &mut fresh.availability_zones);
            any |= keep(&old.vpcs, &mut fresh.vpcs);
            any |= keep(&old.subnets, &mut fresh.subnets);
            any |= keep(&old.route_tables, &mut fresh.route_tables);
            any |= keep(&old.internet_gateways, &mut fresh.internet_gateways);
            any |= keep(&old.nat_gateways, &mut fresh.nat_gateways);
            any |= keep(&old.security_groups, &mut fresh.security_groups);
            any |= keep(&old.instances, &mut fresh.instances);
            any |= keep(&old.volumes, &mut fresh.volumes);
            any |= keep(&old.images, &mut fresh.images);
            any |= keep(&old.snapshots, &mut fresh.snapshots);
            any |= keep(&old.launch_templates, &mut fresh.launch_templates);
        }
        Service::AutoScaling => {
            any |= keep(&old.auto_scaling_groups, &mut fresh.auto_scaling_groups);
            any |= keep(&old.launch_configurations, &mut fresh.launch_configurations);
        }
        Service::Elbv2 => {
            any |= keep(&old.load_balancers, &mut fresh.load_balancers);
            any |= keep(&old.target_groups, &mut fresh.target_groups);
            any |= keep(
                &old.classic_load_balancers,
                &mut fresh.classic_load_balancers,
            );
        }
        Service::Rds => {
            any |= keep(&old.db_instances, &mut fresh.db_instances);
            any |= keep(&old.db_clusters, &mut fresh.db_clusters);
            any |= keep(&old.db_snapshots, &mut fresh.db_snapshots);
            any |= keep(&old.db_subnet_groups, &mut fresh.db_subnet_groups);
        }
        Service::Acm => {
            any |= keep(&old.certificates, &mut fresh.certificates);
        }
        Service::CloudWatch => {
            any |= keep(&old.alarms, &mut fresh.alarms);
        }
        Service::Backup => {
            if fresh.backup_selections.is_none() && old.backup_selections.is_some() {
                fresh.backup_selections = old.backup_selections.clone();
                any = true;
            }
        }
        // Classic Load Balancers come from the same endpoint as v2 (Service::Elbv2 errors).
        Service::Sts | Service::Iam | Service::Route53 | Service::Wafv2 => {}
    }
    any
}
