//! Usage statistics objects: stored by each node's [`UsageMeter`](crate::UsageMeter) at the
//! end of every period, listed, read and deleted through the admin API.

use crate::db::write_txn;
use crate::engine::{Engine, to_completion};
use crate::error::EngineError;
use crate::repo::usage as reports;
use crate::types::UsageReport;

impl Engine {
    /// Stores `report`, adding its counters to those of an object of the same name if one
    /// exists (see [`UsageMeter`](crate::UsageMeter) for when that happens). All or nothing.
    pub async fn store_usage_report(&self, report: &UsageReport) -> Result<(), EngineError> {
        let (engine, report) = (self.clone(), report.clone());
        to_completion(async move {
            let name = report.name().to_string();
            write_txn!(engine, |txn| async {
                reports::insert_report(&txn, &report).await?;
                reports::add_counters(&txn, &name, &report.items).await
            }
            .await)
        })
        .await
    }

    /// The names of up to `limit` usage objects, oldest first, and whether there are more.
    pub async fn usage_report_names(
        &self,
        limit: usize,
    ) -> Result<(Vec<String>, bool), EngineError> {
        reports::names(self.db(), u64::try_from(limit).unwrap_or(u64::MAX)).await
    }

    /// The usage object named `name`.
    ///
    /// Errors: [`EngineError::NoSuchUsageReport`].
    pub async fn usage_report(&self, name: &str) -> Result<UsageReport, EngineError> {
        reports::get(self.db(), name)
            .await?
            .ok_or(EngineError::NoSuchUsageReport)
    }

    /// Removes the usage object named `name`.
    ///
    /// Errors: [`EngineError::NoSuchUsageReport`].
    pub async fn delete_usage_report(&self, name: &str) -> Result<(), EngineError> {
        let (engine, name) = (self.clone(), name.to_owned());
        to_completion(async move {
            let deleted = write_txn!(engine, |txn| reports::delete(&txn, &name).await)?;
            if deleted {
                Ok(())
            } else {
                Err(EngineError::NoSuchUsageReport)
            }
        })
        .await
    }
}
