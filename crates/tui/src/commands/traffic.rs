//! The last move of `haven failover-region` and `haven failback`: sending users to the Region the
//! stack runs in now, with Route 53 (see [`haven_model::traffic`]). The record of that Region is
//! made to alias its load balancer (with its health check, created when missing), then every
//! record of the name flips in one change batch; the change is followed until `INSYNC` and
//! checked with Route 53's own answer (`TestDNSAnswer`).

use haven_aws::traffic::{DnsAnswer, NewHealthCheck};
use haven_aws::{AwsContext, ExecuteOptions};
use haven_model::action::{Action, ActionKind, ResourceKind, ResourceRef, dns_record_id};
use haven_model::blueprint::Blueprint;
use haven_model::plan::{LOGICAL_TAG, STACK_TAG};
use haven_model::topology::{AliasTarget, Topology};
use haven_model::traffic::{self, NewLeg, StackName};

use crate::cli::Fatal;

/// Why a move always flips the records, for the output.
pub(super) const WHY: &str = "Route 53 would otherwise send users back to the Region they left \
     the moment its health check passes again, and its database is no longer the stack's";

/// The line said when no record sends users to the stack.
pub(super) fn no_dns_line(stack: &str) -> String {
    format!(
        "no Route 53 record sends users to stack {stack} (none aliases its load balancers or \
         has set identifier {stack}-<region>): users reach it by the load balancer's own name, \
         which changes with the Region. Add a [dns] section to the blueprint (zone, record) to \
         have haven move users with the stack"
    )
}

/// `region` and Route 53, read whatever the blueprint says (records made by hand count too).
pub(super) async fn read_with_dns(ctx: &AwsContext, region: &str) -> Topology {
    let options = haven_aws::DiscoverOptions {
        include_iam: false,
        include_dns: true,
        include_alarms: false,
        ..haven_aws::DiscoverOptions::default()
    };
    haven_aws::discover(ctx, &[region.to_string()], &options).await
}

/// What a move will do, before anything is sent: one line per name, with the calls.
pub(super) async fn preview(ctx: &AwsContext, stack: &str, to: &str) -> Vec<String> {
    let topology = &read_with_dns(ctx, to).await;
    let names = traffic::stack_names(topology, stack);
    if names.is_empty() {
        return vec![no_dns_line(stack)];
    }
    names
        .iter()
        .map(|name| {
            format!(
                "then send the users of {} to {to} (now {}): its record there aliases {stack}-alb \
                 in {to} with its health check (created if missing), and becomes {} in one \
                 atomic ChangeResourceRecordSets; then GetChange until INSYNC and TestDNSAnswer. \
                 Always done: {WHY}",
                name.host(),
                name.roles(),
                match name.routing {
                    haven_model::front_door::Routing::Weighted => "the whole weight, the others 0",
                    _ => "PRIMARY, the others SECONDARY",
                }
            )
        })
        .collect()
}

/// The stack's load balancer in `region` as an alias target, with the health check of it that
/// exists (found by its endpoint, or by its `haven:logical` tag `health-check-<region>`).
fn leg(topology: &Topology, stack: &str, region: &str) -> Option<(NewLeg, String)> {
    let alb = format!("{stack}-alb");
    let lb = topology
        .region(region)?
        .load_balancers
        .iter()
        .find(|lb| lb.name == alb)?;
    let dns_name = lb.dns_name.clone()?;
    let logical = format!("health-check-{region}");
    let check = topology.dns.as_ref().and_then(|dns| {
        dns.health_checks.iter().find(|c| {
            let by_endpoint = c.fqdn.as_deref().is_some_and(|f| {
                f.trim_end_matches('.')
                    .eq_ignore_ascii_case(dns_name.trim_end_matches('.'))
            });
            let by_tag = c.tags.get(STACK_TAG).map(String::as_str) == Some(stack)
                && c.tags.get(LOGICAL_TAG) == Some(&logical);
            by_endpoint || by_tag
        })
    });
    Some((
        NewLeg {
            region: region.to_string(),
            set_identifier: format!("{stack}-{region}"),
            alias: AliasTarget {
                // moto's stand-in gives every load balancer `Z2P70J7EXAMPLE`; AWS gives the
                // Region's.
                hosted_zone_id: lb.canonical_hosted_zone_id.clone().unwrap_or_default(),
                dns_name: dns_name.clone(),
                evaluate_target_health: false,
            },
            health_check_id: check.map(|c| c.id.clone()),
        },
        dns_name,
    ))
}

/// Sends the users of every name routed to `stack` to `to`: see the module documentation.
pub(super) async fn move_users(
    ctx: &AwsContext,
    blueprint: &Blueprint,
    to: &str,
    out: &(dyn Fn(&str) + Sync),
    options: &ExecuteOptions,
) -> Result<(), Fatal> {
    let topology = &read_with_dns(ctx, to).await;
    let stack = blueprint.name();
    let names = traffic::stack_names(topology, stack);
    if names.is_empty() {
        out(&no_dns_line(stack));
        return Ok(());
    }
    let mut leg = leg(topology, stack, to);
    if leg.is_none() {
        out(&format!(
            "{to} has no load balancer {stack}-alb with a DNS name: the records are flipped as \
             they are, none is made to point at {to}"
        ));
    }
    // The load balancer's health check, made when there is none: without it, Route 53 would
    // keep answering with this record even when the Region is down.
    if let Some((new, fqdn)) = &mut leg
        && new.health_check_id.is_none()
    {
        // With [https], the check asks the HTTPS listener (Route 53 does not validate the
        // certificate), else the blueprint's listener.
        let (https, port) = match &blueprint.https {
            Some(h) => (true, i32::from(h.port)),
            None => (false, i32::from(blueprint.load_balancer.listener_port)),
        };
        let path = blueprint
            .dns
            .as_ref()
            .map_or("/", |d| d.health_check_path.as_str());
        let tags = [
            (STACK_TAG.to_string(), stack.to_string()),
            (LOGICAL_TAG.to_string(), format!("health-check-{to}")),
            ("Name".to_string(), format!("{stack}-{to}")),
        ];
        let reference = format!("{stack}-{to}-{}", short_hash(fqdn));
        let check = NewHealthCheck {
            caller_reference: &reference,
            fqdn,
            https,
            port,
            path,
            tags: &tags,
        };
        let id = haven_aws::traffic::create_health_check(ctx, &check)
            .await
            .map_err(|e| failed("creating the health check of the load balancer", e))?;
        out(&format!(
            "health check {id} created: {} {fqdn}:{port}{path} (Route 53 answers with {to}'s \
             record only while it passes)",
            if https { "HTTPS" } else { "HTTP" }
        ));
        new.health_check_id = Some(id);
    }
    for name in &names {
        move_one(
            ctx,
            topology,
            name,
            to,
            leg.as_ref().map(|(l, _)| l),
            out,
            options,
        )
        .await?;
        let lb_name = leg.as_ref().map(|(_, n)| n.as_str());
        report_answer(ctx, name, to, lb_name, out).await;
    }
    Ok(())
}

fn short_hash(text: &str) -> String {
    // FNV-1a: stable across runs and builds, unlike the std hasher.
    let mut hash: u64 = 0xcbf29ce484222325;
    for byte in text.to_ascii_lowercase().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    format!("{:08x}", hash as u32)
}

fn failed(what: &str, e: haven_aws::AwsError) -> Fatal {
    let mut fatal = Fatal::from(e);
    fatal.message = format!(
        "{what} failed: {}. The stack runs; users are not moved yet. Run the command again: it \
         finds what was done and goes on from there",
        fatal.message
    );
    fatal
}

/// The action that sends `name`'s users to `to`, or `None` when they go there already.
pub(crate) fn move_action(
    name: &StackName,
    to: &str,
    leg: Option<&NewLeg>,
) -> Result<Option<Action>, String> {
    let records = traffic::move_to(name, to, leg)?;
    if records.is_empty() {
        return Ok(None);
    }
    Ok(Some(Action::new(
        to,
        ResourceRef::new(
            ResourceKind::DnsRecord,
            dns_record_id(&name.zone_id, &name.name),
        )
        .named(name.host()),
        ActionKind::MoveTraffic {
            to_region: to.to_string(),
            records,
            before: Some(name.roles()),
        },
    )))
}

async fn move_one(
    ctx: &AwsContext,
    topology: &Topology,
    name: &StackName,
    to: &str,
    leg: Option<&NewLeg>,
    out: &(dyn Fn(&str) + Sync),
    options: &ExecuteOptions,
) -> Result<(), Fatal> {
    let action = move_action(name, to, leg).map_err(|message| Fatal { message, code: 1 })?;
    let Some(action) = action else {
        out(&format!(
            "{} sends users to {to} already ({}): nothing to change",
            name.host(),
            name.roles()
        ));
        return Ok(());
    };
    out(&format!("{}. Why: {WHY}", action.sentence()));
    for call in action.api_calls() {
        out(&format!("  {call}"));
    }
    let progress = |p: haven_model::action::Progress| {
        out(&format!("  {}: {}", p.step, p.message));
    };
    haven_aws::execute(ctx, &action, options, &progress)
        .await
        .map_err(|e| failed(&format!("moving the users of {}", name.host()), e))?;
    // What Route 53 now serves, evaluated as it does with the health checks discovered.
    let mut after = topology.clone();
    if let (ActionKind::MoveTraffic { records, .. }, Some(dns)) = (&action.kind, &mut after.dns) {
        for zone in dns.hosted_zones.iter_mut().filter(|z| z.id == name.zone_id) {
            for record in records {
                zone.records.retain(|r| {
                    !(r.name == record.name
                        && r.record_type == record.record_type
                        && r.set_identifier == record.set_identifier)
                });
                zone.records.push(record.clone());
            }
        }
    }
    let entry = haven_model::front_door::entry_points(&after)
        .into_iter()
        .find(|e| e.zone_id == name.zone_id && e.name == name.name);
    if let Some(entry) = entry {
        out(&format!(
            "Route 53 serves now (health checks as last read): {}",
            entry.summary(&[to])
        ));
    }
    Ok(())
}

/// Reports Route 53's own answer for `name`, and whether it leads to `to`'s load balancer. A
/// failure to ask is a warning: the change is made.
async fn report_answer(
    ctx: &AwsContext,
    name: &StackName,
    to: &str,
    lb_dns_name: Option<&str>,
    out: &(dyn Fn(&str) + Sync),
) {
    let record_type = if name.record_type == "CNAME" {
        "CNAME"
    } else {
        name.record_type.as_str()
    };
    match haven_aws::traffic::test_answer(ctx, &name.zone_id, &name.name, record_type).await {
        Ok(answer) => out(&answer_line(
            name.host(),
            record_type,
            &answer,
            to,
            lb_dns_name,
        )),
        Err(e) => out(&format!(
            "warning: could not ask Route 53 what it answers for {} (TestDNSAnswer: {}); the \
             change is INSYNC",
            name.host(),
            Fatal::from(e).message
        )),
    }
}

/// `Route 53 answers lab.example.com A: NOERROR 3.3.3.3 (…)`, with what the data leads to:
/// addresses are reported as they are (AWS answers an alias to a load balancer with its
/// addresses, which change); a name is compared with the load balancer's DNS name.
pub(super) fn answer_line(
    host: &str,
    record_type: &str,
    answer: &DnsAnswer,
    to: &str,
    lb_dns_name: Option<&str>,
) -> String {
    let data = if answer.record_data.is_empty() {
        "no data".to_string()
    } else {
        answer.record_data.join(", ")
    };
    let norm = |n: &str| {
        let n = n.trim_end_matches('.').to_ascii_lowercase();
        n.strip_prefix("dualstack.").unwrap_or(&n).to_string()
    };
    let is_address = |d: &str| d.parse::<std::net::IpAddr>().is_ok();
    let verdict = if answer.response_code != "NOERROR" {
        "users get no address".to_string()
    } else if answer.record_data.iter().all(|d| is_address(d)) {
        format!("addresses of the load balancer Route 53 chose (those of {to}'s change over time)")
    } else if let Some(lb) = lb_dns_name
        && answer.record_data.iter().any(|d| norm(d) == norm(lb))
    {
        format!("{to}'s load balancer: users go to {to}")
    } else {
        let region = answer
            .record_data
            .iter()
            .find_map(|d| traffic::region_of_elb_name(d));
        match region {
            Some(r) if r != to => format!("a load balancer in {r}, NOT {to}"),
            Some(_) => format!("a load balancer in {to}"),
            None => format!("not {to}'s load balancer"),
        }
    };
    format!(
        "Route 53 answers {host} {record_type}: {} {data} ({verdict}; name server {}, {})",
        answer.response_code, answer.nameserver, answer.protocol
    )
}
