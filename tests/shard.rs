//! Sharded scoring and `stance merge`: shards chosen from Slurm array variables merge into
//! the unsharded table value for value (Parquet, CSV, NDJSON), and trend/shift/compare on it
//! agree; a missing shard, a duplicate one, shards of two configurations and a stepped array
//! are refused with exit 2 and a message that says what to do; an interrupted merge leaves no
//! partial file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;
use stance::provenance::Provenance;

const STATEMENTS: usize = 120;

fn bert() -> String {
    common::fixture_model_dir("bert").display().to_string()
}

/// `n` statements with distinct ids; every seventh repeats an earlier text (under its own id).
fn corpus(n: usize) -> String {
    const WORDS: [&str; 12] = [
        "peace",
        "talks",
        "sanctions",
        "we",
        "support",
        "oppose",
        "never",
        "always",
        "the",
        "table",
        "are",
        "open",
    ];
    let mut csv = String::from("id,actor,date,text,source\n");
    let mut texts: Vec<String> = Vec::new();
    for i in 0..n {
        let text = if i % 7 == 6 {
            texts[i / 2].clone()
        } else {
            (0..3 + i % 9).map(|k| WORDS[(i * 7 + k * 5 + k * k) % WORDS.len()]).collect::<Vec<_>>().join(" ")
        };
        texts.push(text.clone());
        csv.push_str(&format!(
            "s{i},A{},2025-{:02}-{:02},{text},src{}\n",
            i % 3,
            1 + i % 6,
            1 + i % 28,
            i % 4
        ));
    }
    csv
}

struct Output {
    code: i32,
    stderr: String,
}

/// Runs `stance` in `dir` with the given environment on top of one without Slurm variables.
fn stance_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("stance"));
    command.current_dir(dir).env("HF_HUB_CACHE", dir.join("hub-cache")).env_remove("RUST_LOG");
    for (name, _) in std::env::vars() {
        if name.starts_with("SLURM_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied()).args(args);
    let output = command.output().unwrap();
    Output {
        code: output.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&output.stderr).replace(&dir.display().to_string(), "[TMP]"),
    }
}

fn stance(dir: &Path, args: &[&str]) -> Output {
    stance_env(dir, args, &[])
}

/// `stance score corpus.csv` toward two targets with the tiny BERT, without the cache (so no
/// run reuses another's scores), in parts of 16 statements.
fn score(dir: &Path, out: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let model = bert();
    let mut args = vec![
        "score",
        "corpus.csv",
        "--target",
        "peace talks",
        "--target",
        "sanctions",
        "--model",
        &model,
        "--no-cache",
        "--part-size",
        "16",
        "--out",
        out,
    ];
    args.extend(extra);
    let output = stance_env(dir, &args, env);
    assert_eq!(output.code, 0, "{out}: {}", output.stderr);
    output
}

fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("corpus.csv"), corpus(STATEMENTS)).unwrap();
    std::fs::create_dir(dir.path().join("shards")).unwrap();
    dir
}

fn read(path: &Path) -> (DataFrame, Provenance) {
    stance::corpus::read_table(path).unwrap()
}

/// Slurm's variables in task `task` of `--array=1-4`, job 900.
fn array_task(task: usize) -> Vec<(&'static str, String)> {
    vec![
        ("SLURM_JOB_ID", (900 + task).to_string()),
        ("SLURM_ARRAY_JOB_ID", "900".into()),
        ("SLURM_ARRAY_TASK_ID", task.to_string()),
        ("SLURM_ARRAY_TASK_MIN", "1".into()),
        ("SLURM_ARRAY_TASK_MAX", "4".into()),
        ("SLURM_ARRAY_TASK_COUNT", "4".into()),
        ("SLURM_ARRAY_TASK_STEP", "1".into()),
    ]
}

fn as_env<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn four_shards_from_slurm_variables_merge_into_the_unsharded_table() {
    let dir = workdir();
    let path = |name: &str| dir.path().join(name);
    score(dir.path(), "single.parquet", &[], &[]);
    let mut statements = 0;
    let mut forward_passes = 0;
    for task in 1..=4 {
        let out = format!("shards/shard-{task}.parquet");
        let run = score(dir.path(), &out, &[], &as_env(&array_task(task)));
        assert!(run.stderr.contains(&format!("of shard {}/4 to", task - 1)), "{}", run.stderr);
        let (frame, provenance) = read(&path(&out));
        assert_eq!(provenance.get("shard.index"), Some((task - 1).to_string().as_str()));
        assert_eq!(provenance.get("shard.count"), Some("4"));
        assert_eq!(provenance.get("shard.source"), Some("SLURM_ARRAY_TASK_ID"));
        assert_eq!(provenance.get("slurm.array_job_id"), Some("900"));
        assert_eq!(provenance.get("slurm.job_id"), Some((900 + task).to_string().as_str()));
        assert_eq!(provenance.get("slurm.array_task_id"), Some(task.to_string().as_str()));
        assert!(provenance.get("host").is_some_and(|h| !h.is_empty()));
        assert_eq!(provenance.get("configuration.sha256").map(str::len), Some(64));
        let shard_statements: usize = provenance.get("shard.statements").unwrap().parse().unwrap();
        assert_eq!(frame.height(), 2 * shard_statements);
        assert!(shard_statements > 10, "shards are even: {shard_statements} of {STATEMENTS}");
        statements += shard_statements;
        forward_passes += provenance.get("forward_passes").unwrap().parse::<usize>().unwrap();
    }
    assert_eq!(statements, STATEMENTS);

    let merged = stance(dir.path(), &["merge", "shards", "--out", "merged.parquet"]);
    assert_eq!(merged.code, 0, "{}", merged.stderr);
    assert_eq!(
        merged.stderr,
        format!(
            "merged 4 shards ({STATEMENTS} statements, {} rows, {forward_passes} forward passes) into merged.parquet\n",
            2 * STATEMENTS
        )
    );
    let (single, single_provenance) = read(&path("single.parquet"));
    let (frame, provenance) = read(&path("merged.parquet"));
    assert_eq!(frame.get_column_names(), single.get_column_names());
    assert!(frame.equals_missing(&single), "the merged table differs from the unsharded one");

    // One configuration, each shard with its file hash and where it ran, the total work.
    assert_eq!(provenance.get("merge.shard_count"), Some("4"));
    assert_eq!(provenance.get("forward_passes"), Some(forward_passes.to_string().as_str()));
    for key in ["model.weights_sha256", "input.corpus.sha256", "targets", "method"] {
        assert_eq!(provenance.get(key), single_provenance.get(key), "{key}");
    }
    assert!(provenance.get("shard.index").is_none());
    let shards: serde_json::Value = serde_json::from_str(provenance.get("merge.shards").unwrap()).unwrap();
    let shards = shards.as_array().unwrap();
    assert_eq!(shards.len(), 4);
    for (index, shard) in shards.iter().enumerate() {
        let file = format!("shards/shard-{}.parquet", index + 1);
        assert_eq!(shard["file"], file.as_str());
        assert_eq!(shard["shard.index"], index.to_string().as_str());
        let sha256 = stance::provenance::sha256_file(&path(&file)).unwrap();
        assert_eq!(shard["sha256"], sha256.as_str());
        assert_eq!(shard["slurm.array_task_id"], (index + 1).to_string().as_str());
    }
    let hosts: Vec<String> = serde_json::from_str(provenance.get("merge.hosts").unwrap()).unwrap();
    assert_eq!(hosts.len(), 1);

    // The analysis commands give the same tables on the merged and the unsharded scores.
    for (command, extra) in [
        ("trend", vec!["--period", "month"]),
        ("shift", vec!["--min-size", "3", "--alpha", "0.99", "--permutations", "99"]),
        ("compare", vec!["--target", "peace talks", "--actors", "A0,A1"]),
    ] {
        for input in ["single", "merged"] {
            let (scores, out) = (format!("{input}.parquet"), format!("{command}-{input}.parquet"));
            let mut args = vec![command, scores.as_str()];
            args.extend(extra.iter().copied());
            args.extend(["--out", out.as_str()]);
            let run = stance(dir.path(), &args);
            assert_eq!(run.code, 0, "{command}: {}", run.stderr);
        }
        let (a, _) = read(&path(&format!("{command}-single.parquet")));
        let (b, _) = read(&path(&format!("{command}-merged.parquet")));
        assert!(a.height() > 0, "{command} found nothing to compare");
        assert!(a.equals_missing(&b), "{command} differs on the merged table");
    }
}

#[test]
fn csv_and_ndjson_shards_merge_into_the_unsharded_file_byte_for_byte() {
    let dir = workdir();
    for ext in ["csv", "ndjson"] {
        score(dir.path(), &format!("single.{ext}"), &[], &[]);
        for index in 0..3 {
            let shard = format!("{index}/3");
            score(dir.path(), &format!("shards/part-{index}.{ext}"), &["--shard", &shard], &[]);
        }
        let files: Vec<String> = (0..3).map(|i| format!("shards/part-{i}.{ext}")).collect();
        let out = format!("merged.{ext}");
        let mut args = vec!["merge"];
        args.extend(files.iter().map(String::as_str));
        args.extend(["--out", &out]);
        let merged = stance(dir.path(), &args);
        assert_eq!(merged.code, 0, "{}", merged.stderr);
        let single = std::fs::read(dir.path().join(format!("single.{ext}"))).unwrap();
        assert!(std::fs::read(dir.path().join(&out)).unwrap() == single, "merged {ext} differs");
        let sidecar = std::fs::read_to_string(dir.path().join(format!("{out}.provenance.json"))).unwrap();
        assert!(sidecar.contains("merge.shards"), "{sidecar}");
    }
}

/// Shards 0, 1 and 3 of 4 in `shards/`, chosen with --shard.
fn three_of_four(dir: &Path) {
    for index in [0, 1, 3] {
        let shard = format!("{index}/4");
        score(dir, &format!("shards/shard-{index}.parquet"), &["--shard", &shard], &[]);
    }
}

#[test]
fn a_missing_shard_is_named_with_the_array_to_resubmit_and_nothing_is_written() {
    let dir = workdir();
    three_of_four(dir.path());
    let merged = stance(dir.path(), &["merge", "shards", "--out", "merged.parquet"]);
    assert_eq!(merged.code, 2, "{}", merged.stderr);
    insta::assert_snapshot!(merged.stderr);
    assert_eq!(common::file_names(dir.path()), ["corpus.csv", "shards"]);

    score(dir.path(), "shards/shard-2.parquet", &["--shard", "2/4"], &[]);
    std::fs::remove_file(dir.path().join("shards/shard-0.parquet")).unwrap();
    std::fs::remove_file(dir.path().join("shards/shard-1.parquet")).unwrap();
    let merged = stance(dir.path(), &["merge", "shards", "--out", "merged.parquet"]);
    assert_eq!(merged.code, 2);
    assert!(
        merged.stderr.contains("shards 0, 1 of 4 are missing from shards (found: 2-3)")
            && merged.stderr.contains("sbatch --array=0-1 "),
        "{}",
        merged.stderr
    );
}

#[test]
fn a_duplicate_shard_is_refused() {
    let dir = workdir();
    three_of_four(dir.path());
    std::fs::copy(dir.path().join("shards/shard-1.parquet"), dir.path().join("shards/shard-1-again.parquet"))
        .unwrap();
    let merged = stance(dir.path(), &["merge", "shards", "--out", "merged.parquet"]);
    assert_eq!(merged.code, 2, "{}", merged.stderr);
    assert_eq!(
        merged.stderr,
        "error: shard 1 of 4 is there twice: shards/shard-1-again.parquet and shards/shard-1.parquet; keep one of them\n"
    );
    assert!(!dir.path().join("merged.parquet").exists());
}

#[test]
fn shards_of_two_configurations_are_refused_naming_the_difference() {
    let dir = workdir();
    score(dir.path(), "shards/a.parquet", &["--shard", "0/2"], &[]);
    score(dir.path(), "shards/b.parquet", &["--shard", "1/2", "--batch-size", "8"], &[]);
    let merged =
        stance(dir.path(), &["merge", "shards/a.parquet", "shards/b.parquet", "--out", "merged.parquet"]);
    assert_eq!(merged.code, 2, "{}", merged.stderr);
    insta::assert_snapshot!(merged.stderr);
    // Shards of another array, and a table that is no shard at all.
    score(dir.path(), "shards/c.parquet", &["--shard", "1/3"], &[]);
    let merged =
        stance(dir.path(), &["merge", "shards/a.parquet", "shards/c.parquet", "--out", "merged.parquet"]);
    assert_eq!(merged.code, 2);
    assert!(
        merged.stderr.contains("shards/c.parquet is shard 1 of 3 but shards/a.parquet is one of 2"),
        "{}",
        merged.stderr
    );
    score(dir.path(), "whole.parquet", &[], &[]);
    let merged =
        stance(dir.path(), &["merge", "shards/a.parquet", "whole.parquet", "--out", "merged.parquet"]);
    assert_eq!(merged.code, 2);
    assert!(merged.stderr.contains("whole.parquet is not a shard"), "{}", merged.stderr);
    assert!(!dir.path().join("merged.parquet").exists());
}

#[test]
fn a_merge_killed_or_failing_while_writing_leaves_no_partial_file() {
    let dir = workdir();
    for index in 0..2 {
        let shard = format!("{index}/2");
        score(dir.path(), &format!("shards/shard-{index}.parquet"), &["--shard", &shard], &[]);
    }
    // A 4 KiB file-size limit: the merged table (tens of KiB) cannot be written. First the
    // write fails (EFBIG), then the process is killed by SIGXFSZ mid-write.
    for trap in ["trap '' XFSZ;", ""] {
        let output = Command::new("bash")
            .current_dir(dir.path())
            .arg("-c")
            .arg(format!("{trap} ulimit -f 4; exec \"$0\" \"$@\""))
            .arg(assert_cmd::cargo::cargo_bin("stance"))
            .args(["merge", "shards", "--out", "merged.parquet"])
            .output()
            .unwrap();
        assert!(!output.status.success(), "the size limit should have stopped the merge");
        if !trap.is_empty() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{stderr}");
            assert!(stderr.starts_with("error: cannot write merged.parquet"), "{stderr}");
            assert!(stderr.contains("File too large (os error 27)"), "{stderr}");
            assert_eq!(common::file_names(dir.path()), ["corpus.csv", "shards"], "no temporary file either");
        }
        assert!(!dir.path().join("merged.parquet").exists());
    }
    let merged = stance(dir.path(), &["merge", "shards", "--out", "merged.parquet"]);
    assert_eq!(merged.code, 0, "{}", merged.stderr);
    assert_eq!(read(&dir.path().join("merged.parquet")).0.height(), 2 * STATEMENTS);
}

#[test]
fn stepped_arrays_are_refused_and_no_shard_overrides() {
    let dir = workdir();
    let model = bert();
    let args =
        ["score", "corpus.csv", "--target", "talks", "--model", &model, "--no-cache", "--out", "s.parquet"];
    let stepped = [
        ("SLURM_ARRAY_TASK_ID", "2"),
        ("SLURM_ARRAY_TASK_MIN", "0"),
        ("SLURM_ARRAY_TASK_MAX", "6"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
        ("SLURM_ARRAY_TASK_STEP", "2"),
    ];
    let refused = stance_env(dir.path(), &args, &stepped);
    assert_eq!(refused.code, 2);
    insta::assert_snapshot!(refused.stderr);
    let mut all = args.to_vec();
    all.push("--no-shard");
    let whole = stance_env(dir.path(), &all, &stepped);
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let (frame, provenance) = read(&dir.path().join("s.parquet"));
    assert_eq!(frame.height(), STATEMENTS);
    assert!(provenance.get("shard.index").is_none() && frame.column("corpus_row").is_err());

    let usage = stance(
        dir.path(),
        &["score", "corpus.csv", "--target", "talks", "--model", &model, "--shard", "4/4"],
    );
    assert_eq!(usage.code, 1);
    assert!(usage.stderr.contains("`4/4` is not a shard: expected K/N"), "{}", usage.stderr);
}

#[test]
fn a_shard_resumes_only_its_own_parts() {
    let dir = workdir();
    // Parts of shard 0/2 left by a run killed during its final write (file-size limit).
    let model = bert();
    let args = [
        "score",
        "corpus.csv",
        "--target",
        "talks",
        "--model",
        &model,
        "--no-cache",
        "--part-size",
        "8",
        "--shard",
        "0/2",
        "--out",
        "shard.parquet",
    ];
    let killed = Command::new("bash")
        .current_dir(dir.path())
        .arg("-c")
        .arg("ulimit -f 4; exec \"$0\" \"$@\"")
        .arg(assert_cmd::cargo::cargo_bin("stance"))
        .args(args)
        .output()
        .unwrap();
    assert!(!killed.status.success());
    assert!(PathBuf::from(dir.path()).join("shard.parquet.parts/manifest.json").exists());
    let mut other = args.to_vec();
    other[10] = "1/2";
    other.push("--resume");
    let refused = stance(dir.path(), &other);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("shard.index: 0 (saved) ≠ 1 (now)"), "{}", refused.stderr);
    let mut same = args.to_vec();
    same.push("--resume");
    let resumed = stance(dir.path(), &same);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(resumed.stderr.contains("resuming: "), "{}", resumed.stderr);
}

#[test]
fn shards_without_statements_merge_too() {
    // 3 statements in 6 shards: most shards are empty (an empty NDJSON file has no columns).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("corpus.csv"),
        "id,actor,date,text\na,K,2025-01-01,We support talks.\nb,K,2025-01-02,No talks ever.\nc,W,2025-01-03,Sanctions now.\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("shards")).unwrap();
    score(dir.path(), "single.ndjson", &[], &[]);
    let mut empty = 0;
    for index in 0..6 {
        let (shard, out) = (format!("{index}/6"), format!("shards/{index}.ndjson"));
        score(dir.path(), &out, &["--shard", &shard], &[]);
        empty += usize::from(std::fs::metadata(dir.path().join(&out)).unwrap().len() == 0);
    }
    assert!(empty >= 3, "{empty} empty shards");
    let merged = stance(dir.path(), &["merge", "shards", "--out", "merged.ndjson"]);
    assert_eq!(merged.code, 0, "{}", merged.stderr);
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    assert!(read("merged.ndjson") == read("single.ndjson"), "merged NDJSON differs");
}
