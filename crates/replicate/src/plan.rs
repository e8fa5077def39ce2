//! From the DR status ([`haven_model::dr::status`]) of a topology, the operations that make every
//! DR Region current: a copy of each newest source that has no complete or in-flight copy, a
//! cross-Region replica where one is missing and nothing stands in the way, the removal of
//! failed copies (before they are made again), and the old complete copies retention lets go.
//! Pure.
//!
//! Retention counts only complete copies, and the copy the run makes once it is complete: a copy
//! in flight may still fail, and until it is complete the old one is all the DR Region has.

use haven_model::dr::{
    self, Copy, CopyStatus, DrPolicy, DrRow, DrStatus, Note, Protection, RowKey,
};
use haven_model::relations::SOURCE_TAG;
use haven_model::replication::{
    CopyKind, CopyRequest, DR_STACK_TAG, DeleteRequest, LINEAGE_TAG, Operation, Removal,
    ReplicaRequest,
};
use haven_model::topology::{Tags, Topology};
use serde::Serialize;

/// What `haven replicate` will do, row by row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Every protected resource per DR Region, before the run.
    pub status: DrStatus,
    /// Removals of failed copies first, then copies and replicas, then retention.
    pub operations: Vec<Operation>,
}

impl Plan {
    /// The copy and replica operations.
    pub fn creations(&self) -> impl Iterator<Item = &Operation> {
        self.operations
            .iter()
            .filter(|o| !matches!(o, Operation::Delete(_)))
    }

    /// The operations for one row.
    pub fn operations_for<'a>(&'a self, key: &'a RowKey) -> impl Iterator<Item = &'a Operation> {
        self.operations.iter().filter(move |o| &o.row_key() == key)
    }

    /// The copy or replica this plan makes for one row, if any.
    pub fn creation_for(&self, key: &RowKey) -> Option<&Operation> {
        self.creations().find(|o| &o.row_key() == key)
    }

    /// Rows that have no usable protection now and that this plan does not protect: each with
    /// what stands in the way (its note), or none when nothing is known to block it.
    pub fn blocked(&self) -> impl Iterator<Item = &DrRow> {
        self.status.rows.iter().filter(|row| {
            !row.state.usable()
                && row.in_flight().is_none()
                && !matches!(&row.state, dr::DrState::Replica { .. })
                && self.creation_for(&row.key()).is_none()
        })
    }
}

/// Plans the operations that make `policy`'s DR Regions current.
pub fn plan(topology: &Topology, policy: &DrPolicy) -> Plan {
    let status = dr::status(topology, policy);
    let mut failed = Vec::new();
    let mut creations = Vec::new();
    let mut retention = Vec::new();
    for row in &status.rows {
        match row.protection {
            Protection::Copy(kind) => {
                failed.extend(
                    row.failed()
                        .filter(|c| c.haven_made)
                        .map(|c| DeleteRequest {
                            kind,
                            region: row.region.clone(),
                            id: c.id.clone(),
                            lineage: row.protects.clone(),
                            snapshot_ids: c.snapshot_ids.clone(),
                            why: Removal::Failed {
                                state: match &c.status {
                                    CopyStatus::Failed { state } => state.clone(),
                                    _ => String::new(),
                                },
                            },
                        }),
                );
                let blocked = matches!(row.note, Some(Note::KmsKeyNeeded { .. }));
                let copying = !row.has_current() && !blocked;
                if copying {
                    creations.push(Operation::Copy(copy_request(row, kind, policy)));
                }
                retention.extend(retained(row, kind, policy.retention, copying));
            }
            Protection::ReadReplica => {
                if row.usable.is_none()
                    && row.note.is_none()
                    && let Some(request) = replica_request(topology, row, policy)
                {
                    creations.push(Operation::Replica(request));
                }
            }
        }
    }
    let operations = failed
        .into_iter()
        .map(Operation::Delete)
        .chain(creations)
        .chain(retention.into_iter().map(Operation::Delete))
        .collect();
    Plan { status, operations }
}

fn copy_request(row: &DrRow, kind: CopyKind, policy: &DrPolicy) -> CopyRequest {
    let name = dr::copy_name(&row.source, &row.source_region);
    let mut tags = Tags::new();
    tags.insert(SOURCE_TAG.to_string(), row.source_arn.clone());
    tags.insert(LINEAGE_TAG.to_string(), row.protects.clone());
    tags.insert("Name".to_string(), name.clone());
    if let Some(stack) = &row.stack {
        tags.insert(DR_STACK_TAG.to_string(), stack.clone());
    }
    CopyRequest {
        kind,
        source_region: row.source_region.clone(),
        source_id: row.source.clone(),
        source_arn: row.source_arn.clone(),
        destination_region: row.region.clone(),
        name,
        // The console's wording, which discovery reads back when tags are lost.
        description: format!(
            "[Copied {} from {}] haven DR copy of {}",
            row.source, row.source_region, row.protects
        ),
        kms_key_id: policy
            .kms_keys
            .get(&row.region)
            .cloned()
            .filter(|_| row.encrypted),
        tags,
    }
}

/// The complete haven-made copies beyond the newest `keep`, counting the copy this run makes
/// (`copying`): those deletions run only once that copy is complete ([`crate::execute()`] keeps
/// them when it fails or is still in flight). Without a new copy the newest complete copy always
/// stays, and copies in flight from earlier runs never count.
fn retained(row: &DrRow, kind: CopyKind, keep: usize, copying: bool) -> Vec<DeleteRequest> {
    let complete: Vec<&Copy> = row
        .copies
        .iter()
        .filter(|c| c.status == CopyStatus::Complete)
        .collect();
    let room = if copying {
        keep.saturating_sub(1)
    } else {
        keep.max(1)
    };
    complete
        .iter()
        .skip(room)
        .filter(|c| c.haven_made)
        .map(|c| DeleteRequest {
            kind,
            region: row.region.clone(),
            id: c.id.clone(),
            lineage: row.protects.clone(),
            snapshot_ids: c.snapshot_ids.clone(),
            why: Removal::Retention { keep },
        })
        .collect()
}

fn replica_request(topology: &Topology, row: &DrRow, policy: &DrPolicy) -> Option<ReplicaRequest> {
    let db = topology
        .region(&row.source_region)?
        .db_instances
        .iter()
        .find(|d| d.identifier == row.protects)?;
    let network = dr::network(topology.region(&row.region)?, row.stack.as_deref()?)?;
    let identifier = dr::replica_identifier(&db.identifier, &row.region);
    let mut tags = Tags::new();
    tags.insert(SOURCE_TAG.to_string(), db.arn.clone());
    tags.insert(LINEAGE_TAG.to_string(), db.identifier.clone());
    tags.insert("Name".to_string(), identifier.clone());
    if let Some(stack) = &row.stack {
        tags.insert(DR_STACK_TAG.to_string(), stack.clone());
    }
    Some(ReplicaRequest {
        source_region: row.source_region.clone(),
        source_arn: db.arn.clone(),
        destination_region: row.region.clone(),
        identifier,
        class: db.class.clone(),
        kms_key_id: policy
            .kms_keys
            .get(&row.region)
            .cloned()
            .filter(|_| db.storage_encrypted),
        db_subnet_group: network.db_subnet_group,
        vpc_security_group_ids: network.security_group_ids,
        backup_retention_days: db.backup_retention_days.max(1),
        tags,
    })
}

#[cfg(test)]
mod tests;
