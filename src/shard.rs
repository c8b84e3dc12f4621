//! Sharding a corpus across the tasks of a job array: `stance score --shard K/N` scores only
//! the statements of shard K of N, and `stance merge` joins the N tables (see [`crate::merge`]).
//!
//! **The convention** (written once here, and in the README and `stance score --help`):
//! - shards are numbered from 0: `--shard K/N` with `0 ≤ K < N`;
//! - a statement belongs to shard `u64_be(SHA-256(id)[0..8]) mod N`: a pure function of its
//!   stable id (the corpus's `id`, or the one derived from its content), never of its row, of
//!   the corpus's other statements, or of which shards run; re-running one task reproduces it;
//! - inside a Slurm array task without `--shard`, `K = SLURM_ARRAY_TASK_ID −
//!   SLURM_ARRAY_TASK_MIN` and `N = SLURM_ARRAY_TASK_COUNT`, so `--array=0-15` and
//!   `--array=1-16` both give shards 0..15. A stepped (`0-30:2`) or sparse (`1,3,8`) array
//!   cannot say which shard a task is and is refused; `--no-shard` scores everything.
//!
//! A shard's table is a complete scores table plus a `corpus_row` column (the statement's
//! 0-based position in the corpus as read), which `stance merge` uses to restore the
//! unsharded row order and then drops.

use std::fmt;
use std::str::FromStr;

use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::provenance::Provenance;

/// The column of a shard's table holding each statement's position in the corpus.
pub const ROW_COLUMN: &str = "corpus_row";

/// Shard `index` of `count`, counted from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Whether the statement with this id is in this shard.
    pub fn contains(&self, id: &str) -> bool {
        shard_of(id, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<Self, ShardError> {
        let bad = || ShardError::Syntax(text.to_owned());
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let number = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
        let (index, count) = (number(index)?, number(count)?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// The shard (0-based) of the statement with this id among `count` shards: the first 8 bytes
/// of the SHA-256 of the id's UTF-8 bytes, read as a big-endian integer, modulo `count`.
/// A cryptographic hash spreads any ids (sequential numbers, shared prefixes) evenly, and
/// is the same on every platform and in every language.
pub fn shard_of(id: &str, count: usize) -> usize {
    let digest = Sha256::digest(id.as_bytes());
    let head = u64::from_be_bytes(digest[..8].try_into().expect("SHA-256 has 32 bytes"));
    (head % count as u64) as usize
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShardError {
    #[error("`{0}` is not a shard: expected K/N with shards counted from 0, 0 <= K < N (e.g. 0/16 … 15/16)")]
    Syntax(String),
    #[error(
        "{name}={value:?} is not a whole number; this Slurm array task cannot say which shard it is: \
         pass --shard K/N (or --no-shard)"
    )]
    NotANumber { name: &'static str, value: String },
    #[error(
        "SLURM_ARRAY_TASK_ID is set but {name} is not, so the shard cannot be told from the array \
         (Slurm sets both in array tasks): pass --shard K/N (or --no-shard)"
    )]
    Incomplete { name: &'static str },
    #[error(
        "this Slurm array is {shape} (task ids {min}..{max}, {count} tasks{step}): the shard of a task is \
         SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN only in an array of consecutive ids such as \
         --array=0-{last}; submit one, or pass --shard K/N explicitly (the templates in scripts/slurm pass \
         --shard $SLURM_ARRAY_TASK_ID/N), or --no-shard",
        shape = if *step != 1 { "stepped" } else { "sparse" },
        step = if *step != 1 { format!(", step {step}") } else { String::new() },
        last = count.saturating_sub(1)
    )]
    NotContiguous { min: u64, max: u64, count: u64, step: u64 },
    #[error(
        "SLURM_ARRAY_TASK_ID={id} lies outside the array SLURM_ARRAY_TASK_MIN={min}, \
         SLURM_ARRAY_TASK_COUNT={count}: pass --shard K/N (or --no-shard)"
    )]
    OutsideArray { id: u64, min: u64, count: u64 },
    #[error(
        "the corpus has a column named `{ROW_COLUMN}`, which a shard's table uses for each statement's \
         position in the corpus: rename that column"
    )]
    ColumnTaken,
}

/// Where a run's shard came from, recorded as `shard.source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSource {
    /// `--shard K/N`.
    Flag,
    /// The `SLURM_ARRAY_*` variables of an array task.
    SlurmArray,
}

impl ShardSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ShardSource::Flag => "--shard",
            ShardSource::SlurmArray => "SLURM_ARRAY_TASK_ID",
        }
    }
}

/// The Slurm job a process runs in, as far as its environment says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmJob {
    pub job_id: Option<String>,
    pub array_job_id: Option<String>,
    pub array_task_id: Option<String>,
}

impl SlurmJob {
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| env(name).filter(|v| !v.is_empty());
        Self {
            job_id: get("SLURM_JOB_ID"),
            array_job_id: get("SLURM_ARRAY_JOB_ID"),
            array_task_id: get("SLURM_ARRAY_TASK_ID"),
        }
    }
}

/// The shard a run scores, where it came from, and where it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardChoice {
    pub shard: Shard,
    pub source: ShardSource,
    pub slurm: SlurmJob,
    pub host: Option<String>,
}

impl ShardChoice {
    /// `shard.*`, `slurm.*` and `host` facts for a shard's provenance.
    pub fn record(&self, provenance: &mut Provenance, statements: usize) {
        provenance.set("shard.index", self.shard.index);
        provenance.set("shard.count", self.shard.count);
        provenance.set("shard.source", self.source.as_str());
        provenance.set("shard.statements", statements);
        for (key, value) in [
            ("slurm.job_id", &self.slurm.job_id),
            ("slurm.array_job_id", &self.slurm.array_job_id),
            ("slurm.array_task_id", &self.slurm.array_task_id),
            ("host", &self.host),
        ] {
            if let Some(value) = value {
                provenance.set(key, value);
            }
        }
    }
}

/// The shard to score: `--shard` when given, none with `--no-shard`, else the Slurm array
/// task's (see the module documentation), else none. `env` reads an environment variable.
pub fn choose(
    flag: Option<Shard>,
    no_shard: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<ShardChoice>, ShardError> {
    let (shard, source) = match (flag, no_shard) {
        (_, true) => return Ok(None),
        (Some(shard), false) => (shard, ShardSource::Flag),
        (None, false) => match from_slurm_array(env)? {
            Some(shard) => (shard, ShardSource::SlurmArray),
            None => return Ok(None),
        },
    };
    Ok(Some(ShardChoice { shard, source, slurm: SlurmJob::from_env(env), host: hostname() }))
}

/// The shard of a Slurm array task, or `None` outside one.
pub fn from_slurm_array(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Shard>, ShardError> {
    let number = |name: &'static str| -> Result<Option<u64>, ShardError> {
        match env(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(value) => value.parse().map(Some).map_err(|_| ShardError::NotANumber { name, value }),
        }
    };
    let Some(id) = number("SLURM_ARRAY_TASK_ID")? else { return Ok(None) };
    let required = |name| number(name)?.ok_or(ShardError::Incomplete { name });
    let min = required("SLURM_ARRAY_TASK_MIN")?;
    let count = required("SLURM_ARRAY_TASK_COUNT")?;
    // MAX and STEP only serve to recognise arrays whose ids are not consecutive.
    let max = number("SLURM_ARRAY_TASK_MAX")?;
    let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1);
    let span = max.map(|max| max.checked_sub(min).map(|d| d + 1));
    if step != 1 || span.is_some_and(|span| span != Some(count)) {
        return Err(ShardError::NotContiguous { min, max: max.unwrap_or(min), count, step });
    }
    let index = id.checked_sub(min).filter(|&index| index < count);
    match index {
        Some(index) => Ok(Some(Shard { index: index as usize, count: count as usize })),
        None => Err(ShardError::OutsideArray { id, min, count }),
    }
}

/// The statements of `shard` in `corpus` (which has an `id` in every row), in corpus order,
/// with their 0-based position in the corpus in a last `corpus_row` column.
pub fn select(corpus: &DataFrame, shard: Shard) -> crate::Result<DataFrame> {
    if corpus.column(ROW_COLUMN).is_ok() {
        return Err(ShardError::ColumnTaken.into());
    }
    let failed = crate::Error::Table;
    let ids = corpus.column("id").and_then(|c| c.str().cloned()).map_err(failed)?;
    let keep: BooleanChunked = ids.iter().map(|id| shard.contains(id.unwrap_or_default())).collect();
    let rows = Column::new(ROW_COLUMN.into(), (0..corpus.height() as u64).collect::<Vec<u64>>());
    let mut numbered = corpus.clone();
    numbered.with_column(rows).map_err(failed)?;
    numbered.filter(&keep).map_err(failed)
}

/// This machine's host name, for provenance.
pub fn hostname() -> Option<String> {
    #[cfg(unix)]
    {
        let mut buffer = [0u8; 256];
        // SAFETY: gethostname writes at most `len` bytes into the buffer we own.
        if unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } != 0 {
            return None;
        }
        let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
        Some(String::from_utf8_lossy(&buffer[..end]).into_owned()).filter(|h| !h.is_empty())
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME").ok()
    }
}

/// `0-3,5,7-8`: sorted indices as a Slurm `--array` list.
pub fn array_list(indices: &[usize]) -> String {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for i in sorted {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == i => *end = i,
            _ => ranges.push((i, i)),
        }
    }
    ranges
        .iter()
        .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    fn slurm(pairs: &[(&str, &str)]) -> Result<Option<Shard>, ShardError> {
        from_slurm_array(&env(pairs))
    }

    #[test]
    fn shard_syntax_counts_from_zero() {
        assert_eq!("3/16".parse(), Ok(Shard { index: 3, count: 16 }));
        assert_eq!("0/1".parse(), Ok(Shard { index: 0, count: 1 }));
        for bad in ["16/16", "1/0", "3", "-1/4", "a/b", "1/4/2", ""] {
            assert_eq!(bad.parse::<Shard>(), Err(ShardError::Syntax(bad.into())), "{bad}");
        }
    }

    #[test]
    fn the_hash_is_pinned() {
        // SHA-256("abc") starts ba7816bf8f01cfea: other tools can reproduce the assignment.
        assert_eq!(shard_of("abc", usize::MAX), (0xba7816bf8f01cfea_u64 % usize::MAX as u64) as usize);
        assert_eq!(shard_of("abc", 7), (0xba7816bf8f01cfea_u64 % 7) as usize);
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("statement-{i}")).collect()
    }

    #[test]
    fn assignment_depends_on_the_id_alone() {
        let all = ids(2000);
        let frame = |ids: &[String]| {
            let text: Vec<String> = ids.iter().map(|id| format!("text of {id}")).collect();
            df!("id" => ids, "text" => text).unwrap()
        };
        let shard = Shard { index: 2, count: 5 };
        let picked = |frame: &DataFrame| -> Vec<String> {
            let selected = select(frame, shard).unwrap();
            let ids = selected.column("id").unwrap().str().unwrap();
            let mut ids: Vec<String> = ids.iter().map(|s| s.unwrap().to_owned()).collect();
            ids.sort();
            ids
        };
        let forward = picked(&frame(&all));
        let mut reversed_ids = all.clone();
        reversed_ids.reverse();
        assert_eq!(picked(&frame(&reversed_ids)), forward, "row order changes nothing");
        let subset: Vec<String> = all[..1000].to_vec();
        let in_subset: Vec<String> = forward.iter().filter(|id| subset.contains(id)).cloned().collect();
        assert_eq!(picked(&frame(&subset)), in_subset, "a superset keeps every statement's shard");
        assert_eq!(picked(&frame(&all)), forward, "stable across runs");
        // The shards partition the corpus, and corpus_row is each statement's position.
        let selected = select(&frame(&reversed_ids), shard).unwrap();
        let rows = selected.column(ROW_COLUMN).unwrap().u64().unwrap();
        let id_col = selected.column("id").unwrap().str().unwrap();
        for (row, id) in rows.iter().zip(id_col.iter()) {
            assert_eq!(reversed_ids[row.unwrap() as usize], id.unwrap());
        }
        let total: usize =
            (0..5).map(|index| select(&frame(&all), Shard { index, count: 5 }).unwrap().height()).sum();
        assert_eq!(total, all.len());
    }

    #[test]
    fn shard_sizes_are_even_on_10k_ids() {
        let all = ids(10_000);
        for count in [2, 4, 16] {
            let mut sizes = vec![0usize; count];
            for id in &all {
                sizes[shard_of(id, count)] += 1;
            }
            // Binomial(10k, 1/N): every size within 3 standard deviations of 10k/N.
            let p = 1.0 / count as f64;
            let mean = all.len() as f64 * p;
            let sd = (all.len() as f64 * p * (1.0 - p)).sqrt();
            for (index, &size) in sizes.iter().enumerate() {
                assert!((size as f64 - mean).abs() <= 3.0 * sd, "N={count}: shard {index} has {size}");
            }
        }
    }

    #[test]
    fn a_corpus_column_named_corpus_row_is_refused() {
        let frame = df!("id" => ["a"], "corpus_row" => [1i64]).unwrap();
        let refused = select(&frame, Shard { index: 0, count: 1 }).unwrap_err();
        assert!(matches!(refused, crate::Error::Shard(ShardError::ColumnTaken)), "{refused}");
    }

    #[test]
    fn slurm_arrays_give_the_shard_from_id_minus_min() {
        let array = |id: &str, min: &str, max: &str| {
            slurm(&[
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_MIN", min),
                ("SLURM_ARRAY_TASK_MAX", max),
                ("SLURM_ARRAY_TASK_COUNT", "16"),
                ("SLURM_ARRAY_TASK_STEP", "1"),
            ])
        };
        assert_eq!(array("0", "0", "15"), Ok(Some(Shard { index: 0, count: 16 })));
        assert_eq!(array("15", "0", "15"), Ok(Some(Shard { index: 15, count: 16 })));
        assert_eq!(array("1", "1", "16"), Ok(Some(Shard { index: 0, count: 16 })));
        assert_eq!(array("16", "1", "16"), Ok(Some(Shard { index: 15, count: 16 })));
        // MAX and STEP are optional; ID, MIN and COUNT are what counts.
        assert_eq!(
            slurm(&[
                ("SLURM_ARRAY_TASK_ID", "5"),
                ("SLURM_ARRAY_TASK_MIN", "3"),
                ("SLURM_ARRAY_TASK_COUNT", "4")
            ]),
            Ok(Some(Shard { index: 2, count: 4 }))
        );
        // A one-task array is one shard.
        assert_eq!(
            slurm(&[
                ("SLURM_ARRAY_TASK_ID", "7"),
                ("SLURM_ARRAY_TASK_MIN", "7"),
                ("SLURM_ARRAY_TASK_MAX", "7"),
                ("SLURM_ARRAY_TASK_COUNT", "1")
            ]),
            Ok(Some(Shard { index: 0, count: 1 }))
        );
    }

    #[test]
    fn outside_an_array_there_is_no_shard() {
        assert_eq!(slurm(&[]), Ok(None));
        assert_eq!(slurm(&[("SLURM_JOB_ID", "42"), ("SLURM_ARRAY_TASK_COUNT", "4")]), Ok(None));
        assert_eq!(slurm(&[("SLURM_ARRAY_TASK_ID", "")]), Ok(None));
    }

    #[test]
    fn stepped_sparse_incomplete_and_garbled_arrays_are_refused() {
        let stepped = slurm(&[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "6"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ]);
        assert_eq!(stepped, Err(ShardError::NotContiguous { min: 0, max: 6, count: 4, step: 2 }));
        let message = stepped.unwrap_err().to_string();
        assert!(
            message.starts_with("this Slurm array is stepped (task ids 0..6, 4 tasks, step 2)"),
            "{message}"
        );
        assert!(message.contains("--shard K/N"), "{message}");
        // --array=1,3: Slurm reports MIN 1, MAX 3, COUNT 2 and STEP 1.
        let sparse = slurm(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
            ("SLURM_ARRAY_TASK_STEP", "1"),
        ]);
        assert_eq!(sparse, Err(ShardError::NotContiguous { min: 1, max: 3, count: 2, step: 1 }));
        assert!(sparse
            .unwrap_err()
            .to_string()
            .starts_with("this Slurm array is sparse (task ids 1..3, 2 tasks)"));
        assert_eq!(
            slurm(&[("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "4")]),
            Err(ShardError::Incomplete { name: "SLURM_ARRAY_TASK_MIN" })
        );
        assert_eq!(
            slurm(&[("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_MIN", "0")]),
            Err(ShardError::Incomplete { name: "SLURM_ARRAY_TASK_COUNT" })
        );
        assert_eq!(
            slurm(&[("SLURM_ARRAY_TASK_ID", "x1"), ("SLURM_ARRAY_TASK_MIN", "0")]),
            Err(ShardError::NotANumber { name: "SLURM_ARRAY_TASK_ID", value: "x1".into() })
        );
        assert_eq!(
            slurm(&[
                ("SLURM_ARRAY_TASK_ID", "1"),
                ("SLURM_ARRAY_TASK_MIN", "0"),
                ("SLURM_ARRAY_TASK_COUNT", "-4")
            ]),
            Err(ShardError::NotANumber { name: "SLURM_ARRAY_TASK_COUNT", value: "-4".into() })
        );
        // Inconsistent values (a task id below MIN, beyond COUNT, or an empty array).
        for (id, min, count) in [("0", "1", "4"), ("4", "0", "4"), ("0", "0", "0")] {
            assert_eq!(
                slurm(&[
                    ("SLURM_ARRAY_TASK_ID", id),
                    ("SLURM_ARRAY_TASK_MIN", min),
                    ("SLURM_ARRAY_TASK_COUNT", count)
                ]),
                Err(ShardError::OutsideArray {
                    id: id.parse().unwrap(),
                    min: min.parse().unwrap(),
                    count: count.parse().unwrap()
                })
            );
        }
        // MAX below MIN is no consecutive array either.
        assert!(matches!(
            slurm(&[
                ("SLURM_ARRAY_TASK_ID", "3"),
                ("SLURM_ARRAY_TASK_MIN", "3"),
                ("SLURM_ARRAY_TASK_MAX", "1"),
                ("SLURM_ARRAY_TASK_COUNT", "1")
            ]),
            Err(ShardError::NotContiguous { .. })
        ));
    }

    #[test]
    fn the_flag_wins_over_slurm_and_no_shard_over_both() {
        let array = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_JOB_ID", "103"),
            ("SLURM_ARRAY_JOB_ID", "100"),
        ]);
        let flag = Shard { index: 1, count: 2 };
        let chosen = choose(Some(flag), false, &array).unwrap().unwrap();
        assert_eq!((chosen.shard, chosen.source), (flag, ShardSource::Flag));
        let from_env = choose(None, false, &array).unwrap().unwrap();
        assert_eq!(
            (from_env.shard, from_env.source),
            (Shard { index: 3, count: 4 }, ShardSource::SlurmArray)
        );
        assert_eq!(from_env.slurm.array_job_id.as_deref(), Some("100"));
        assert_eq!(choose(Some(flag), true, &array), Ok(None));
        assert_eq!(choose(None, true, &env(&[("SLURM_ARRAY_TASK_ID", "x")])), Ok(None));
        assert_eq!(choose(None, false, &env(&[])), Ok(None));

        let mut provenance = Provenance::default();
        from_env.record(&mut provenance, 12);
        assert_eq!(provenance.get("shard.index"), Some("3"));
        assert_eq!(provenance.get("shard.count"), Some("4"));
        assert_eq!(provenance.get("shard.source"), Some("SLURM_ARRAY_TASK_ID"));
        assert_eq!(provenance.get("shard.statements"), Some("12"));
        assert_eq!(provenance.get("slurm.job_id"), Some("103"));
        assert_eq!(provenance.get("slurm.array_task_id"), Some("3"));
    }

    #[test]
    fn array_lists_compress_runs() {
        assert_eq!(array_list(&[5, 0, 1, 2, 3, 7, 8]), "0-3,5,7-8");
        assert_eq!(array_list(&[2]), "2");
    }
}
