//! Route 53 as it answers, where moto does not: `TestDNSAnswer` (moto: HTTP 404) and the health
//! of a dropped Region's load balancers in `GetHealthCheckStatus` (moto: always `Success`).
//!
//! `TestDNSAnswer` evaluates the record sets of the name as Route 53 does
//! (<https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-how-r53-chooses-records-when-health-checking-configured.html>):
//! failover answers with the PRIMARY while its health check passes, else with the SECONDARY
//! when it passes, else the PRIMARY; weighted answers with one of the healthy records by weight
//! (here, deterministically, the highest weight among the healthy, or among all when none is);
//! a record without a health check is healthy. The answer has the format of
//! <https://docs.aws.amazon.com/Route53/latest/APIReference/API_TestDNSAnswer.html>.
//!
//! An alias to a load balancer is answered with the load balancer's DNS name: AWS answers with
//! its addresses, but moto's load balancer names resolve nowhere. haven accepts either.
//!
//! A health check whose endpoint is a load balancer of the Region realism has dropped
//! ([`super::Realism::silent_region`]; the Region is in the name,
//! `….<region>.elb.amazonaws.com`) reads as failing, as Route 53's checkers would find it.

use super::xml::{child_text, children, content, escape, section};

/// The Route 53 requests answered here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route53Request {
    /// `GET /2013-04-01/testdnsanswer?hostedzoneid=…&recordname=…&recordtype=…`.
    TestDnsAnswer {
        zone: String,
        name: String,
        record_type: String,
    },
    /// `GET /2013-04-01/healthcheck/{id}/status`.
    HealthCheckStatus { id: String },
}

/// Which of the requests above `method` `path?query` is.
pub(crate) fn classify(method: &str, path: &str, query: Option<&str>) -> Option<Route53Request> {
    if method != "GET" {
        return None;
    }
    let path = path.trim_end_matches('/');
    if path.ends_with("/testdnsanswer") {
        let param = |name: &str| {
            query?.split('&').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.eq_ignore_ascii_case(name)
                    .then(|| crate::proxy::percent_decode(value))
            })
        };
        return Some(Route53Request::TestDnsAnswer {
            zone: param("hostedzoneid")?
                .trim_start_matches("/hostedzone/")
                .to_string(),
            name: param("recordname")?,
            record_type: param("recordtype")?,
        });
    }
    let rest = path.split("/healthcheck/").nth(1)?;
    let id = rest.strip_suffix("/status")?;
    (!id.is_empty() && !id.contains('/'))
        .then(|| Route53Request::HealthCheckStatus { id: id.to_string() })
}

/// The moto path listing a zone's record sets.
pub(crate) fn records_path(zone: &str) -> String {
    format!("/2013-04-01/hostedzone/{zone}/rrset")
}

/// The moto path of a health check.
pub(crate) fn health_check_path(id: &str) -> String {
    format!("/2013-04-01/healthcheck/{id}")
}

/// One record set as listed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RecordSet {
    pub(crate) name: String,
    pub(crate) record_type: String,
    pub(crate) failover: Option<String>,
    pub(crate) weight: Option<i64>,
    pub(crate) alias: Option<String>,
    pub(crate) values: Vec<String>,
    pub(crate) health_check_id: Option<String>,
}

/// The record sets of a `ListResourceRecordSets` answer.
pub(crate) fn record_sets(xml: &str) -> Vec<RecordSet> {
    let Some(list) = section(xml, "ResourceRecordSets") else {
        return Vec::new();
    };
    children(xml, list, "ResourceRecordSet")
        .into_iter()
        .map(|set| {
            let inner = content(xml, set);
            let text = |name: &str| child_text(xml, inner.clone(), name).map(str::to_string);
            let alias = children(xml, inner.clone(), "AliasTarget")
                .into_iter()
                .next()
                .and_then(|a| child_text(xml, content(xml, a), "DNSName"))
                .map(str::to_string);
            let values = children(xml, inner.clone(), "ResourceRecords")
                .into_iter()
                .flat_map(|rs| children(xml, content(xml, rs.clone()), "ResourceRecord"))
                .filter_map(|r| child_text(xml, content(xml, r), "Value").map(str::to_string))
                .collect();
            RecordSet {
                name: text("Name").unwrap_or_default(),
                record_type: text("Type").unwrap_or_default(),
                failover: text("Failover"),
                weight: text("Weight").and_then(|w| w.parse().ok()),
                alias,
                values,
                health_check_id: text("HealthCheckId").filter(|h| !h.is_empty()),
            }
        })
        .collect()
}

/// The endpoint of a `GetHealthCheck` answer.
pub(crate) fn health_check_fqdn(xml: &str) -> Option<String> {
    let config = section(xml, "HealthCheckConfig")?;
    child_text(xml, config, "FullyQualifiedDomainName").map(str::to_string)
}

/// Whether `fqdn` is a load balancer of `dropped`.
pub(crate) fn in_dropped_region(fqdn: &str, dropped: &str) -> bool {
    let name = fqdn.trim_end_matches('.').to_ascii_lowercase();
    name.ends_with(&format!(".{dropped}.elb.amazonaws.com"))
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// The record Route 53 answers `name` `record_type` with, given each health check's health.
pub(crate) fn choose<'a>(
    sets: &'a [RecordSet],
    name: &str,
    record_type: &str,
    healthy: &dyn Fn(&str) -> bool,
) -> Option<&'a RecordSet> {
    let mut of_name: Vec<&RecordSet> = sets
        .iter()
        .filter(|s| same_name(&s.name, name) && s.record_type == record_type)
        .collect();
    if of_name.is_empty() {
        // A CNAME answers a question of any type.
        of_name = sets
            .iter()
            .filter(|s| same_name(&s.name, name) && s.record_type == "CNAME")
            .collect();
    }
    let ok = |s: &RecordSet| s.health_check_id.as_deref().is_none_or(healthy);
    let role = |r: &str| {
        of_name
            .iter()
            .copied()
            .find(|s| s.failover.as_deref() == Some(r))
    };
    if of_name.iter().any(|s| s.failover.is_some()) {
        let primary = role("PRIMARY");
        let secondary = role("SECONDARY");
        return match (primary, secondary) {
            (Some(p), _) if ok(p) => Some(p),
            (_, Some(s)) if ok(s) => Some(s),
            (p, s) => p.or(s),
        };
    }
    if of_name.iter().any(|s| s.weight.is_some()) {
        let best = |pool: Vec<&'a RecordSet>| pool.into_iter().max_by_key(|s| s.weight);
        let healthy_ones: Vec<&RecordSet> = of_name
            .iter()
            .copied()
            .filter(|s| ok(s) && s.weight.unwrap_or(0) > 0)
            .collect();
        return if healthy_ones.is_empty() {
            best(of_name)
        } else {
            best(healthy_ones)
        };
    }
    of_name.first().copied()
}

/// The `TestDNSAnswer` answer for `chosen`.
pub(crate) fn answer(name: &str, record_type: &str, chosen: Option<&RecordSet>) -> String {
    let (code, data): (&str, Vec<String>) = match chosen {
        None => ("NXDOMAIN", Vec::new()),
        Some(set) => (
            "NOERROR",
            match &set.alias {
                Some(target) => vec![target.trim_end_matches('.').to_string()],
                None => set.values.clone(),
            },
        ),
    };
    let entries: String = data
        .iter()
        .map(|d| format!("<RecordDataEntry>{}</RecordDataEntry>", escape(d)))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<TestDNSAnswerResponse \
         xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Nameserver>\
         ns-0.awsdns-00.com</Nameserver><RecordName>{}</RecordName><RecordType>{}</RecordType>\
         <RecordData>{entries}</RecordData><ResponseCode>{code}</ResponseCode>\
         <Protocol>UDP</Protocol></TestDNSAnswerResponse>",
        escape(name.trim_end_matches('.')),
        escape(record_type)
    )
}

/// A `GetHealthCheckStatus` answer of checkers that cannot reach the endpoint.
pub(crate) fn failing_status(checked: &str) -> String {
    let observation = |region: &str| {
        format!(
            "<HealthCheckObservation><Region>{region}</Region><IPAddress>15.177.2.1</IPAddress>\
             <StatusReport><Status>Failure: Connection timed out. The endpoint or the internet \
             connection is down, or requests are being blocked by your firewall. See \
             https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-router-firewall-rules.html\
             </Status><CheckedTime>{checked}</CheckedTime></StatusReport></HealthCheckObservation>"
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<GetHealthCheckStatusResponse \
         xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><HealthCheckObservations>{}{}{}\
         </HealthCheckObservations></GetHealthCheckStatusResponse>",
        observation("us-east-1"),
        observation("eu-west-1"),
        observation("ap-southeast-1")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "<ListResourceRecordSetsResponse><ResourceRecordSets>\
        <ResourceRecordSet><Name>lab.example.com.</Name><Type>A</Type>\
        <SetIdentifier>lab-ap-northeast-2</SetIdentifier><Failover>PRIMARY</Failover>\
        <AliasTarget><HostedZoneId>Z2P70J7EXAMPLE</HostedZoneId>\
        <DNSName>lab-alb-1.ap-northeast-2.elb.amazonaws.com.</DNSName>\
        <EvaluateTargetHealth>false</EvaluateTargetHealth></AliasTarget>\
        <HealthCheckId>hc-home</HealthCheckId></ResourceRecordSet>\
        <ResourceRecordSet><Name>lab.example.com.</Name><Type>A</Type>\
        <SetIdentifier>lab-us-east-1</SetIdentifier><Failover>SECONDARY</Failover>\
        <AliasTarget><HostedZoneId>Z2P70J7EXAMPLE</HostedZoneId>\
        <DNSName>lab-alb-2.us-east-1.elb.amazonaws.com</DNSName>\
        <EvaluateTargetHealth>false</EvaluateTargetHealth></AliasTarget>\
        <HealthCheckId>hc-dr</HealthCheckId></ResourceRecordSet>\
        <ResourceRecordSet><Name>example.com.</Name><Type>NS</Type><TTL>172800</TTL>\
        <ResourceRecords><ResourceRecord><Value>ns-1.example.</Value></ResourceRecord>\
        </ResourceRecords></ResourceRecordSet></ResourceRecordSets>\
        </ListResourceRecordSetsResponse>";

    #[test]
    fn failover_answers_with_the_healthy_primary_else_the_secondary() {
        let sets = record_sets(LIST);
        assert_eq!(sets.len(), 3);
        let all = |_: &str| true;
        let chosen = choose(&sets, "lab.example.com", "A", &all).expect("answer");
        assert_eq!(chosen.health_check_id.as_deref(), Some("hc-home"));
        let home_down = |id: &str| id != "hc-home";
        let chosen = choose(&sets, "lab.example.com.", "A", &home_down).expect("answer");
        let xml = answer("lab.example.com.", "A", Some(chosen));
        assert!(
            xml.contains(
                "<RecordDataEntry>lab-alb-2.us-east-1.elb.amazonaws.com</RecordDataEntry>"
            ) && xml.contains("<ResponseCode>NOERROR</ResponseCode>"),
            "{xml}"
        );
        assert!(answer("x.example.com", "A", None).contains("NXDOMAIN"));
    }

    #[test]
    fn requests_are_recognised_and_dropped_regions_fail() {
        assert_eq!(
            classify(
                "GET",
                "/2013-04-01/testdnsanswer",
                Some("hostedzoneid=Z1&recordname=lab.example.com&recordtype=A")
            ),
            Some(Route53Request::TestDnsAnswer {
                zone: "Z1".to_string(),
                name: "lab.example.com".to_string(),
                record_type: "A".to_string()
            })
        );
        assert_eq!(
            classify("GET", "/2013-04-01/healthcheck/abc/status", None),
            Some(Route53Request::HealthCheckStatus {
                id: "abc".to_string()
            })
        );
        assert_eq!(classify("GET", "/2013-04-01/healthcheck/abc", None), None);
        assert!(in_dropped_region(
            "lab-alb-1.ap-northeast-2.elb.amazonaws.com.",
            "ap-northeast-2"
        ));
        assert!(!in_dropped_region(
            "lab-alb-1.us-east-1.elb.amazonaws.com",
            "ap-northeast-2"
        ));
        assert!(failing_status("2026-11-30T00:00:00Z").contains("Failure: "));
    }
}
