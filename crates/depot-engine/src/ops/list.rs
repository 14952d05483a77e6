//! ListObjects and ListMultipartUploads over the shared range scanner.

use depot_domain::BucketName;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::listing::{Entry, Lower, ScanSpec, scan};
use crate::repo::{corrupt, objects, parse_key, to_u64, uploads};
use crate::types::{ListPage, ListQuery, ListedObject, UploadsPage, UploadsQuery};

impl Engine {
    /// One page of the bucket's objects, in UTF-8 binary key order (see [`ListQuery`]).
    ///
    /// The page costs a few index range scans, however large the bucket: see the `listing`
    /// module for how delimiters skip whole common prefixes.
    ///
    /// Errors: [`EngineError::NoSuchBucket`].
    pub async fn list_objects(
        &self,
        bucket: &BucketName,
        query: &ListQuery,
    ) -> Result<ListPage, EngineError> {
        let bucket_info = self.bucket_identity(bucket).await?;
        let bucket_id = bucket_info.id;
        let spec = ScanSpec {
            prefix: query.prefix.as_bytes(),
            delimiter: query.delimiter.as_deref().map(str::as_bytes),
            start: query.start_after.as_ref().map(|start| Lower::After {
                key: start.as_bytes().to_vec(),
                tiebreak: None,
            }),
            limit: query.max_keys,
        };
        let db = self.db();
        let (entries, is_truncated) = scan(spec, |lower, upper, limit| async move {
            objects::list_range(db, bucket_id, &lower, upper.as_deref(), limit).await
        })
        .await?;

        let mut page = ListPage {
            is_truncated,
            ..ListPage::default()
        };
        let mut last = None;
        for entry in entries {
            match entry {
                Entry::Row(row) => {
                    let key = parse_key(row.key)?;
                    last = Some(key.as_str().to_owned());
                    page.objects.push(ListedObject {
                        key,
                        size: to_u64(row.size, "object size")?,
                        etag: row.etag,
                        last_modified: row.last_modified,
                        storage_class: row.storage_class,
                        checksum_algorithm: row.checksum_algorithm,
                        owner: bucket_info.owner,
                    });
                }
                Entry::Prefix(prefix) => {
                    let prefix = prefix_text(prefix)?;
                    last = Some(prefix.clone());
                    page.common_prefixes.push(prefix);
                }
            }
        }
        page.next_start_after = if is_truncated { last } else { None };
        Ok(page)
    }

    /// One page of the bucket's multipart uploads in progress, in (key, initiation) order.
    ///
    /// Errors: [`EngineError::NoSuchBucket`].
    pub async fn list_multipart_uploads(
        &self,
        bucket: &BucketName,
        query: &UploadsQuery,
    ) -> Result<UploadsPage, EngineError> {
        let bucket_id = self.bucket_identity(bucket).await?.id;
        // S3 ignores the upload id marker unless a key marker comes with it.
        let start = query
            .key_marker
            .as_ref()
            .filter(|marker| !marker.is_empty())
            .map(|key_marker| Lower::After {
                key: key_marker.as_bytes().to_vec(),
                tiebreak: query
                    .upload_id_marker
                    .clone()
                    .filter(|marker| !marker.is_empty()),
            });
        let spec = ScanSpec {
            prefix: query.prefix.as_bytes(),
            delimiter: query.delimiter.as_deref().map(str::as_bytes),
            start,
            limit: query.max_uploads,
        };
        let db = self.db();
        let (entries, is_truncated) = scan(spec, |lower, upper, limit| async move {
            uploads::list_range(db, bucket_id, &lower, upper.as_deref(), limit).await
        })
        .await?;

        let mut page = UploadsPage {
            is_truncated,
            ..UploadsPage::default()
        };
        let mut last = None;
        for entry in entries {
            match entry {
                Entry::Row(upload) => {
                    last = Some((
                        upload.info.key.as_str().to_owned(),
                        Some(upload.info.upload_id.clone()),
                    ));
                    page.uploads.push(upload.info);
                }
                Entry::Prefix(prefix) => {
                    let prefix = prefix_text(prefix)?;
                    last = Some((prefix.clone(), None));
                    page.common_prefixes.push(prefix);
                }
            }
        }
        if is_truncated && let Some((key, upload_id)) = last {
            page.next_key_marker = Some(key);
            page.next_upload_id_marker = upload_id;
        }
        Ok(page)
    }
}

/// A common prefix as text. It is a prefix of a UTF-8 key ending in a UTF-8 delimiter, and
/// UTF-8 matches only at character boundaries, so this fails only on a corrupt key.
fn prefix_text(prefix: Vec<u8>) -> Result<String, EngineError> {
    String::from_utf8(prefix).map_err(|_| corrupt("a common prefix is not UTF-8"))
}
