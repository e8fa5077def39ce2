//! The Route 53 actions: moving a name's users to one Region, and setting weights. Route 53 is
//! global; the action's Region is the Region users go to (or the stack's), for the log.

use super::{ActionKind, ActionTemplate, ApiCall, ResourceKind, ResourceRef, Risk, template};
use crate::topology::{Dns, DnsRecord, Service};

/// `lab.example.com` from a [`ResourceKind::DnsRecord`] id `Z0123/lab.example.com.`.
pub(super) fn host(id: &str) -> String {
    id.split_once('/')
        .map_or(id, |(_, name)| name)
        .trim_end_matches('.')
        .to_string()
}

/// The hosted zone id and the name (with the final dot) of a [`ResourceKind::DnsRecord`] id.
pub fn split_record_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('/')
        .filter(|(zone, name)| !zone.is_empty() && !name.is_empty())
}

fn describe(record: &DnsRecord) -> String {
    let id = record
        .set_identifier
        .as_deref()
        .unwrap_or("(no set identifier)");
    let role = match (&record.failover, record.weight) {
        (Some(role), _) => role.clone(),
        (None, Some(weight)) => format!("weight {weight}"),
        _ => "simple".to_string(),
    };
    let target = record
        .target()
        .map(|t| format!(" → {t}"))
        .unwrap_or_default();
    format!("{id} {role}{target}")
}

pub(super) fn sentence(kind: &ActionKind, host: &str) -> String {
    use ActionKind::*;
    let after = |records: &[DnsRecord]| records.iter().map(describe).collect::<Vec<_>>().join(", ");
    let was = |before: &Option<String>| {
        before
            .as_ref()
            .map(|b| format!(" (was {b})"))
            .unwrap_or_default()
    };
    match kind {
        MoveTraffic {
            to_region,
            records,
            before,
        } => format!(
            "Send the users of {host} to {to_region}: {}{}, in one atomic Route 53 change",
            after(records),
            was(before)
        ),
        SetDnsWeights { records, before } => format!(
            "Set the Route 53 weights of {host}: {}{}",
            after(records),
            was(before)
        ),
        other => unreachable!("{} is not a Route 53 action", other.name()),
    }
}

/// One `UPSERT` per record, in one `ChangeResourceRecordSets`, then `GetChange` until `INSYNC`.
pub(super) fn calls(kind: &ActionKind, id: &str) -> Vec<ApiCall> {
    use ActionKind::*;
    let records = match kind {
        MoveTraffic { records, .. } | SetDnsWeights { records, .. } => records,
        other => unreachable!("{} is not a Route 53 action", other.name()),
    };
    let zone = split_record_id(id).map_or(id, |(zone, _)| zone);
    vec![
        change_call(zone, records),
        ApiCall::new(Service::Route53, "GetChange").param("Id", "<the change's id>"),
    ]
}

/// The `ChangeResourceRecordSets` call that UPSERTs `records` in `zone`.
pub fn change_call(zone: &str, records: &[DnsRecord]) -> ApiCall {
    let mut call =
        ApiCall::new(Service::Route53, "ChangeResourceRecordSets").param("HostedZoneId", zone);
    for (i, r) in records.iter().enumerate() {
        let p = format!("ChangeBatch.Changes.{}", i + 1);
        let set = format!("{p}.ResourceRecordSet");
        call = call
            .param(format!("{p}.Action"), "UPSERT")
            .param(format!("{set}.Name"), &r.name)
            .param(format!("{set}.Type"), &r.record_type)
            .param_opt(&format!("{set}.SetIdentifier"), r.set_identifier.as_deref())
            .param_opt(&format!("{set}.Failover"), r.failover.as_deref())
            .param_opt(&format!("{set}.Weight"), r.weight)
            .param_opt(
                &format!("{set}.HealthCheckId"),
                r.health_check_id.as_deref(),
            );
        match &r.alias {
            Some(alias) => {
                call = call
                    .param(
                        format!("{set}.AliasTarget.HostedZoneId"),
                        &alias.hosted_zone_id,
                    )
                    .param(format!("{set}.AliasTarget.DNSName"), &alias.dns_name)
                    .param(
                        format!("{set}.AliasTarget.EvaluateTargetHealth"),
                        alias.evaluate_target_health,
                    );
            }
            None => {
                call = call.param_opt(&format!("{set}.TTL"), r.ttl);
                for (j, value) in r.values.iter().enumerate() {
                    call = call.param(format!("{set}.ResourceRecords.{}.Value", j + 1), value);
                }
            }
        }
    }
    call
}

/// The actions that apply to a record name ([`ResourceKind::DnsRecord`]) as Route 53 has it.
pub fn dns_applicable(dns: &Dns, target: &ResourceRef) -> Vec<ActionTemplate> {
    if target.kind != ResourceKind::DnsRecord {
        return Vec::new();
    }
    let Some((zone_id, name)) = split_record_id(&target.id) else {
        return Vec::new();
    };
    let records: Vec<&DnsRecord> = dns
        .hosted_zones
        .iter()
        .filter(|z| z.id == zone_id)
        .flat_map(|z| &z.records)
        .filter(|r| r.name.eq_ignore_ascii_case(name))
        .collect();
    let failover = records.iter().filter(|r| r.failover.is_some()).count();
    let weighted = records.iter().filter(|r| r.weight.is_some()).count();
    let mut out = Vec::new();
    if failover >= 2 {
        out.push(template(
            "dns-move-traffic",
            "Move the users to another Region (PRIMARY there)",
            Risk::Destructive,
        ));
    }
    if weighted >= 2 {
        out.push(template(
            "dns-move-traffic",
            "Move all the users to one Region (its weight, others 0)",
            Risk::Destructive,
        ));
        out.push(template(
            "dns-set-weights",
            "Set the weights",
            Risk::Disruptive,
        ));
    }
    out
}
