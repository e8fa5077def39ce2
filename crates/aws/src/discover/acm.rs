//! Certificate Manager, per Region: every certificate (every key type), with what uses it, its
//! validation records, renewal eligibility, expiry and tags.

use aws_sdk_acm::Client;
use aws_sdk_acm::types as sdk;
use futures::{StreamExt, stream};
use haven_model as model;

use super::convert::time;
use super::{CONCURRENCY, Scope};
use crate::error::AwsError;

/// Certificates (or why they could not be listed), and the details that failed.
pub(super) struct AcmParts {
    pub certificates: Result<Vec<model::Certificate>, AwsError>,
    pub detail_errors: Vec<AwsError>,
}

pub(super) async fn discover(scope: &Scope<'_>) -> AcmParts {
    let client = scope.ctx.acm(scope.region);
    let c = &client;
    // ListCertificates returns only RSA_2048 certificates unless the key types are named.
    let every_key_type = sdk::Filters::builder()
        .set_key_types(Some(
            sdk::KeyAlgorithm::values()
                .iter()
                .map(|v| sdk::KeyAlgorithm::from(*v))
                .collect(),
        ))
        .build();
    let list: Result<Vec<sdk::CertificateSummary>, _> = c
        .list_certificates()
        .includes(every_key_type)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    let list = match list {
        Ok(list) => list,
        Err(e) => {
            return AcmParts {
                certificates: Err(scope.err("ListCertificates", e)),
                detail_errors: Vec::new(),
            };
        }
    };
    let detailed: Vec<_> = stream::iter(list)
        .map(|summary| certificate(c, scope, summary))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut detail_errors = Vec::new();
    let certificates = detailed
        .into_iter()
        .map(|(cert, errors)| {
            detail_errors.extend(errors);
            cert
        })
        .collect();
    AcmParts {
        certificates: Ok(certificates),
        detail_errors,
    }
}

/// One certificate: the summary, completed by DescribeCertificate and ListTagsForCertificate
/// (either failing leaves its part as the summary has it, and is reported).
async fn certificate(
    c: &Client,
    s: &Scope<'_>,
    summary: sdk::CertificateSummary,
) -> (model::Certificate, Vec<AwsError>) {
    let arn = summary.certificate_arn().unwrap_or_default().to_string();
    let (detail, tags) = tokio::join!(
        c.describe_certificate().certificate_arn(&arn).send(),
        c.list_tags_for_certificate().certificate_arn(&arn).send(),
    );
    let mut errors = Vec::new();
    let mut cert = model::Certificate {
        arn: arn.clone(),
        domain_name: summary.domain_name().unwrap_or_default().to_string(),
        subject_alternative_names: summary.subject_alternative_name_summaries().to_vec(),
        status: summary
            .status()
            .map(|x| x.as_str().to_string())
            .unwrap_or_default(),
        certificate_type: summary.r#type().map(|x| x.as_str().to_string()),
        key_algorithm: summary.key_algorithm().map(|x| x.as_str().to_string()),
        not_after: time(summary.not_after()),
        renewal_eligibility: summary
            .renewal_eligibility()
            .map(|x| x.as_str().to_string()),
        ..model::Certificate::default()
    };
    match detail {
        Ok(out) => {
            if let Some(d) = out.certificate() {
                detailed(&mut cert, d);
            }
        }
        Err(e) => errors.push(s.err("DescribeCertificate", e)),
    }
    match tags {
        Ok(out) => {
            cert.tags = out
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect();
        }
        Err(e) => errors.push(s.err("ListTagsForCertificate", e)),
    }
    (cert, errors)
}

fn detailed(cert: &mut model::Certificate, d: &sdk::CertificateDetail) {
    if let Some(domain) = d.domain_name() {
        cert.domain_name = domain.to_string();
    }
    if !d.subject_alternative_names().is_empty() {
        cert.subject_alternative_names = d.subject_alternative_names().to_vec();
    }
    if let Some(status) = d.status() {
        cert.status = status.as_str().to_string();
    }
    if let Some(kind) = d.r#type() {
        cert.certificate_type = Some(kind.as_str().to_string());
    }
    if let Some(key) = d.key_algorithm() {
        cert.key_algorithm = Some(key.as_str().to_string());
    }
    if let Some(not_after) = time(d.not_after()) {
        cert.not_after = Some(not_after);
    }
    if let Some(renewal) = d.renewal_eligibility() {
        cert.renewal_eligibility = Some(renewal.as_str().to_string());
    }
    cert.in_use_by = d.in_use_by().to_vec();
    cert.validations = d
        .domain_validation_options()
        .iter()
        .map(|v| model::CertificateValidation {
            domain_name: v.domain_name().to_string(),
            status: v.validation_status().map(|x| x.as_str().to_string()),
            method: v.validation_method().map(|x| x.as_str().to_string()),
            record_name: v.resource_record().map(|r| r.name().to_string()),
            record_value: v.resource_record().map(|r| r.value().to_string()),
        })
        .collect();
}
