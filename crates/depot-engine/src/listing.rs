//! Listing as index range scans: prefixes, delimiters and markers over keys in byte order.
//!
//! A listing page is a handful of range queries on the `(bucket_id, key)` index —
//! `key > marker AND key >= prefix AND key < successor(prefix) ORDER BY key LIMIT n` — never a
//! scan of the bucket. With a delimiter, a key that rolls up into a common prefix `p` ends
//! the useful part of its batch: everything up to `successor(p)` rolls up into the same
//! prefix, so the next query starts there. A page of 1000 entries therefore costs about
//! the same in a bucket of ten thousand keys or a billion, however the keys are distributed.
//!
//! Batch sizes adapt: a batch that ends inside a rolled-up prefix was partly wasted, so the
//! next one is smaller (down to [`MIN_BATCH`]); a batch used to the end lets the next one
//! grow again. Without a delimiter one query of `max_keys + 1` rows answers the page.
//!
//! The scanner is written once, over a `fetch` callback, and serves both ListObjects (rows
//! ordered by key) and ListMultipartUploads (rows ordered by key, then upload id).

use std::future::Future;

use crate::error::EngineError;

/// The smallest batch a delimited scan shrinks to.
pub(crate) const MIN_BATCH: usize = 16;

/// The most entries one page may hold (S3's `max-keys` ceiling).
pub(crate) const MAX_PAGE: usize = 1000;

/// Where a range scan starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lower {
    /// Rows whose key is at or after this.
    AtOrAfter(Vec<u8>),
    /// Rows after this key — or, with a tiebreak, rows of this key whose tiebreak column
    /// (the upload id) is greater, then rows of greater keys.
    After {
        key: Vec<u8>,
        tiebreak: Option<String>,
    },
}

impl Lower {
    fn key(&self) -> &[u8] {
        match self {
            Lower::AtOrAfter(key) | Lower::After { key, .. } => key,
        }
    }
}

/// A row a scan returns: it has a key, and a position to continue after.
pub(crate) trait Keyed {
    fn key_bytes(&self) -> &[u8];
    fn cursor(&self) -> Lower;
}

/// One entry of a page: a row, or a common prefix standing for all rows under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry<T> {
    Row(T),
    Prefix(Vec<u8>),
}

/// What to scan.
#[derive(Debug, Clone)]
pub(crate) struct ScanSpec<'a> {
    pub(crate) prefix: &'a [u8],
    /// `None` or empty: no rolling up.
    pub(crate) delimiter: Option<&'a [u8]>,
    /// Where to start (exclusive), from the caller's marker.
    pub(crate) start: Option<Lower>,
    /// Entries at most; 0 gives an empty, untruncated page.
    pub(crate) limit: usize,
}

/// The first `spec.limit` entries, and whether more exist.
///
/// `fetch(lower, upper, n)` must return up to `n` rows with `lower <= row`, `key < upper`
/// (when given), in scan order.
pub(crate) async fn scan<T, F, Fut>(
    spec: ScanSpec<'_>,
    mut fetch: F,
) -> Result<(Vec<Entry<T>>, bool), EngineError>
where
    T: Keyed,
    F: FnMut(Lower, Option<Vec<u8>>, u64) -> Fut,
    Fut: Future<Output = Result<Vec<T>, EngineError>>,
{
    let limit = spec.limit.min(MAX_PAGE);
    if limit == 0 {
        return Ok((Vec::new(), false));
    }
    let delimiter = spec.delimiter.filter(|delimiter| !delimiter.is_empty());
    // A common prefix at or before the marker was already returned on an earlier page (or
    // holds the marker itself), so it is skipped, never repeated.
    let marker = spec.start.as_ref().map(|start| start.key().to_vec());
    let upper = if spec.prefix.is_empty() {
        None
    } else {
        successor(spec.prefix)
    };
    let mut lower = match spec.start {
        Some(start) if start.key() >= spec.prefix => start,
        _ => Lower::AtOrAfter(spec.prefix.to_vec()),
    };

    // One entry more than the page holds tells whether the page is truncated.
    let target = limit + 1;
    let mut entries = Vec::with_capacity(target);
    let mut batch_cap = target;
    'scan: loop {
        let want = (target - entries.len()).min(batch_cap);
        let rows = fetch(lower.clone(), upper.clone(), want as u64).await?;
        let exhausted = rows.len() < want;
        let mut rolling_up: Option<Vec<u8>> = None;
        let mut last_cursor = None;
        for row in rows {
            let key = row.key_bytes();
            if let Some(prefix) = &rolling_up {
                if key.starts_with(prefix) {
                    continue;
                }
                rolling_up = None;
            }
            if let Some(common) = delimiter.and_then(|d| common_prefix(key, spec.prefix, d)) {
                let common = common.to_vec();
                if marker
                    .as_deref()
                    .is_none_or(|marker| common.as_slice() > marker)
                {
                    entries.push(Entry::Prefix(common.clone()));
                    if entries.len() == target {
                        break 'scan;
                    }
                }
                rolling_up = Some(common);
                continue;
            }
            last_cursor = Some(row.cursor());
            entries.push(Entry::Row(row));
            if entries.len() == target {
                break 'scan;
            }
        }
        if exhausted {
            break;
        }
        lower = match rolling_up {
            // Everything below the prefix's successor rolls up into it: jump past it.
            Some(prefix) => {
                batch_cap = (batch_cap / 4).max(MIN_BATCH);
                match successor(&prefix) {
                    Some(next) => Lower::AtOrAfter(next),
                    None => break,
                }
            }
            None => {
                batch_cap = (batch_cap * 2).min(target);
                match last_cursor {
                    Some(cursor) => cursor,
                    // A full batch always ends in a row or inside a prefix; this arm only
                    // keeps a zero-row "full" batch (want = 0, impossible) from looping.
                    None => break,
                }
            }
        };
    }
    let truncated = entries.len() > limit;
    entries.truncate(limit);
    Ok((entries, truncated))
}

/// The common prefix `key` rolls up into: `key` up to and including the first `delimiter`
/// after `prefix`.
pub(crate) fn common_prefix<'k>(
    key: &'k [u8],
    prefix: &[u8],
    delimiter: &[u8],
) -> Option<&'k [u8]> {
    let rest = key.get(prefix.len()..)?;
    let at = rest
        .windows(delimiter.len())
        .position(|window| window == delimiter)?;
    key.get(..prefix.len() + at + delimiter.len())
}

/// The smallest byte string greater than every string that starts with `bytes`, or `None`
/// when there is none (empty, or all `0xff` — which no UTF-8 string is).
pub(crate) fn successor(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut next = bytes.to_vec();
    while let Some(last) = next.pop() {
        if last < 0xff {
            next.push(last + 1);
            return Some(next);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Row(Vec<u8>);

    impl Keyed for Row {
        fn key_bytes(&self) -> &[u8] {
            &self.0
        }
        fn cursor(&self) -> Lower {
            Lower::After {
                key: self.0.clone(),
                tiebreak: None,
            }
        }
    }

    /// An in-memory "index": rows of `keys` in the range, as the database would return them.
    fn fetch_from(
        keys: &BTreeSet<Vec<u8>>,
        lower: &Lower,
        upper: Option<&[u8]>,
        n: u64,
    ) -> Vec<Row> {
        keys.iter()
            .filter(|key| match lower {
                Lower::AtOrAfter(start) => *key >= start,
                Lower::After { key: start, .. } => *key > start,
            })
            .filter(|key| upper.is_none_or(|upper| key.as_slice() < upper))
            .take(n as usize)
            .map(|key| Row(key.clone()))
            .collect()
    }

    /// The obvious listing: walk every key, roll up, skip what the marker covers.
    fn model(
        keys: &BTreeSet<Vec<u8>>,
        prefix: &[u8],
        delimiter: &[u8],
        marker: Option<&[u8]>,
    ) -> Vec<Entry<Row>> {
        let mut out: Vec<Entry<Row>> = Vec::new();
        for key in keys {
            if !key.starts_with(prefix) || marker.is_some_and(|m| key.as_slice() <= m) {
                continue;
            }
            match (!delimiter.is_empty())
                .then(|| common_prefix(key, prefix, delimiter))
                .flatten()
            {
                Some(common) => {
                    if marker.is_some_and(|m| common <= m) {
                        continue;
                    }
                    if out.last() != Some(&Entry::Prefix(common.to_vec())) {
                        out.push(Entry::Prefix(common.to_vec()));
                    }
                }
                None => out.push(Entry::Row(Row(key.clone()))),
            }
        }
        out
    }

    fn entry_key(entry: &Entry<Row>) -> Vec<u8> {
        match entry {
            Entry::Row(row) => row.0.clone(),
            Entry::Prefix(prefix) => prefix.clone(),
        }
    }

    fn paginate(
        keys: &BTreeSet<Vec<u8>>,
        prefix: &[u8],
        delimiter: &[u8],
        page: usize,
        queries: &Cell<usize>,
    ) -> Vec<Entry<Row>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let mut all = Vec::new();
        let mut start: Option<Vec<u8>> = None;
        loop {
            let spec = ScanSpec {
                prefix,
                delimiter: Some(delimiter),
                start: start.clone().map(|key| Lower::After {
                    key,
                    tiebreak: None,
                }),
                limit: page,
            };
            let (entries, truncated) = runtime
                .block_on(scan(spec, |lower, upper, n| {
                    queries.set(queries.get() + 1);
                    let rows = fetch_from(keys, &lower, upper.as_deref(), n);
                    async move { Ok(rows) }
                }))
                .expect("in-memory scan cannot fail");
            start = entries.last().map(entry_key);
            all.extend(entries);
            if !truncated {
                return all;
            }
            assert!(start.is_some(), "a truncated page must not be empty");
        }
    }

    #[test]
    fn successor_bounds_every_extension() {
        assert_eq!(successor(b"a/"), Some(b"a0".to_vec()));
        assert_eq!(successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(successor(b"\xff\xff"), None);
        assert_eq!(successor(b""), None);
    }

    #[test]
    fn byte_order_and_rollup() {
        let keys: BTreeSet<Vec<u8>> = ["a", "a/b", "a/c/d", "a0", "é", "z"]
            .iter()
            .map(|key| key.as_bytes().to_vec())
            .collect();
        let queries = Cell::new(0);
        let listed = paginate(&keys, b"", b"/", 1000, &queries);
        let shown: Vec<String> = listed
            .iter()
            .map(|entry| String::from_utf8_lossy(&entry_key(entry)).into_owned())
            .collect();
        assert_eq!(shown, ["a", "a/", "a0", "z", "é"]);
    }

    #[test]
    fn a_huge_prefix_costs_a_jump_not_a_walk() {
        // 10 000 keys under one prefix, then one more key: the page must not read them all.
        let mut keys: BTreeSet<Vec<u8>> = (0..10_000)
            .map(|i| format!("big/{i:05}").into_bytes())
            .collect();
        keys.insert(b"small".to_vec());
        let queries = Cell::new(0);
        let listed = paginate(&keys, b"", b"/", 1000, &queries);
        assert_eq!(listed.len(), 2);
        assert!(queries.get() <= 3, "{} queries", queries.get());
    }

    proptest! {
        #[test]
        fn pagination_matches_the_model(
            keys in proptest::collection::btree_set(
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'/'), Just(0xc3u8), Just(0xa9u8)], 1..6),
                0..60,
            ),
            prefix in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'/')], 0..2),
            delimiter in prop_oneof![Just(Vec::new()), Just(b"/".to_vec()), Just(b"b/".to_vec())],
            page in 1usize..7,
        ) {
            let queries = Cell::new(0);
            let listed = paginate(&keys, &prefix, &delimiter, page, &queries);
            prop_assert_eq!(listed, model(&keys, &prefix, &delimiter, None));
        }
    }
}
