//! `haven check`: HA, DR and security findings for CI pipelines, as a table, JSON or SARIF 2.1.0,
//! with an exit status by severity.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use haven_model::Topology;
use haven_model::findings::{
    self, Finding, Policy, ResilienceReport, Severity, catalogue, count_by_severity, help_url,
};
use haven_model::topology::SCHEMA_VERSION;
use serde_json::{Value, json};

use crate::cli::{Fatal, Global, connect, policy, usage};
use crate::config::Config;

/// The exit status when findings at or above `--fail-on` exist.
pub const EXIT_FINDINGS: u8 = 3;

/// The version of the JSON document `haven check --format json` prints.
pub const CHECK_JSON_VERSION: u32 = 1;

/// Where SARIF readers send people for rule documentation.
const INFORMATION_URI: &str = "https://example.invalid/haven/docs/findings.md";

/// How findings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// The documented JSON document (docs/findings.md).
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
}

/// Flags of `haven check`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Exit status: 0 no finding at or above --fail-on; 1 error (discovery, I/O); \
                  2 bad input (flags, policy file, topology file); 3 findings at or above \
                  --fail-on.\n\nFindings and the JSON shape are documented in docs/findings.md."
)]
pub struct CheckArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Exit with status 3 when a finding at or above this severity exists
    /// (critical, high, medium, low, informational).
    #[arg(long, default_value = "high", value_parser = parse_severity)]
    pub fail_on: Severity,
    /// Read a topology written by `haven snapshot --output json` instead of discovering.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
        .map_err(|e: findings::UnknownSeverity| e.to_string())
}

/// Runs `haven check`.
pub async fn run(global: &Global, config: &Config, args: &CheckArgs) -> Result<(), Fatal> {
    let policy = policy(global, config)?;
    let topology = match &args.input {
        Some(path) => read_topology(path)?,
        None => {
            let (ctx, regions, identity) = connect(global, config).await?;
            let options = haven_aws::DiscoverOptions {
                identity: Some(identity),
                ..Default::default()
            };
            let mut topology = haven_aws::discover(&ctx, &regions, &options).await;
            // The achievable RPO of promoting a replica is its lag: read it, say when it cannot be.
            let lag =
                haven_aws::signals::read_replica_lag(&ctx, &topology, chrono::Utc::now()).await;
            for missing in &lag.unavailable {
                eprintln!(
                    "haven: replica lag not read in {}: {} (the RPO estimates use the snapshot copies)",
                    missing.region.as_deref().unwrap_or("any Region"),
                    missing.reason
                );
            }
            haven_model::signals::annotate(&mut topology, &lag);
            topology
        }
    };
    if !topology.errors.is_empty() {
        eprintln!(
            "haven: {} part(s) of the stack could not be read; findings may be incomplete",
            topology.errors.len()
        );
    }
    let found = findings::assess(&topology, &policy);
    let text = match args.format {
        Format::Table => table(&found, &findings::resilience(&topology, &policy)),
        Format::Json => pretty(&json_document(&topology, &policy, &found, args.fail_on)),
        Format::Sarif => pretty(&sarif(&found)),
    };
    print!("{text}");
    let over = found.iter().filter(|f| f.severity >= args.fail_on).count();
    if over > 0 {
        return Err(Fatal {
            message: format!("{over} finding(s) at or above {}", args.fail_on),
            code: EXIT_FINDINGS,
        });
    }
    Ok(())
}

fn read_topology(path: &std::path::Path) -> Result<Topology, Fatal> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read the topology {}: {e}", path.display())))?;
    Topology::from_json(&text).map_err(|e| usage(format!("{}: {e}", path.display())))
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// The JSON document: see docs/findings.md.
pub fn json_document(
    topology: &Topology,
    policy: &Policy,
    found: &[Finding],
    fail_on: Severity,
) -> Value {
    let counts = count_by_severity(found);
    let summary: serde_json::Map<String, Value> = Severity::ALL
        .iter()
        .rev()
        .map(|s| {
            (
                s.as_str().to_string(),
                json!(counts.get(s).copied().unwrap_or(0)),
            )
        })
        .collect();
    json!({
        "version": CHECK_JSON_VERSION,
        "topology_schema_version": SCHEMA_VERSION,
        "taken_at": topology.taken_at,
        "account_id": topology.account_id,
        "primary_region": policy.primary(topology),
        "fail_on": fail_on,
        "failed": found.iter().any(|f| f.severity >= fail_on),
        "summary": summary,
        "findings": found,
        "resilience": findings::resilience(topology, policy),
    })
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Informational => "note",
    }
}

/// GitHub code scanning reads this as critical ≥ 9, high ≥ 7, medium ≥ 4, low > 0.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Informational => "0.0",
    }
}

/// A SARIF 2.1.0 log with one run: every catalogue check as a rule, every finding as a result
/// located logically (resources have no file).
pub fn sarif(found: &[Finding]) -> Value {
    let rules: Vec<Value> = catalogue()
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.id.replace(['.', '-'], ""),
                "shortDescription": { "text": c.title },
                "fullDescription": { "text": c.why },
                "help": { "text": format!("{} (source: {})", c.fix, c.source) },
                "helpUri": help_url(c.id).unwrap_or_else(|| INFORMATION_URI.to_string()),
                "defaultConfiguration": { "level": sarif_level(c.severity) },
                "properties": {
                    "security-severity": security_severity(c.severity),
                    "tags": [format!("{:?}", c.category).to_lowercase()],
                    "precision": "high",
                },
            })
        })
        .collect();
    let results: Vec<Value> = found
        .iter()
        .map(|f| {
            let rule_index = catalogue().iter().position(|c| c.id == f.id);
            let qualified = f.resource.arn.clone().unwrap_or_else(|| {
                format!(
                    "{}/{}/{}",
                    f.region.as_deref().unwrap_or("global"),
                    f.resource.kind.as_str(),
                    f.resource.id
                )
            });
            let mut result = json!({
                "ruleId": f.id,
                "level": sarif_level(f.severity),
                "message": { "text": format!("{}: {} ({})", f.title, f.evidence, f.resource.label()) },
                "locations": [{
                    "logicalLocations": [{
                        "name": f.resource.label(),
                        "fullyQualifiedName": qualified,
                        "kind": f.resource.kind.as_str(),
                    }]
                }],
                "partialFingerprints": {
                    "havenFinding/v1": format!("{}|{}|{}", f.id, f.region.as_deref().unwrap_or(""), f.resource.id),
                },
                "properties": {
                    "severity": f.severity,
                    "region": f.region,
                    "resourceId": f.resource.id,
                    "fix": f.fix,
                    "fixAction": f.fix_action,
                },
            });
            if let (Some(index), Some(map)) = (rule_index, result.as_object_mut()) {
                map.insert("ruleIndex".to_string(), json!(index));
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "haven",
                    "informationUri": INFORMATION_URI,
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "results": results,
        }]
    })
}

/// Findings as aligned columns, then the AZ- and Region-loss comparison.
pub fn table(found: &[Finding], report: &ResilienceReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let rows: Vec<[String; 5]> = found
        .iter()
        .map(|f| {
            [
                f.severity.as_str().to_uppercase(),
                f.id.to_string(),
                f.region.clone().unwrap_or_else(|| "global".into()),
                format!("{} {}", f.resource.kind.as_str(), f.resource.label()),
                f.title.to_string(),
            ]
        })
        .collect();
    let header = ["SEVERITY", "ID", "REGION", "RESOURCE", "TITLE"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 5]| {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        cells.join("  ").trim_end().to_string()
    };
    if found.is_empty() {
        out.push_str("No findings.\n");
    } else {
        let _ = writeln!(out, "{}", line(&header));
        for (row, f) in rows.iter().zip(found) {
            let _ = writeln!(out, "{}", line(row));
            let _ = writeln!(out, "    seen: {}", f.evidence);
            let _ = writeln!(out, "    fix:  {}", f.fix);
        }
    }
    let counts = count_by_severity(found);
    let summary: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| counts.get(s).map(|n| format!("{n} {s}")))
        .collect();
    let _ = writeln!(
        out,
        "\n{} finding(s){}",
        found.len(),
        if summary.is_empty() {
            String::new()
        } else {
            format!(": {}", summary.join(", "))
        }
    );
    let secs = |s: Option<u64>| s.map_or("unknown".to_string(), |s| format!("{s} s"));
    let met = |m: Option<bool>| match m {
        Some(true) => "met",
        Some(false) => "BREACHED",
        None => "unknown",
    };
    for c in &report.comparisons {
        let objective = c.objective.map_or("none".to_string(), |o| {
            format!("RTO {} s / RPO {} s", o.rto_seconds, o.rpo_seconds)
        });
        let _ = writeln!(
            out,
            "{} loss ({}): achievable RTO {} ({}), RPO {} ({}); objective {objective}",
            match c.disruption {
                findings::Disruption::Application => "Application",
                findings::Disruption::Infrastructure => "Infrastructure",
                findings::Disruption::Az => "AZ",
                findings::Disruption::Region => "Region",
            },
            c.scope,
            secs(c.achievable.rto.seconds),
            met(c.rto_met),
            secs(c.achievable.rpo.seconds),
            met(c.rpo_met),
        );
    }
    out
}
