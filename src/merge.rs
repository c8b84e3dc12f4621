//! `stance merge`: joins the tables of the N shards of a sharded `stance score` (see
//! [`crate::shard`]) into the table one unsharded run writes, row for row and value for value.
//!
//! Before writing anything it checks that every file is a shard, that all share one shard
//! count and one configuration (corpus, model, targets and every option that changes a
//! number: a mismatch names the options that differ), that each index 0..N−1 is present
//! exactly once (missing ones are listed with the `sbatch --array=…` list to resubmit), that
//! no statement id is in two shards and each id is in the shard its hash gives, and that the
//! shards hold every statement of the corpus once. Rows are put back in corpus order (by
//! their `corpus_row`, which is then dropped); the table is written atomically, with one
//! provenance: the shared configuration, each shard file with its SHA-256, host and Slurm
//! ids, and the total forward passes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::checkpoint::RunConfig;
use crate::corpus::{load_table, CorpusError, InputFormat};
use crate::output::{write_table, OutputError, TableFormat};
use crate::provenance::Provenance;
use crate::shard::{self, shard_of, ROW_COLUMN};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no shard tables (.parquet, .csv, .tsv, .ndjson, .jsonl) in {0}")]
    NoShards(PathBuf),
    #[error("cannot list {path}")]
    List {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Read(#[from] CorpusError),
    #[error(
        "{path} is not a shard of `stance score --shard`: its provenance has no {key} \
         (an unsharded table needs no merge)"
    )]
    NotAShard { path: PathBuf, key: &'static str },
    #[error("{path}: provenance entry {key} is {value:?}, which is not {expected}")]
    BadFact { path: PathBuf, key: &'static str, value: String, expected: &'static str },
    #[error(
        "{path} is shard {index} of {count} but {first} is one of {first_count}: they come from different \
         arrays; merge the shards of one array"
    )]
    CountMismatch { path: PathBuf, index: usize, count: usize, first: PathBuf, first_count: usize },
    #[error(
        "{path} was scored with another configuration than {first}, so their scores must not be mixed:\n\
         {differences}\nrescore the shards that differ with the same settings"
    )]
    ConfigMismatch { path: PathBuf, first: PathBuf, differences: String },
    #[error("shard {index} of {count} is there twice: {first} and {second}; keep one of them")]
    DuplicateShard { index: usize, count: usize, first: PathBuf, second: PathBuf },
    #[error(
        "{} missing from {inputs} (found: {found}); resubmit with\n  \
         sbatch --array={array} scripts/slurm/score-array.sbatch …\n\
         (the same arguments as the first submission: its task id is the shard index), or run \
         `stance score … --shard K/{count}` for each, then merge again",
        shard_list(missing, *count)
    )]
    Missing { count: usize, missing: Vec<usize>, array: String, inputs: String, found: String },
    #[error("statement id {id:?} is in two shards: {first} and {second}")]
    DuplicateStatement { id: String, first: PathBuf, second: PathBuf },
    #[error(
        "{path}: statement id {id:?} belongs to shard {expected} of {count}, not to shard {index}: this file \
         was not written by `stance score --shard {index}/{count}`"
    )]
    WrongShard { path: PathBuf, id: String, expected: usize, index: usize, count: usize },
    #[error("{path}: {problem}")]
    Rows { path: PathBuf, problem: String },
    #[error("the shards do not hold the whole corpus of {statements} statements: {problem}")]
    Coverage { statements: usize, problem: String },
    #[error("{path} has columns {found:?}, where {first} has {expected:?}")]
    Columns { path: PathBuf, found: Vec<String>, first: PathBuf, expected: Vec<String> },
    #[error(
        "column {column:?} is {dtype} in {path} but {first_dtype} in {first}; merging CSV shards into a .csv \
         keeps every column as written"
    )]
    ColumnType { column: String, path: PathBuf, dtype: DataType, first: PathBuf, first_dtype: DataType },
    #[error("cannot join the shard tables")]
    Table(#[source] PolarsError),
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// `shard 2 of 4 is` / `shards 0, 1 of 4 are`.
fn shard_list(missing: &[usize], count: usize) -> String {
    let list = missing.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
    if missing.len() == 1 {
        format!("shard {list} of {count} is")
    } else {
        format!("shards {list} of {count} are")
    }
}

/// What a merge wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeSummary {
    pub shards: usize,
    pub rows: usize,
    pub statements: usize,
    pub forward_passes: usize,
}

/// Provenance keys that describe one shard's run rather than the whole: kept per shard.
const PER_SHARD: [&str; 8] = [
    "shard.index",
    "shard.count",
    "shard.source",
    "shard.statements",
    "slurm.job_id",
    "slurm.array_job_id",
    "slurm.array_task_id",
    "host",
];

/// Counters of work done, summed over the shards.
const SUMMED: [&str; 5] =
    ["forward_passes", "sequences", "cache.hits", "relevance.filtered_pairs", "run.resumed_parts"];

/// One shard table as read.
struct ShardTable {
    path: PathBuf,
    index: usize,
    count: usize,
    frame: DataFrame,
    provenance: Provenance,
    sha256: String,
}

/// The shard tables named by `inputs`: files as given, and the table files of folders (in
/// name order, without hidden files, provenance sidecars and `out` itself).
pub fn shard_files(inputs: &[PathBuf], out: &Path) -> Result<Vec<PathBuf>, MergeError> {
    let out_canonical = std::fs::canonicalize(out).ok();
    let mut files = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            files.push(input.clone());
            continue;
        }
        let list_error = |source| MergeError::List { path: input.clone(), source };
        let mut found = Vec::new();
        for entry in std::fs::read_dir(input).map_err(list_error)? {
            let path = entry.map_err(list_error)?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let is_table = InputFormat::from_path(&path).is_ok() && !name.ends_with(".provenance.json");
            let is_out = out_canonical.is_some() && std::fs::canonicalize(&path).ok() == out_canonical;
            if path.is_file() && is_table && !name.starts_with('.') && !is_out {
                found.push(path);
            }
        }
        if found.is_empty() {
            return Err(MergeError::NoShards(input.clone()));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// Merges the shard tables named by `inputs` (files or folders) into `out`, atomically.
/// `command_line` is recorded as given.
pub fn merge(inputs: &[PathBuf], out: &Path, command_line: &[String]) -> Result<MergeSummary, MergeError> {
    crate::output::probe_writable(out)?;
    let files = shard_files(inputs, out)?;
    let text_out = matches!(TableFormat::from_path(out)?, TableFormat::Csv | TableFormat::Tsv);
    let shards = files.iter().map(|path| read_shard(path, text_out)).collect::<Result<Vec<_>, _>>()?;
    let (first, config) = check_set(&shards, inputs)?;
    let n_targets = fact(&config, "targets", &first.path)?;
    let statements = fact(&config, "input.corpus.rows", &first.path)?;
    let order = check_rows(&shards, n_targets, statements)?;

    // A shard without statements adds no rows (and, written as NDJSON, has no columns).
    let filled: Vec<&ShardTable> = shards.iter().filter(|s| s.frame.height() > 0).collect();
    let mut merged = match filled.first() {
        None => shards[0].frame.clone(),
        Some(_) => {
            let mut frames = filled.iter().map(|s| s.frame.clone()).collect::<Vec<_>>();
            reconcile_types(&filled, &mut frames)?;
            let mut joined = frames[0].clone();
            for frame in &frames[1..] {
                joined.vstack_mut(frame).map_err(MergeError::Table)?;
            }
            let take: IdxCa = order.into_iter().map(|i| i as IdxSize).collect_ca("order".into());
            joined.take(&take).map_err(MergeError::Table)?
        }
    };
    if merged.column(ROW_COLUMN).is_ok() {
        merged.drop_in_place(ROW_COLUMN).map_err(MergeError::Table)?;
    }

    let (provenance, forward_passes) = merged_provenance(&shards, command_line);
    let rows = merged.height();
    write_table(&mut merged, out, &provenance)?;
    Ok(MergeSummary { shards: shards.len(), rows, statements, forward_passes })
}

/// Reads a shard table; `text_out`: the merged table is CSV/TSV.
fn read_shard(path: &Path, text_out: bool) -> Result<ShardTable, MergeError> {
    let mut table = load_table(path, &[])?;
    if text_out && matches!(table.format, InputFormat::Csv | InputFormat::Tsv) {
        // From text to text, every column is kept as written: a column's inferred type could
        // differ between shards (`12` in one, `12a` in another), and text written back is the
        // unsharded file's text.
        let names: Vec<String> = table.frame.get_column_names().iter().map(|n| n.to_string()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        table = load_table(path, &names)?;
    }
    let number = |key: &'static str| -> Result<usize, MergeError> {
        let value = table.provenance.get(key).ok_or(MergeError::NotAShard { path: path.to_owned(), key })?;
        value.parse().map_err(|_| MergeError::BadFact {
            path: path.to_owned(),
            key,
            value: value.to_owned(),
            expected: "a whole number",
        })
    };
    let (index, count) = (number("shard.index")?, number("shard.count")?);
    if index >= count {
        return Err(MergeError::BadFact {
            path: path.to_owned(),
            key: "shard.index",
            value: index.to_string(),
            expected: "below shard.count",
        });
    }
    for key in ["configuration.sha256", "configuration"] {
        if table.provenance.get(key).is_none() {
            return Err(MergeError::NotAShard { path: path.to_owned(), key });
        }
    }
    Ok(ShardTable {
        path: path.to_owned(),
        index,
        count,
        frame: table.frame,
        provenance: table.provenance,
        sha256: table.sha256,
    })
}

/// Checks one count, one configuration and every index once; returns the first shard and
/// the shared configuration.
fn check_set<'a>(
    shards: &'a [ShardTable],
    inputs: &[PathBuf],
) -> Result<(&'a ShardTable, RunConfig), MergeError> {
    let first = &shards[0];
    let config_of = |shard: &ShardTable| -> Result<RunConfig, MergeError> {
        let json = shard.provenance.get("configuration").unwrap_or_default();
        serde_json::from_str(json).map_err(|_| MergeError::BadFact {
            path: shard.path.clone(),
            key: "configuration",
            value: json.chars().take(60).collect(),
            expected: "a JSON object of settings",
        })
    };
    let config = config_of(first)?;
    let mut seen: BTreeMap<usize, &Path> = BTreeMap::new();
    for shard in shards {
        if shard.count != first.count {
            return Err(MergeError::CountMismatch {
                path: shard.path.clone(),
                index: shard.index,
                count: shard.count,
                first: first.path.clone(),
                first_count: first.count,
            });
        }
        if shard.provenance.get("configuration.sha256") != first.provenance.get("configuration.sha256") {
            let differences = config.compare(
                &first.path.display().to_string(),
                &config_of(shard)?,
                &shard.path.display().to_string(),
            );
            return Err(MergeError::ConfigMismatch {
                path: shard.path.clone(),
                first: first.path.clone(),
                differences: if differences.is_empty() {
                    "  (the settings are the same but their hashes differ)".into()
                } else {
                    differences
                },
            });
        }
        if let Some(earlier) = seen.insert(shard.index, &shard.path) {
            return Err(MergeError::DuplicateShard {
                index: shard.index,
                count: shard.count,
                first: earlier.to_owned(),
                second: shard.path.clone(),
            });
        }
    }
    let missing: Vec<usize> = (0..first.count).filter(|i| !seen.contains_key(i)).collect();
    if !missing.is_empty() {
        let found = shard::array_list(&seen.keys().copied().collect::<Vec<_>>());
        let inputs = inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        return Err(MergeError::Missing {
            count: first.count,
            array: shard::array_list(&missing),
            missing,
            inputs,
            found,
        });
    }
    Ok((first, config))
}

fn fact(config: &RunConfig, key: &'static str, path: &Path) -> Result<usize, MergeError> {
    let value = config.0.get(key).cloned().unwrap_or_default();
    value.parse().map_err(|_| MergeError::BadFact {
        path: path.to_owned(),
        key,
        value,
        expected: "a whole number in the configuration",
    })
}

/// Checks every statement id against its shard and the corpus rows against the corpus;
/// returns the order of the stacked rows that puts them back in corpus order.
fn check_rows(shards: &[ShardTable], n_targets: usize, statements: usize) -> Result<Vec<usize>, MergeError> {
    let mut owner: HashMap<String, usize> = HashMap::new();
    let mut rows_of = vec![0usize; statements];
    // (corpus row, position in the stacked table): sorting gives corpus order, and targets
    // stay in their order within a statement.
    let mut keyed: Vec<(u64, usize)> = Vec::new();
    for (s, shard) in shards.iter().enumerate().filter(|(_, shard)| shard.frame.height() > 0) {
        let problem = |problem: String| MergeError::Rows { path: shard.path.clone(), problem };
        let ids = shard
            .frame
            .column("id")
            .and_then(|c| c.cast(&DataType::String))
            .map_err(|_| problem("no `id` column".into()))?;
        let ids = ids.str().map_err(|e| problem(e.to_string()))?;
        let rows = corpus_rows(&shard.frame).map_err(problem)?;
        for (i, (id, row)) in ids.iter().zip(rows).enumerate() {
            let id = id.ok_or_else(|| problem(format!("row {} has no id", i + 1)))?;
            let expected = shard_of(id, shard.count);
            if expected != shard.index {
                return Err(MergeError::WrongShard {
                    path: shard.path.clone(),
                    id: id.to_owned(),
                    expected,
                    index: shard.index,
                    count: shard.count,
                });
            }
            match owner.get(id) {
                Some(&other) if other != s => {
                    return Err(MergeError::DuplicateStatement {
                        id: id.to_owned(),
                        first: shards[other].path.clone(),
                        second: shard.path.clone(),
                    })
                }
                Some(_) => {}
                None => {
                    owner.insert(id.to_owned(), s);
                }
            }
            let slot = rows_of.get_mut(row as usize).ok_or_else(|| {
                problem(format!(
                    "{ROW_COLUMN} {row} in row {} is beyond the corpus's {statements} statements",
                    i + 1
                ))
            })?;
            *slot += 1;
            keyed.push((row, keyed.len()));
        }
    }
    if let Some(row) = rows_of.iter().position(|&n| n != n_targets) {
        let found = rows_of[row];
        return Err(MergeError::Coverage {
            statements,
            problem: format!(
                "statement {row} (corpus_row) has {found} rows where {n_targets} (one per target) were expected"
            ),
        });
    }
    keyed.sort_unstable();
    Ok(keyed.into_iter().map(|(_, position)| position).collect())
}

fn corpus_rows(frame: &DataFrame) -> Result<Vec<u64>, String> {
    let column = frame.column(ROW_COLUMN).map_err(|_| format!("no `{ROW_COLUMN}` column"))?;
    // Text tables read it as text (CSV) or as integers (NDJSON).
    let values: Vec<Option<u64>> = match column.dtype() {
        DataType::String => {
            column.str().map_err(|e| e.to_string())?.iter().map(|v| v.and_then(|v| v.parse().ok())).collect()
        }
        _ => {
            let cast = column.cast(&DataType::UInt64).map_err(|e| e.to_string())?;
            cast.u64().map_err(|e| e.to_string())?.iter().collect()
        }
    };
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| format!("{ROW_COLUMN} in row {} is not a row number", i + 1)))
        .collect()
}

/// Makes the shards' columns stackable: same names in the same order, and the same types,
/// where a column that is all nulls in one shard (typed Null when read from NDJSON) takes
/// the others' type.
fn reconcile_types(shards: &[&ShardTable], frames: &mut [DataFrame]) -> Result<(), MergeError> {
    let names =
        |frame: &DataFrame| frame.get_column_names().iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let expected = names(&frames[0]);
    for (shard, frame) in shards.iter().zip(frames.iter()) {
        if names(frame) != expected {
            return Err(MergeError::Columns {
                path: shard.path.clone(),
                found: names(frame),
                first: shards[0].path.clone(),
                expected,
            });
        }
    }
    for name in &expected {
        let typed = frames
            .iter()
            .map(|f| f.column(name).expect("checked above").dtype().clone())
            .find(|t| t != &DataType::Null);
        let Some(dtype) = typed else { continue };
        for (s, frame) in frames.iter_mut().enumerate() {
            let column = frame.column(name).expect("checked above");
            if column.dtype() == &dtype {
                continue;
            }
            if column.dtype() != &DataType::Null {
                let first = frames_first_with(shards, name, &dtype);
                return Err(MergeError::ColumnType {
                    column: name.clone(),
                    path: shards[s].path.clone(),
                    dtype: column.dtype().clone(),
                    first,
                    first_dtype: dtype,
                });
            }
            let cast = column.cast(&dtype).map_err(MergeError::Table)?;
            frame.replace(name, cast).map_err(MergeError::Table)?;
        }
    }
    Ok(())
}

/// The first shard whose column `name` has type `dtype`, for a message.
fn frames_first_with(shards: &[&ShardTable], name: &str, dtype: &DataType) -> PathBuf {
    shards
        .iter()
        .find(|s| s.frame.column(name).is_ok_and(|c| c.dtype() == dtype))
        .map(|s| s.path.clone())
        .unwrap_or_else(|| shards[0].path.clone())
}

/// One provenance for the merged table: what the shards share, the work they did in total,
/// and each shard file with its hash, where it ran and what it alone recorded.
fn merged_provenance(shards: &[ShardTable], command_line: &[String]) -> (Provenance, usize) {
    let mut provenance = Provenance::for_command(command_line);
    let own = |key: &str| matches!(key, "tool" | "tool_version" | "command_line");
    let keys: BTreeSet<&str> = shards.iter().flat_map(|s| s.provenance.iter().map(|(k, _)| k)).collect();
    let mut differing: Vec<BTreeMap<&str, &str>> = vec![BTreeMap::new(); shards.len()];
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    for key in keys {
        if own(key) || PER_SHARD.contains(&key) {
            continue;
        }
        if SUMMED.contains(&key) {
            let total = shards.iter().filter_map(|s| s.provenance.get(key)?.parse::<usize>().ok()).sum();
            totals.insert(key, total);
            continue;
        }
        let first = shards[0].provenance.get(key);
        if shards.iter().all(|s| s.provenance.get(key) == first) {
            provenance.set(key, first.unwrap_or_default());
        } else {
            for (s, shard) in shards.iter().enumerate() {
                differing[s].insert(key, shard.provenance.get(key).unwrap_or_default());
            }
        }
    }
    for (key, total) in &totals {
        provenance.set(*key, total);
    }
    let mut ordered: Vec<usize> = (0..shards.len()).collect();
    ordered.sort_by_key(|&s| shards[s].index);
    let entries: Vec<serde_json::Value> = ordered
        .iter()
        .map(|&s| {
            let shard = &shards[s];
            let mut entry = serde_json::Map::new();
            entry.insert("file".into(), shard.path.display().to_string().into());
            entry.insert("sha256".into(), shard.sha256.clone().into());
            for key in PER_SHARD.iter().chain(["forward_passes"].iter()) {
                if let Some(value) = shard.provenance.get(key) {
                    entry.insert(key.to_string(), value.into());
                }
            }
            if let Some(command) = shard.provenance.get("command_line") {
                let parsed = serde_json::from_str(command).unwrap_or_else(|_| command.into());
                entry.insert("command_line".into(), parsed);
            }
            if !differing[s].is_empty() {
                entry.insert(
                    "differing".into(),
                    serde_json::to_value(&differing[s]).expect("strings serialize"),
                );
            }
            serde_json::Value::Object(entry)
        })
        .collect();
    provenance.set_json("merge.shards", &entries);
    provenance.set("merge.shard_count", shards.len());
    let hosts: BTreeSet<&str> = shards.iter().filter_map(|s| s.provenance.get("host")).collect();
    provenance.set_json("merge.hosts", &hosts);
    (provenance, totals.get("forward_passes").copied().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(index: usize, count: usize, ids: &[&str], rows: &[u64], facts: &[(&str, &str)]) -> ShardTable {
        let mut provenance = Provenance::default();
        for (key, value) in facts {
            provenance.set(*key, value);
        }
        ShardTable {
            path: PathBuf::from(format!("shard-{index}.parquet")),
            index,
            count,
            frame: df!("id" => ids, ROW_COLUMN => rows).unwrap(),
            provenance,
            sha256: format!("sha-{index}"),
        }
    }

    /// Ids whose shard of 2 is `index`, for tables that pass the hash check.
    fn ids_of(index: usize, n: usize) -> Vec<String> {
        (0..).map(|i| format!("s{i}")).filter(|id| shard_of(id, 2) == index).take(n).collect()
    }

    #[test]
    fn rows_come_back_in_corpus_order_and_gaps_are_named() {
        let (a, b) = (ids_of(0, 2), ids_of(1, 1));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let shards = [shard(0, 2, &[a[0], a[1]], &[2, 0], &[]), shard(1, 2, &[b[0].as_str()], &[1], &[])];
        // One target: stacked rows 0 (corpus row 2), 1 (row 0), 2 (row 1) → order 1, 2, 0.
        assert_eq!(check_rows(&shards, 1, 3).unwrap(), [1, 2, 0]);
        let gap = check_rows(&shards, 1, 4).unwrap_err().to_string();
        assert_eq!(
            gap,
            "the shards do not hold the whole corpus of 4 statements: statement 3 (corpus_row) has 0 rows where \
             1 (one per target) were expected"
        );
        let beyond = check_rows(&shards, 1, 2).unwrap_err().to_string();
        assert!(beyond.starts_with("shard-0.parquet: corpus_row 2 in row 1 is beyond"), "{beyond}");
    }

    #[test]
    fn an_id_in_the_wrong_shard_or_in_two_shards_is_refused() {
        let (a, b) = (ids_of(0, 1), ids_of(1, 1));
        let wrong = [shard(0, 2, &[b[0].as_str()], &[0], &[])];
        assert!(matches!(
            check_rows(&wrong, 1, 1),
            Err(MergeError::WrongShard { expected: 1, index: 0, .. })
        ));
        // The same id in two files of one index (the duplicate-index check normally stops this first).
        let twice = [shard(0, 2, &[a[0].as_str()], &[0], &[]), shard(0, 2, &[a[0].as_str()], &[1], &[])];
        assert!(matches!(check_rows(&twice, 1, 2), Err(MergeError::DuplicateStatement { .. })));
    }

    #[test]
    fn provenance_keeps_what_shards_share_and_each_shard_s_own() {
        let shards = [
            shard(
                1,
                2,
                &[],
                &[],
                &[("model.id", "m"), ("forward_passes", "3"), ("host", "b"), ("threads", "8")],
            ),
            shard(
                0,
                2,
                &[],
                &[],
                &[("model.id", "m"), ("forward_passes", "4"), ("host", "a"), ("threads", "4")],
            ),
        ];
        let (provenance, passes) = merged_provenance(&shards, &["stance".into(), "merge".into()]);
        assert_eq!(passes, 7);
        assert_eq!(provenance.get("forward_passes"), Some("7"));
        assert_eq!(provenance.get("model.id"), Some("m"));
        assert_eq!(provenance.get("threads"), None, "differing values stay with their shard");
        assert_eq!(provenance.get("merge.hosts"), Some(r#"["a","b"]"#));
        let entries: serde_json::Value =
            serde_json::from_str(provenance.get("merge.shards").unwrap()).unwrap();
        assert_eq!(entries[0]["file"], "shard-0.parquet", "in index order");
        assert_eq!(entries[0]["sha256"], "sha-0");
        assert_eq!(entries[0]["differing"]["threads"], "4");
        assert_eq!(entries[1]["forward_passes"], "3");
    }

    #[test]
    fn missing_shards_read_as_an_sbatch_list() {
        let error = MergeError::Missing {
            count: 8,
            missing: vec![2, 3, 6],
            array: shard::array_list(&[2, 3, 6]),
            inputs: "out/shards".into(),
            found: "0-1,4-5,7".into(),
        };
        let message = error.to_string();
        assert!(
            message.starts_with("shards 2, 3, 6 of 8 are missing from out/shards (found: 0-1,4-5,7)"),
            "{message}"
        );
        assert!(
            message.contains("\n  sbatch --array=2-3,6 scripts/slurm/score-array.sbatch …\n"),
            "{message}"
        );
    }
}
