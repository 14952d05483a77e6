//! Multipart uploads: create, upload (or copy) parts, complete without copying, abort, list.
//!
//! Each part is its own blob. Completion turns the listed parts' blobs into the object's
//! segments in the same transaction that removes the upload, so completing a 5 TiB upload
//! moves no bytes; parts uploaded but not listed are removed after the commit.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use depot_domain::{BucketName, ObjectKey, UserId};
use md5::{Digest, Md5};
use rand::RngCore;
use rand::rngs::OsRng;
use sea_orm::DatabaseTransaction;
use sea_orm::sea_query::LockType;

use super::objects::{bare_etag, write_object_in};
use crate::blob::BlobId;
use crate::db::{lock_name, write_txn};
use crate::engine::{Engine, to_completion};
use crate::error::EngineError;
use crate::repo::objects::{NewObject, Segment};
use crate::repo::uploads::{self, StoredUpload};
use crate::repo::{buckets, corrupt, now};
use crate::stage::StagedBlob;
use crate::types::{ObjectAttributes, ObjectInfo, PartInfo, PartsPage, UploadInfo, WriteCondition};

/// The smallest a part other than the last may be: 5 MiB (S3's limit).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// The highest part number S3 allows.
pub const MAX_PART_NUMBER: u16 = 10_000;

/// The most parts one ListParts page holds.
const MAX_PARTS_PAGE: usize = 1000;

impl Engine {
    /// Starts a multipart upload of `key`; returns its upload id.
    ///
    /// `attrs.checksum`, if given, is (checksum algorithm, checksum type): the engine keeps
    /// both as given and compares checksum values only as text, so what they mean is the
    /// protocol layer's (see [`ObjectAttributes::checksum`]).
    ///
    /// Upload ids are 32 hex digits, the first 16 the initiation time in microseconds, so
    /// ordering one key's uploads by id orders them by initiation, as ListMultipartUploads
    /// must.
    ///
    /// Errors: [`EngineError::NoSuchBucket`].
    pub async fn create_multipart_upload(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        owner: UserId,
        attrs: ObjectAttributes,
    ) -> Result<String, EngineError> {
        write_txn!(self, |txn| async {
            let initiated = now();
            let upload_id = new_upload_id(initiated.timestamp_micros());
            let bucket_info = buckets::get(&txn, bucket, Some(LockType::KeyShare)).await?;
            uploads::insert(
                &txn,
                &upload_id,
                bucket_info.id,
                key,
                owner,
                &attrs,
                initiated,
            )
            .await?;
            Ok(upload_id)
        }
        .await)
    }

    /// Stores `blob` as part `part_number` of the upload, replacing an earlier upload of
    /// that part number (whose blob is then removed).
    ///
    /// Errors: [`EngineError::InvalidArgument`] for a part number outside 1..=10000;
    /// [`EngineError::NoSuchBucket`]; [`EngineError::NoSuchUpload`] if the upload does not
    /// exist or belongs to another bucket or key.
    pub async fn upload_part(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
        part_number: u16,
        blob: StagedBlob,
        checksum: Option<String>,
    ) -> Result<PartInfo, EngineError> {
        check_part_number(part_number)?;
        let part = PartInfo {
            part_number,
            etag: blob.md5_hex(),
            size: blob.size,
            last_modified: now(),
            checksum,
        };
        let blob = blob.commit().await?;
        let recorded = write_txn!(self, |txn| record_part_in(
            &txn, bucket, key, upload_id, &part, blob
        )
        .await);
        match recorded {
            Ok(replaced) => {
                self.remove_blobs(replaced).await;
                Ok(part)
            }
            Err(error) => {
                self.remove_blobs([blob]).await;
                Err(error)
            }
        }
    }

    /// Copies `range` of the object `src_key` (all of it for `None`; end exclusive) into
    /// part `part_number` of the upload.
    ///
    /// Errors: as [`Engine::upload_part`], plus [`EngineError::NoSuchKey`] for the source
    /// and [`EngineError::InvalidRange`] for a range outside it.
    #[allow(clippy::too_many_arguments)] // Mirrors UploadPartCopy's own parameters.
    pub async fn upload_part_copy(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
        part_number: u16,
        src_bucket: &BucketName,
        src_key: &ObjectKey,
        range: Option<Range<u64>>,
    ) -> Result<PartInfo, EngineError> {
        check_part_number(part_number)?;
        // Fail before copying bytes for an upload that cannot take them.
        self.find_upload(bucket, key, upload_id).await?;
        let (source, reader) = self.open_object(src_bucket, src_key).await?;
        let range = match range {
            None => 0..source.size,
            Some(range) if range.start < range.end && range.end <= source.size => range,
            Some(_) => return Err(EngineError::InvalidRange),
        };
        let staged = self.stage_copy(reader, range).await?;
        self.upload_part(bucket, key, upload_id, part_number, staged, None)
            .await
    }

    /// Completes the upload from `parts` — (part number, ETag as the client sent it, quotes
    /// optional), in strictly ascending order — as the object `key`, if `condition` holds.
    /// The object gets no checksum: see
    /// [`Engine::complete_multipart_upload_with_checksums`].
    ///
    /// The ETag is the MD5 of the parts' binary MD5s, then `-<number of parts>`. No bytes
    /// move: the parts' blobs become the object's segments. Parts not listed are removed.
    ///
    /// Errors: [`EngineError::InvalidArgument`] for an empty list;
    /// [`EngineError::InvalidPartOrder`]; [`EngineError::NoSuchBucket`];
    /// [`EngineError::NoSuchUpload`]; [`EngineError::InvalidPart`] for a part not uploaded
    /// or with another ETag; [`EngineError::EntityTooSmall`] for a part but the last below
    /// [`MIN_PART_SIZE`]; [`EngineError::PreconditionFailed`].
    pub async fn complete_multipart_upload(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[(u16, String)],
        condition: WriteCondition,
    ) -> Result<ObjectInfo, EngineError> {
        let parts: Vec<(u16, String, Option<String>)> = parts
            .iter()
            .map(|(number, etag)| (*number, etag.clone(), None))
            .collect();
        self.complete_multipart_upload_with_checksums(
            bucket, key, upload_id, &parts, None, condition,
        )
        .await
    }

    /// As [`Engine::complete_multipart_upload`], with checksums: each listed part may carry
    /// the checksum value it must have been uploaded with, and `checksum` — (algorithm,
    /// value) — becomes the object's checksum.
    ///
    /// The engine compares checksum values as text and computes none: the caller derives the
    /// object's checksum from the parts' (with [`Engine::multipart_upload_parts`] where it
    /// needs their stored values and sizes) and names, for every part it used, the value it
    /// used, so a part replaced in the meantime fails the completion instead of making an
    /// object whose checksum does not describe it.
    ///
    /// Errors: as [`Engine::complete_multipart_upload`]; [`EngineError::InvalidPart`] also for
    /// a part whose stored checksum is not the listed one.
    pub async fn complete_multipart_upload_with_checksums(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[(u16, String, Option<String>)],
        checksum: Option<(String, String)>,
        condition: WriteCondition,
    ) -> Result<ObjectInfo, EngineError> {
        let (engine, bucket, key) = (self.clone(), bucket.clone(), key.clone());
        let (upload_id, parts) = (upload_id.to_owned(), parts.to_vec());
        to_completion(async move {
            engine
                .complete_now(&bucket, &key, &upload_id, &parts, checksum, condition)
                .await
        })
        .await
    }

    /// [`Engine::complete_multipart_upload_with_checksums`], on the caller's task.
    async fn complete_now(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[(u16, String, Option<String>)],
        checksum: Option<(String, String)>,
        condition: WriteCondition,
    ) -> Result<ObjectInfo, EngineError> {
        if parts.is_empty() {
            return Err(EngineError::InvalidArgument(
                "CompleteMultipartUpload needs at least one part".to_owned(),
            ));
        }
        if parts.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
            return Err(EngineError::InvalidPartOrder);
        }
        let listed: Vec<ListedPart<'_>> = parts
            .iter()
            .map(|(number, etag, checksum)| ListedPart {
                number: *number,
                etag: bare_etag(etag),
                checksum: checksum.as_deref(),
            })
            .collect();
        let last_modified = now();
        let completion = Completion {
            listed: &listed,
            checksum,
            condition: &condition,
            last_modified,
        };
        let completed = write_txn!(self, |txn| complete_in(
            &txn,
            bucket,
            key,
            upload_id,
            &completion
        )
        .await);
        match completed {
            Ok((bucket_id, info, unreferenced)) => {
                self.forget_object(bucket_id, key);
                if info.replication_status.is_some() {
                    self.wake_replication();
                }
                self.remove_blobs(unreferenced).await;
                Ok(info)
            }
            // SDKs retry CompleteMultipartUpload after a lost response; S3 answers the retry
            // with the object the first attempt made. The parts are gone by then, but the
            // listed ETags determine the multipart ETag, so the object can be recognised.
            Err(EngineError::NoSuchUpload) => match self.head_object(bucket, key).await {
                Ok(info)
                    if info.part_count == Some(listed.len() as u32)
                        && Some(&info.etag) == multipart_etag(&listed).as_ref() =>
                {
                    Ok(info)
                }
                _ => Err(EngineError::NoSuchUpload),
            },
            Err(error) => Err(error),
        }
    }

    /// Aborts the upload and removes its parts at once.
    ///
    /// Errors: [`EngineError::NoSuchBucket`], [`EngineError::NoSuchUpload`].
    pub async fn abort_multipart_upload(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
    ) -> Result<(), EngineError> {
        let blobs = write_txn!(self, |txn| async {
            let bucket_info = buckets::get(&txn, bucket, Some(LockType::KeyShare)).await?;
            let upload = uploads::find(&txn, upload_id, Some(LockType::Update)).await?;
            matching_upload(upload, bucket_info.id, key)?;
            uploads::delete(&txn, upload_id).await
        }
        .await)?;
        self.remove_blobs(blobs).await;
        Ok(())
    }

    /// The upload's parts numbered above `part_number_marker`, at most `max_parts` (capped
    /// at 1000; 0 gives an empty page). `next_part_number_marker` is the last part number
    /// returned, whether or not the page is truncated (S3 returns it either way).
    ///
    /// Errors: [`EngineError::NoSuchBucket`], [`EngineError::NoSuchUpload`].
    pub async fn list_parts(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
        part_number_marker: u16,
        max_parts: usize,
    ) -> Result<PartsPage, EngineError> {
        let upload = self.find_upload(bucket, key, upload_id).await?;
        let limit = max_parts.min(MAX_PARTS_PAGE);
        let mut parts: Vec<PartInfo> = if limit == 0 {
            Vec::new()
        } else {
            uploads::parts_after(
                self.db(),
                upload_id,
                part_number_marker,
                Some(limit as u64 + 1),
            )
            .await?
            .into_iter()
            .map(|part| part.info)
            .collect()
        };
        let is_truncated = parts.len() > limit;
        parts.truncate(limit);
        Ok(PartsPage {
            next_part_number_marker: parts.last().map(|part| part.part_number),
            upload: upload.info,
            parts,
            is_truncated,
        })
    }

    /// The upload `upload_id` of `key`: its attributes, the checksum algorithm and type
    /// among them.
    ///
    /// Errors: [`EngineError::NoSuchBucket`]; [`EngineError::NoSuchUpload`], also for an
    /// upload of another bucket or key.
    pub async fn multipart_upload(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
    ) -> Result<UploadInfo, EngineError> {
        Ok(self.find_upload(bucket, key, upload_id).await?.info)
    }

    /// Every part of the upload, in part-number order: what a full-object checksum is
    /// combined from (the parts' checksums and sizes).
    ///
    /// Errors: [`EngineError::NoSuchBucket`], [`EngineError::NoSuchUpload`].
    pub async fn multipart_upload_parts(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
    ) -> Result<Vec<PartInfo>, EngineError> {
        self.find_upload(bucket, key, upload_id).await?;
        Ok(uploads::parts(self.db(), upload_id)
            .await?
            .into_iter()
            .map(|part| part.info)
            .collect())
    }

    /// The upload, checked to belong to `bucket` and `key`.
    async fn find_upload(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &str,
    ) -> Result<StoredUpload, EngineError> {
        let bucket_id = self.bucket_identity(bucket).await?.id;
        let upload = uploads::find(self.db(), upload_id, None).await?;
        matching_upload(upload, bucket_id, key)
    }

    /// Aborts an upload by id alone (for the sweep); `Ok(false)` if it is already gone.
    pub(crate) async fn abort_upload_by_id(&self, upload_id: &str) -> Result<bool, EngineError> {
        let blobs = write_txn!(self, |txn| async {
            if uploads::find(&txn, upload_id, Some(LockType::Update))
                .await?
                .is_none()
            {
                return Ok(None);
            }
            uploads::delete(&txn, upload_id).await.map(Some)
        }
        .await)?;
        match blobs {
            Some(blobs) => {
                self.remove_blobs(blobs).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

fn check_part_number(part_number: u16) -> Result<(), EngineError> {
    if (1..=MAX_PART_NUMBER).contains(&part_number) {
        Ok(())
    } else {
        Err(EngineError::InvalidArgument(format!(
            "part number {part_number} is outside 1 to {MAX_PART_NUMBER}"
        )))
    }
}

/// 16 hex digits of initiation time, then 64 random bits.
fn new_upload_id(initiated_micros: i64) -> String {
    format!("{:016x}{:016x}", initiated_micros.max(0), OsRng.next_u64())
}

/// A part as CompleteMultipartUpload lists it.
struct ListedPart<'a> {
    number: u16,
    /// Bare, without quotes.
    etag: &'a str,
    /// The checksum value the part must have, if the caller names one.
    checksum: Option<&'a str>,
}

/// The ETag an upload completed from these parts has: the MD5 of the parts' binary MD5s,
/// then `-<count>`. `None` if an ETag is not an MD5 in hex.
fn multipart_etag(listed: &[ListedPart<'_>]) -> Option<String> {
    let mut md5_of_md5s = Md5::new();
    for part in listed {
        let binary = hex::decode(part.etag)
            .ok()
            .filter(|bytes| bytes.len() == 16)?;
        md5_of_md5s.update(binary);
    }
    Some(format!(
        "{}-{}",
        hex::encode(md5_of_md5s.finalize()),
        listed.len()
    ))
}

/// `upload`, if it exists and belongs to this bucket and key: an upload id used with another
/// key is S3 `NoSuchUpload`, not a way to reach someone else's upload.
fn matching_upload(
    upload: Option<StoredUpload>,
    bucket_id: i64,
    key: &ObjectKey,
) -> Result<StoredUpload, EngineError> {
    upload
        .filter(|upload| upload.bucket_id == bucket_id && upload.info.key == *key)
        .ok_or(EngineError::NoSuchUpload)
}

/// Records a part; returns the blob of the part it replaced, if any.
async fn record_part_in(
    txn: &DatabaseTransaction,
    bucket: &BucketName,
    key: &ObjectKey,
    upload_id: &str,
    part: &PartInfo,
    blob: BlobId,
) -> Result<Vec<BlobId>, EngineError> {
    let bucket_info = buckets::get(txn, bucket, Some(LockType::KeyShare)).await?;
    // `Share`: parts of one upload go in side by side, but not while it completes or aborts.
    let upload = uploads::find(txn, upload_id, Some(LockType::Share)).await?;
    matching_upload(upload, bucket_info.id, key)?;
    // Uploads of the same part number queue here rather than collide on the primary key.
    lock_name(
        txn,
        &[
            b"part",
            upload_id.as_bytes(),
            &part.part_number.to_be_bytes(),
        ],
    )
    .await?;
    let replaced = uploads::find_part_for_update(txn, upload_id, part.part_number).await?;
    if replaced.is_some() {
        uploads::delete_part(txn, upload_id, part.part_number).await?;
    }
    uploads::insert_part(txn, upload_id, part, blob).await?;
    // The upload's parts are not stored bytes yet, but a part that could never be completed
    // within the quota is refused now rather than at completion.
    let quotas =
        crate::repo::settings::applicable(txn, bucket_info.owner, &bucket_info.name).await?;
    super::objects::check_quotas(txn, &bucket_info, Some(upload_id), quotas).await?;
    Ok(replaced.map(|old| vec![old.blob]).unwrap_or_default())
}

/// What a completion makes of an upload.
struct Completion<'a> {
    listed: &'a [ListedPart<'a>],
    /// The object's checksum, (algorithm, value).
    checksum: Option<(String, String)>,
    condition: &'a WriteCondition,
    last_modified: chrono::DateTime<chrono::Utc>,
}

/// The completion transaction; returns the object and the blobs nothing references any more
/// (the replaced object's, and the parts not listed).
async fn complete_in(
    txn: &DatabaseTransaction,
    bucket: &BucketName,
    key: &ObjectKey,
    upload_id: &str,
    completion: &Completion<'_>,
) -> Result<(i64, ObjectInfo, Vec<BlobId>), EngineError> {
    let Completion {
        listed,
        checksum,
        condition,
        last_modified,
    } = completion;
    let bucket_info = buckets::get(txn, bucket, Some(LockType::KeyShare)).await?;
    let upload = uploads::find(txn, upload_id, Some(LockType::Update)).await?;
    let upload = matching_upload(upload, bucket_info.id, key)?;
    let uploaded: BTreeMap<u16, uploads::StoredPart> = uploads::parts(txn, upload_id)
        .await?
        .into_iter()
        .map(|part| (part.info.part_number, part))
        .collect();

    // Every listed part must exist as listed (ETag, and checksum where one is named) before
    // sizes are judged: a wrong ETag is the more specific complaint (InvalidPart), as S3
    // reports it.
    let mut chosen = Vec::with_capacity(listed.len());
    for listed_part in *listed {
        let part = uploaded
            .get(&listed_part.number)
            .ok_or(EngineError::InvalidPart)?;
        if !part.info.etag.eq_ignore_ascii_case(listed_part.etag) {
            return Err(EngineError::InvalidPart);
        }
        if let Some(expected) = listed_part.checksum
            && part.info.checksum.as_deref() != Some(expected)
        {
            return Err(EngineError::InvalidPart);
        }
        chosen.push(part);
    }
    let mut segments = Vec::with_capacity(chosen.len());
    let mut size = 0u64;
    for (index, part) in chosen.iter().enumerate() {
        let is_last = index + 1 == chosen.len();
        if !is_last && part.info.size < MIN_PART_SIZE {
            return Err(EngineError::EntityTooSmall);
        }
        size = size
            .checked_add(part.info.size)
            .ok_or_else(|| EngineError::InvalidArgument("object too large".to_owned()))?;
        segments.push(Segment {
            blob: part.blob,
            size: part.info.size,
        });
    }
    // The listed ETags equal the stored ones (checked above), which the engine wrote as hex.
    let etag = multipart_etag(listed).ok_or_else(|| corrupt("a part has a non-hex ETag"))?;
    // The upload kept the checksum algorithm and type; the object's value is the caller's,
    // derived from the part checksums just checked.
    let attrs = ObjectAttributes {
        checksum: checksum.clone(),
        ..upload.info.attrs
    };
    let object = NewObject {
        size,
        etag: &etag,
        attrs: &attrs,
        part_count: Some(listed.len() as u32),
        last_modified: *last_modified,
    };
    let (info, mut unreferenced) =
        write_object_in(txn, &bucket_info, key, &object, &segments, condition).await?;
    let kept: HashSet<BlobId> = segments.iter().map(|segment| segment.blob).collect();
    let all_parts = uploads::delete(txn, upload_id).await?;
    unreferenced.extend(all_parts.into_iter().filter(|blob| !kept.contains(blob)));
    Ok((bucket_info.id, info, unreferenced))
}
