//! In-process caches of the metadata every request reads: access keys, buckets, objects.
//!
//! # When they are on
//!
//! Only while this process is the database's only writer: a SQLite file, which the engine
//! locks at open (`<canonical path>.lock`, see `engine::lock_exclusively`), or a private
//! in-memory SQLite database. A PostgreSQL database may be shared by several nodes, and a
//! shared-cache in-memory SQLite database by several engines; a node cannot see another's
//! writes, so there the engine reads the database every time.
//!
//! # Why they cannot serve a stale entry
//!
//! Every write that changes what an entry describes calls `forget` (or `forget_all`) *after*
//! its transaction ends; a reader that missed fills the entry from the database. The danger is
//! a reader that read the old row before a write committed and stores it after the write
//! forgot the key. So each shard keeps an epoch that every `forget` advances under the shard's
//! lock, a reader takes a [`Ticket`] (the epoch) *before* it reads the database, and
//! `insert` stores nothing if the epoch has moved since: the row it read may be older than a
//! commit, and the next reader will read again.
//!
//! # Memory
//!
//! Each cache is bounded by weight — roughly the bytes its entries hold — and evicts the
//! least useful entries (quick_cache's CLOCK-Pro) beyond it: see [`MetadataCache::new`].

use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Arc, Mutex, MutexGuard};

use depot_domain::{BucketName, ObjectKey};

use crate::error::EngineError;
use crate::repo::objects::Segment;
use crate::types::{BucketIdentity, KeyRecord, ObjectInfo};

/// Shards per cache: enough that two cores rarely wait on one lock.
const SHARDS: usize = 16;

/// The weight budget of the object cache, in approximate bytes.
const OBJECT_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// The weight budget of the access-key and bucket caches, each, in approximate bytes.
const SMALL_CACHE_BYTES: u64 = 4 * 1024 * 1024;

/// An object's metadata and the blobs that hold its bytes, as one lookup returns them.
#[derive(Debug)]
pub(crate) struct ObjectEntry {
    /// The id of the bucket holding it.
    pub(crate) bucket_id: i64,
    pub(crate) info: ObjectInfo,
    pub(crate) segments: Vec<Segment>,
}

/// The caches of one engine.
pub(crate) struct MetadataCache {
    pub(crate) keys: GuardedCache<String, Arc<KeyRecord>>,
    pub(crate) buckets: GuardedCache<BucketName, Arc<BucketIdentity>>,
    pub(crate) objects: GuardedCache<(i64, ObjectKey), Arc<ObjectEntry>>,
}

impl MetadataCache {
    /// Caches of at most 32 MiB of object metadata and 4 MiB each of keys and buckets
    /// (approximate: the weights count strings and fixed overheads, not allocator slack).
    pub(crate) fn new() -> Self {
        Self {
            keys: GuardedCache::new(SMALL_CACHE_BYTES),
            buckets: GuardedCache::new(SMALL_CACHE_BYTES),
            objects: GuardedCache::new(OBJECT_CACHE_BYTES),
        }
    }
}

/// What an entry weighs: about the bytes it holds.
pub(crate) trait Weigh {
    fn weight(&self) -> u64;
}

/// Fixed per-entry overhead counted on top of the strings an entry holds.
const ENTRY_OVERHEAD: u64 = 256;

impl Weigh for Arc<KeyRecord> {
    fn weight(&self) -> u64 {
        ENTRY_OVERHEAD + (self.access_key_id.len() + self.secret.len()) as u64
    }
}

impl Weigh for Arc<BucketIdentity> {
    fn weight(&self) -> u64 {
        ENTRY_OVERHEAD + (self.name.as_str().len() + self.location.len()) as u64
    }
}

impl Weigh for Arc<ObjectEntry> {
    fn weight(&self) -> u64 {
        let attrs = &self.info.attrs;
        let strings = [
            &attrs.content_type,
            &attrs.content_encoding,
            &attrs.content_disposition,
            &attrs.content_language,
            &attrs.cache_control,
            &attrs.expires,
            &attrs.storage_class,
        ]
        .into_iter()
        .flatten()
        .map(String::len)
        .sum::<usize>();
        let metadata = attrs
            .user_metadata
            .iter()
            .map(|(name, value)| name.len() + value.len() + 48)
            .sum::<usize>();
        let checksum = attrs
            .checksum
            .as_ref()
            .map_or(0, |(name, value)| name.len() + value.len());
        // The key is held twice: in the cache's key and in the info.
        let key = 2 * self.info.key.as_str().len();
        ENTRY_OVERHEAD
            + (strings + metadata + checksum + key + self.info.etag.len()) as u64
            + 32 * self.segments.len() as u64
    }
}

#[derive(Clone, Copy)]
struct ByWeight;

impl<K, V: Weigh> quick_cache::Weighter<K, V> for ByWeight {
    fn weight(&self, _key: &K, value: &V) -> u64 {
        value.weight()
    }
}

struct Shard<K, V> {
    /// Advanced by every `forget` in this shard.
    epoch: u64,
    entries: quick_cache::unsync::Cache<K, V, ByWeight>,
}

/// Taken before reading the database; see the module documentation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    shard: usize,
    epoch: u64,
}

/// A sharded, weight-bounded cache whose inserts lose to concurrent `forget`s.
pub(crate) struct GuardedCache<K, V> {
    shards: Box<[Mutex<Shard<K, V>>]>,
    hasher: RandomState,
}

impl<K: Eq + Hash, V: Clone + Weigh> GuardedCache<K, V> {
    fn new(weight_capacity: u64) -> Self {
        let per_shard = (weight_capacity / SHARDS as u64).max(1);
        let estimated_items = (per_shard / (2 * ENTRY_OVERHEAD)).max(16) as usize;
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    epoch: 0,
                    entries: quick_cache::unsync::Cache::with_weighter(
                        estimated_items,
                        per_shard,
                        ByWeight,
                    ),
                })
            })
            .collect();
        Self {
            shards,
            hasher: RandomState::new(),
        }
    }

    fn shard_of(&self, key: &K) -> usize {
        (self.hasher.hash_one(key) % SHARDS as u64) as usize
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard<K, V>> {
        // A panic while holding a shard lock leaves nothing half-done (every operation is one
        // call into the cache), so a poisoned lock is still usable.
        self.shards[shard]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value of `key`: from `cache` if there is one and it holds the key, otherwise from
    /// `load` — cached, unless a write forgot the key while `load` ran. `None` from `load`
    /// (nothing there) is not cached.
    pub(crate) async fn get_or_load(
        cache: Option<&Self>,
        key: K,
        load: impl Future<Output = Result<Option<V>, EngineError>>,
    ) -> Result<Option<V>, EngineError> {
        let Some(cache) = cache else {
            return load.await;
        };
        if let Some(value) = cache.get(&key) {
            return Ok(Some(value));
        }
        let ticket = cache.ticket(&key);
        let loaded = load.await?;
        if let Some(value) = &loaded {
            cache.insert(key, value.clone(), ticket);
        }
        Ok(loaded)
    }

    /// The cached value of `key`.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        self.lock(self.shard_of(key)).entries.get(key).cloned()
    }

    /// Take before reading what will be inserted for `key`.
    pub(crate) fn ticket(&self, key: &K) -> Ticket {
        let shard = self.shard_of(key);
        Ticket {
            shard,
            epoch: self.lock(shard).epoch,
        }
    }

    /// Caches `value` for `key`, unless something was forgotten in its shard since `ticket`
    /// was taken.
    pub(crate) fn insert(&self, key: K, value: V, ticket: Ticket) {
        let mut shard = self.lock(ticket.shard);
        if shard.epoch == ticket.epoch {
            shard.entries.insert(key, value);
        }
    }

    /// Drops `key`'s entry; call after the transaction that changed it has ended.
    pub(crate) fn forget(&self, key: &K) {
        let mut shard = self.lock(self.shard_of(key));
        shard.epoch += 1;
        shard.entries.remove(key);
    }

    /// Drops every entry.
    pub(crate) fn forget_all(&self) {
        for index in 0..self.shards.len() {
            let mut shard = self.lock(index);
            shard.epoch += 1;
            shard.entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Sized(u64);

    impl Weigh for Sized {
        fn weight(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn an_insert_after_a_forget_of_its_key_is_dropped() {
        let cache = GuardedCache::<u32, Sized>::new(1 << 20);
        let ticket = cache.ticket(&7);
        // A writer commits and forgets the key while the reader is reading the old row.
        cache.forget(&7);
        cache.insert(7, Sized(1), ticket);
        assert_eq!(cache.get(&7), None);
        // The next reader's ticket is current, so its read is cached.
        let ticket = cache.ticket(&7);
        cache.insert(7, Sized(2), ticket);
        assert_eq!(cache.get(&7), Some(Sized(2)));
    }

    #[test]
    fn forget_all_drops_entries_and_outstanding_tickets() {
        let cache = GuardedCache::<u32, Sized>::new(1 << 20);
        for key in 0..100 {
            let ticket = cache.ticket(&key);
            cache.insert(key, Sized(1), ticket);
        }
        let stale = cache.ticket(&5);
        cache.forget_all();
        assert!((0..100).all(|key| cache.get(&key).is_none()));
        cache.insert(5, Sized(1), stale);
        assert_eq!(cache.get(&5), None);
    }

    #[test]
    fn weight_is_bounded() {
        let cache = GuardedCache::<u32, Sized>::new(SHARDS as u64 * 1000);
        for key in 0..10_000 {
            let ticket = cache.ticket(&key);
            cache.insert(key, Sized(100), ticket);
        }
        let held = (0..10_000).filter(|key| cache.get(key).is_some()).count();
        assert!(held <= SHARDS * 10, "{held} entries of weight 100 held");
        assert!(held > 0);
    }
}
