//! The score cache: stance scores on disk, addressed by everything that determines them, so
//! re-scoring a corpus that grew by 1% runs the model on about 1% of the pairs.
//!
//! A key is the SHA-256 of a [`ScoringContext`] (tool version, model weights, config and
//! tokenizer hashes, revision, method, resolved max length, long-text handling and the
//! options of the method), the target's three hypotheses (not for the classifier method,
//! which never shows the target to the model) and the statement's text. A score computed with
//! another model revision, template or max length has another key, so it is never returned.
//!
//! Layout: `<dir>/v1/00.bin` … `ff.bin`, 256 append-only shards chosen by the key's first
//! byte, each a sequence of 64-byte records:
//!
//! ```text
//! "stc1" | key (32) | p_favor p_against p_none (f32 LE) | n_chunks (u32 LE) | truncated (u8) | 0 0 0 | checksum (8)
//! ```
//!
//! where the checksum is the first 8 bytes of the SHA-256 of the 56 bytes before it.
//! Why: a run appends a whole part's new entries with one write per shard, so 100k entries
//! take a few hundred appends and 6.4 MB, where a file per entry would take 100k creations
//! and a 4 KiB block each; lookups read only the shards holding wanted keys, sequentially.
//! Concurrent runs may read and append at once: `O_APPEND` writes land whole on local file
//! systems, and anything else (the torn tail of a killed run, interleaved writes on a
//! network file system, a flipped bit) fails the magic or the checksum; the reader skips it
//! and resynchronises on the next valid record, so a damaged entry is recomputed, never
//! trusted. A record whose checksum holds is still checked for values a score can have
//! (finite probabilities in [0, 1] summing to 1 ± 1e-5), since anyone who can write the file
//! can also compute a checksum. The first valid record of a key wins: once written, a key's
//! value never changes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::{Dtype, Model, ModelError};
use crate::provenance::sha256_file;
use crate::score::{LongText, Method, StanceScore};
use crate::targets::{Stance, TargetSet};

/// Bytes of one record.
pub const RECORD_LEN: usize = 64;
const MAGIC: [u8; 4] = *b"stc1";
/// Bytes a record's checksum covers.
const BODY_LEN: usize = RECORD_LEN - 8;
/// The layout's folder inside the cache directory; a new layout gets a new folder.
const LAYOUT: &str = "v1";

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot use the score cache {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The cache folder used when none is given: `stance` in the user's cache folder
/// (`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS).
pub fn default_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("stance"))
}

/// What identifies a model's files: weights, config (labels) and tokenizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelFingerprint {
    pub weights_sha256: String,
    pub revision: Option<String>,
    pub config_sha256: String,
    pub tokenizer_sha256: String,
}

impl ModelFingerprint {
    pub fn of(model: &Model) -> Result<Self, ModelError> {
        let hash = |name: &str| {
            let path = model.resolved.folder.join(name);
            sha256_file(&path).map_err(|source| ModelError::Io { path, source })
        };
        Ok(Self {
            weights_sha256: model.weights_sha256.clone(),
            revision: model.resolved.revision.clone(),
            config_sha256: hash("config.json")?,
            tokenizer_sha256: hash("tokenizer.json")?,
        })
    }
}

/// Everything besides the statement and the hypotheses that changes a score. Options that
/// do not apply to the method are left out, so they do not split the cache.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoringContext {
    pub tool_version: &'static str,
    pub model: ModelFingerprint,
    pub method: Method,
    pub max_length: usize,
    pub long: LongText,
    pub stride: Option<usize>,
    pub per_hypothesis: Option<bool>,
    pub label_map: Option<BTreeMap<String, Stance>>,
    pub temperature: Option<f32>,
    /// Left out at f32, so that caches written before int8 existed stay valid.
    #[serde(skip_serializing_if = "Dtype::is_f32")]
    pub dtype: Dtype,
    /// SHA-256 of the stance head file (`--head`), which replaces the prototypes.
    pub head_sha256: Option<String>,
}

impl ScoringContext {
    /// The context of scoring with `model` by `method` at `max_length` (both resolved), with
    /// the head whose file has SHA-256 `head_sha256` if `options` name one.
    pub fn new(
        model: ModelFingerprint,
        method: Method,
        max_length: usize,
        options: &crate::score::ScoreOptions,
        head_sha256: Option<String>,
    ) -> Self {
        Self {
            tool_version: env!("CARGO_PKG_VERSION"),
            model,
            method,
            max_length,
            long: options.long,
            stride: (options.long == LongText::Window).then_some(options.stride),
            per_hypothesis: (method == Method::Nli).then_some(options.per_hypothesis),
            label_map: (method == Method::Classifier).then(|| options.label_map.clone()),
            temperature: (method == Method::Embedding && head_sha256.is_none())
                .then_some(options.temperature),
            head_sha256,
            dtype: options.dtype,
        }
    }
}

/// A cache key: SHA-256 of context, hypotheses and statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(pub [u8; 32]);

impl CacheKey {
    fn shard(&self) -> u8 {
        self.0[0]
    }
}

/// Derives the keys of one run's pairs: the context and each target's hypotheses are hashed
/// once, each statement once per target.
pub struct CacheKeys {
    per_target: Vec<Sha256>,
}

impl CacheKeys {
    pub fn new(context: &ScoringContext, targets: &TargetSet) -> Self {
        let mut base = Sha256::new();
        field(&mut base, b"stance score cache v1");
        field(&mut base, serde_json::to_string(context).expect("contexts serialize to JSON").as_bytes());
        let per_target = targets
            .targets
            .iter()
            .map(|target| {
                let mut hasher = base.clone();
                if context.method == Method::Classifier {
                    field(&mut hasher, b"");
                } else if context.head_sha256.is_some() {
                    // A head sees the target's name, not its hypotheses.
                    field(&mut hasher, target.name.as_bytes());
                } else {
                    for stance in Stance::ALL {
                        field(&mut hasher, target.hypothesis(stance).as_bytes());
                    }
                }
                hasher
            })
            .collect();
        Self { per_target }
    }

    /// The key of `text` scored toward target number `target`.
    pub fn key(&self, target: usize, text: &str) -> CacheKey {
        let mut hasher = self.per_target[target].clone();
        field(&mut hasher, text.as_bytes());
        CacheKey(hasher.finalize().into())
    }
}

/// Length-prefixed, so that no two different field sequences hash alike.
fn field(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

/// Entries found by [`ScoreCache::lookup`].
#[derive(Debug, Default)]
pub struct Found {
    pub scores: HashMap<CacheKey, StanceScore>,
    /// Damaged stretches skipped in the shards read (each recomputed if wanted).
    pub damaged: usize,
}

/// What `stance cache stats` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub files: usize,
    pub bytes: u64,
    /// Valid records, duplicates included.
    pub records: usize,
    /// Distinct keys among them.
    pub entries: usize,
    /// Damaged stretches (torn or corrupt records) that readers skip.
    pub damaged: usize,
}

/// An on-disk score cache (see the module documentation).
#[derive(Debug, Clone)]
pub struct ScoreCache {
    root: PathBuf,
}

impl ScoreCache {
    /// The cache in `root`, created if missing.
    pub fn open(root: &Path) -> Result<Self, CacheError> {
        let cache = Self { root: root.to_owned() };
        let dir = cache.layout_dir();
        std::fs::create_dir_all(&dir).map_err(|source| CacheError::Io { path: dir, source })?;
        Ok(cache)
    }

    /// The cache in `root` as it is, without creating anything (for stats and clear).
    pub fn at(root: &Path) -> Self {
        Self { root: root.to_owned() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn layout_dir(&self) -> PathBuf {
        self.root.join(LAYOUT)
    }

    fn shard_path(&self, shard: u8) -> PathBuf {
        self.layout_dir().join(format!("{shard:02x}.bin"))
    }

    /// The cached scores of `keys`, reading only the shards that hold them.
    pub fn lookup(&self, keys: &[CacheKey]) -> Result<Found, CacheError> {
        let mut wanted: Vec<CacheKey> = keys.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let mut found = Found::default();
        // Sorted keys group by shard, their first byte.
        for group in wanted.chunk_by(|a, b| a.shard() == b.shard()) {
            let path = self.shard_path(group[0].shard());
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(CacheError::Io { path, source }),
            };
            found.damaged += parse_records(&bytes, |key, score| {
                if group.binary_search(&key).is_ok() {
                    found.scores.entry(key).or_insert(score);
                }
            });
        }
        Ok(found)
    }

    /// Appends `entries`, one write per shard.
    pub fn append(&self, entries: &[(CacheKey, StanceScore)]) -> Result<(), CacheError> {
        let mut shards: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
        for (key, score) in entries {
            shards.entry(key.shard()).or_default().extend_from_slice(&encode(key, score));
        }
        for (shard, bytes) in shards {
            let path = self.shard_path(shard);
            let written = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut file| file.write_all(&bytes));
            written.map_err(|source| CacheError::Io { path, source })?;
        }
        Ok(())
    }

    /// Counts what the cache holds.
    pub fn stats(&self) -> Result<CacheStats, CacheError> {
        let mut stats = CacheStats::default();
        for path in self.shard_files()? {
            let bytes =
                std::fs::read(&path).map_err(|source| CacheError::Io { path: path.clone(), source })?;
            let mut keys = HashSet::new();
            stats.files += 1;
            stats.bytes += bytes.len() as u64;
            stats.damaged += parse_records(&bytes, |key, _| {
                stats.records += 1;
                keys.insert(key);
            });
            stats.entries += keys.len();
        }
        Ok(stats)
    }

    /// Removes every shard (only the cache's own files); returns what they held.
    pub fn clear(&self) -> Result<CacheStats, CacheError> {
        let stats = self.stats()?;
        for path in self.shard_files()? {
            std::fs::remove_file(&path).map_err(|source| CacheError::Io { path, source })?;
        }
        let dir = self.layout_dir();
        match std::fs::remove_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(CacheError::Io { path: dir, source }),
        }
        Ok(stats)
    }

    fn shard_files(&self) -> Result<Vec<PathBuf>, CacheError> {
        let dir = self.layout_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(CacheError::Io { path: dir, source }),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| CacheError::Io { path: dir.clone(), source })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_shard = name.len() == 6
                && name.ends_with(".bin")
                && name[..2].chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
            if is_shard {
                files.push(entry.path());
            }
        }
        files.sort();
        Ok(files)
    }
}

/// How far a cached score's probabilities may sum from 1 (f32 rounding is ~1e-7).
const PROBABILITY_SUM_TOLERANCE: f64 = 1e-5;

fn checksum(body: &[u8]) -> [u8; 8] {
    let digest = Sha256::digest(body);
    digest[..8].try_into().expect("a SHA-256 has 32 bytes")
}

fn encode(key: &CacheKey, score: &StanceScore) -> [u8; RECORD_LEN] {
    let mut record = [0u8; RECORD_LEN];
    record[..4].copy_from_slice(&MAGIC);
    record[4..36].copy_from_slice(&key.0);
    for (i, p) in score.probs.iter().enumerate() {
        record[36 + 4 * i..40 + 4 * i].copy_from_slice(&p.to_le_bytes());
    }
    record[48..52].copy_from_slice(&score.n_chunks.to_le_bytes());
    record[52] = u8::from(score.truncated);
    let sum = checksum(&record[..BODY_LEN]);
    record[BODY_LEN..].copy_from_slice(&sum);
    record
}

/// A record's key and score, or `None` when any check fails.
fn decode(record: &[u8]) -> Option<(CacheKey, StanceScore)> {
    if record.len() != RECORD_LEN
        || record[..4] != MAGIC
        || record[BODY_LEN..] != checksum(&record[..BODY_LEN])
    {
        return None;
    }
    let word = |at: usize| -> [u8; 4] { record[at..at + 4].try_into().expect("4 bytes") };
    let probs = [0, 1, 2].map(|i| f32::from_le_bytes(word(36 + 4 * i)));
    let n_chunks = u32::from_le_bytes(word(48));
    let truncated = match record[52] {
        0 => false,
        1 => true,
        _ => return None,
    };
    let valid = record[53..56] == [0, 0, 0]
        && n_chunks >= 1
        && probs.iter().all(|p| p.is_finite() && (0.0..=1.0).contains(p))
        && (probs.iter().map(|&p| f64::from(p)).sum::<f64>() - 1.0).abs() <= PROBABILITY_SUM_TOLERANCE;
    let key = CacheKey(record[4..36].try_into().expect("32 bytes"));
    valid.then_some((key, StanceScore { probs, truncated, n_chunks, label_mass: None }))
}

/// Calls `each` for every valid record in order; returns the number of damaged stretches
/// skipped (a torn tail counts as one).
fn parse_records(bytes: &[u8], mut each: impl FnMut(CacheKey, StanceScore)) -> usize {
    let mut damaged = 0;
    let mut at = 0;
    while at < bytes.len() {
        if let Some((key, score)) = bytes.get(at..at + RECORD_LEN).and_then(decode) {
            each(key, score);
            at += RECORD_LEN;
            continue;
        }
        damaged += 1;
        // Resynchronise on the next magic that starts a valid record.
        at += 1;
        while at < bytes.len() {
            let magic_here = bytes[at..].starts_with(&MAGIC);
            if magic_here && bytes.get(at..at + RECORD_LEN).and_then(decode).is_some() {
                break;
            }
            at += 1;
        }
    }
    damaged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(seed: u32) -> StanceScore {
        let a = (seed % 7) as f32 / 10.0;
        StanceScore {
            probs: [a, 0.5 - a / 2.0, 0.5 - a / 2.0],
            truncated: seed.is_multiple_of(2),
            n_chunks: 1 + seed % 3,
            label_mass: None,
        }
    }

    fn key(seed: u32) -> CacheKey {
        CacheKey(Sha256::digest(seed.to_le_bytes()).into())
    }

    #[test]
    fn records_round_trip() {
        let record = encode(&key(1), &score(3));
        assert_eq!(decode(&record), Some((key(1), score(3))));
    }

    #[test]
    fn checksummed_records_with_impossible_values_are_refused() {
        let impossible = [[1.0, 1.0, 0.0], [0.5, 0.5, 0.1], [0.3, 0.3, 0.3], [0.0, 0.0, 0.0]];
        for probs in impossible {
            let record =
                encode(&key(1), &StanceScore { probs, truncated: false, n_chunks: 1, label_mass: None });
            assert_eq!(decode(&record), None, "{probs:?}");
        }
        let close =
            StanceScore { probs: [0.2, 0.3, 0.500_004], truncated: false, n_chunks: 1, label_mass: None };
        assert_eq!(decode(&encode(&key(1), &close)), Some((key(1), close)));
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let record = encode(&key(1), &score(3));
        for byte in 0..RECORD_LEN {
            for bit in 0..8 {
                let mut damaged = record;
                damaged[byte] ^= 1 << bit;
                assert_eq!(decode(&damaged), None, "byte {byte} bit {bit}");
            }
        }
    }

    #[test]
    fn parsing_skips_damage_and_torn_tails() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&encode(&key(1), &score(1)));
        let mut corrupt = encode(&key(2), &score(2));
        corrupt[40] ^= 0xff;
        bytes.extend_from_slice(&corrupt);
        bytes.extend_from_slice(&encode(&key(3), &score(3))[..20]); // torn write
        bytes.extend_from_slice(&encode(&key(4), &score(4)));
        bytes.extend_from_slice(&encode(&key(5), &score(5))[..30]); // torn tail
        let mut seen = Vec::new();
        let damaged = parse_records(&bytes, |k, s| seen.push((k, s)));
        assert_eq!(seen, vec![(key(1), score(1)), (key(4), score(4))]);
        assert_eq!(damaged, 2);
    }

    #[test]
    fn lookup_returns_the_first_valid_record_of_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ScoreCache::open(dir.path()).unwrap();
        cache.append(&[(key(1), score(1)), (key(2), score(2))]).unwrap();
        cache.append(&[(key(1), score(5))]).unwrap();
        let found = cache.lookup(&[key(1), key(2), key(9)]).unwrap();
        assert_eq!(found.scores.len(), 2);
        assert_eq!(found.scores[&key(1)], score(1));
        let stats = cache.stats().unwrap();
        assert_eq!((stats.records, stats.entries, stats.damaged), (3, 2, 0));
        let cleared = cache.clear().unwrap();
        assert_eq!(cleared.records, 3);
        assert_eq!(cache.stats().unwrap(), CacheStats::default());
    }

    #[test]
    fn keys_change_with_anything_that_changes_the_score() {
        let targets =
            TargetSet::from_names(&["talks".into(), "sanctions".into()], Default::default()).unwrap();
        let model = ModelFingerprint {
            weights_sha256: "w".into(),
            revision: None,
            config_sha256: "c".into(),
            tokenizer_sha256: "t".into(),
        };
        let options = crate::score::ScoreOptions::default();
        let base = ScoringContext::new(model.clone(), Method::Nli, 128, &options, None);
        let keys = |context: &ScoringContext, targets: &TargetSet| CacheKeys::new(context, targets);
        let reference = keys(&base, &targets).key(0, "We will talk.");
        assert_eq!(reference, keys(&base, &targets).key(0, "We will talk."));
        assert_ne!(reference, keys(&base, &targets).key(0, "We will talk!"));
        assert_ne!(reference, keys(&base, &targets).key(1, "We will talk."));
        let mut variants = vec![
            ScoringContext { max_length: 64, ..base.clone() },
            ScoringContext { long: LongText::Window, stride: Some(8), ..base.clone() },
            ScoringContext { per_hypothesis: Some(true), ..base.clone() },
            ScoringContext::new(model.clone(), Method::Embedding, 128, &options, None),
            ScoringContext::new(model.clone(), Method::Embedding, 128, &options, Some("h".into())),
            ScoringContext { dtype: Dtype::Int8, ..base.clone() },
        ];
        for change in [
            |m: &mut ModelFingerprint| m.weights_sha256 = "w2".into(),
            |m: &mut ModelFingerprint| m.revision = Some("abc".into()),
            |m: &mut ModelFingerprint| m.config_sha256 = "c2".into(),
            |m: &mut ModelFingerprint| m.tokenizer_sha256 = "t2".into(),
        ] {
            let mut other = model.clone();
            change(&mut other);
            variants.push(ScoringContext { model: other, ..base.clone() });
        }
        for variant in &variants {
            assert_ne!(reference, keys(variant, &targets).key(0, "We will talk."), "{variant:?}");
        }
        // Another template changes NLI keys but not classifier keys, which ignore targets.
        let mut templated = targets.clone();
        templated.targets[0].against = "The author of this text rejects talks.".into();
        assert_ne!(reference, keys(&base, &templated).key(0, "We will talk."));
        let classifier = ScoringContext::new(model.clone(), Method::Classifier, 128, &options, None);
        let a = keys(&classifier, &targets);
        assert_eq!(a.key(0, "x"), keys(&classifier, &templated).key(0, "x"));
        assert_eq!(a.key(0, "x"), a.key(1, "x"));
        // A head sees target names: templates do not matter, another head does.
        let head = |sha: &str| {
            ScoringContext::new(model.clone(), Method::Embedding, 128, &options, Some(sha.into()))
        };
        let h = keys(&head("h1"), &targets).key(0, "x");
        assert_eq!(h, keys(&head("h1"), &templated).key(0, "x"));
        assert_ne!(h, keys(&head("h2"), &targets).key(0, "x"));
    }
}
