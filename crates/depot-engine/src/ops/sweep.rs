//! The sweep: removing what interrupted writes and abandoned uploads leave behind.

use std::collections::HashSet;
use std::time::SystemTime;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::repo::{now, objects, uploads};
use crate::types::SweepReport;

/// Blob ids checked against the database per query.
const CHECK_CHUNK: usize = 500;

/// Abandoned uploads fetched per query.
const ABORT_BATCH: u64 = 100;

impl Engine {
    /// Removes staging files and unreferenced blob files older than
    /// [`orphan_grace`](crate::EngineConfig::orphan_grace), and aborts multipart uploads older
    /// than [`abandoned_upload_age`](crate::EngineConfig::abandoned_upload_age).
    ///
    /// Runs at [`Engine::open`]; `depot-api` also runs it periodically. The grace period is
    /// what makes it safe beside live traffic: a blob is committed moments before the row
    /// that references it, so only blobs older than any write in flight are candidates.
    /// Memory: one shard of blob ids at a time.
    pub async fn sweep(&self) -> Result<SweepReport, EngineError> {
        let mut report = SweepReport::default();
        let cutoff = SystemTime::now()
            .checked_sub(self.inner.orphan_grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        report.staging_files_removed = self.inner.blobs.sweep_staging(cutoff).await?;
        report.uploads_aborted = self.abort_abandoned_uploads().await?;

        let blobs = &self.inner.blobs;
        for shard in 0..blobs.shard_count() {
            let candidates = blobs.list_shard(shard, cutoff).await?;
            for chunk in candidates.chunks(CHECK_CHUNK) {
                let ids: Vec<String> = chunk.iter().map(ToString::to_string).collect();
                // Parts first, then segments: completing an upload moves a blob's reference
                // from a part to a segment in one transaction, never back, so a blob live at
                // the first query is seen by one of the two however the commit interleaves.
                let mut referenced: HashSet<String> = uploads::referenced_blobs(self.db(), &ids)
                    .await?
                    .into_iter()
                    .collect();
                referenced.extend(objects::referenced_blobs(self.db(), &ids).await?);
                for (blob, id) in chunk.iter().zip(&ids) {
                    if !referenced.contains(id) {
                        blobs.remove(*blob).await?;
                        report.orphan_blobs_removed += 1;
                    }
                }
            }
        }
        if report != SweepReport::default() {
            tracing::info!(?report, "sweep removed leftovers");
        }
        Ok(report)
    }

    async fn abort_abandoned_uploads(&self) -> Result<u64, EngineError> {
        let age = chrono::Duration::from_std(self.inner.abandoned_upload_age)
            .unwrap_or(chrono::Duration::MAX);
        let cutoff = now()
            .checked_sub_signed(age)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let mut aborted = 0;
        loop {
            let batch = uploads::initiated_before(self.db(), cutoff, ABORT_BATCH).await?;
            for upload_id in &batch {
                // Already gone means someone else completed or aborted it: nothing to do.
                if self.abort_upload_by_id(upload_id).await? {
                    aborted += 1;
                }
            }
            if (batch.len() as u64) < ABORT_BATCH {
                return Ok(aborted);
            }
        }
    }
}
