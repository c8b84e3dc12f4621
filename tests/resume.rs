//! Long runs that survive faults: a real `stance score` killed (SIGKILL, Ctrl-C, a failing
//! disk) at several points and resumed writes the same table as an uninterrupted run, value
//! for value; the score cache makes a second run do no model forward passes and a grown
//! corpus score only what is new, never mixes models, templates or lengths, and recomputes
//! damaged entries; an unwritable output and a truncated model fail clearly and early.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use polars::prelude::*;
use stance::provenance::Provenance;

/// Statements of the kill tests: 15 parts of 40, each taking a fraction of a second.
const STATEMENTS: usize = 600;
const PART_SIZE: &str = "40";

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("stance")
}

fn bert() -> String {
    common::fixture_model_dir("bert").display().to_string()
}

/// A deterministic corpus of `n` statements; every ninth repeats an earlier one, so later
/// parts meet statements that earlier parts scored.
fn corpus(n: usize, seed: u64) -> String {
    const WORDS: [&str; 20] = [
        "peace",
        "talks",
        "sanctions",
        "war",
        "we",
        "support",
        "oppose",
        "negotiations",
        "Russia",
        "Ukraine",
        "table",
        "open",
        "never",
        "always",
        "the",
        "a",
        "is",
        "are",
        "will",
        "must",
    ];
    let mut state = seed;
    let mut next = move |bound: usize| {
        // A small LCG keeps the corpus reproducible without a dependency.
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as usize % bound
    };
    let mut texts: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let text = if i % 9 == 8 {
            texts[i / 3].clone()
        } else {
            (0..4 + next(27)).map(|_| WORDS[next(WORDS.len())]).collect::<Vec<_>>().join(" ")
        };
        texts.push(text);
    }
    let mut csv = String::from("id,actor,date,text\n");
    for (i, text) in texts.iter().enumerate() {
        csv.push_str(&format!("s{i},A{},2025-01-{:02},{text}\n", i % 3, 1 + i % 28));
    }
    csv
}

struct Output {
    code: i32,
    stderr: String,
}

fn command(dir: &Path, args: &[String]) -> Command {
    let mut command = Command::new(binary());
    command
        .current_dir(dir)
        .env("HF_HUB_CACHE", dir.join("hub-cache"))
        .env_remove("STANCE_CACHE_DIR")
        .env_remove("RUST_LOG")
        .args(args);
    command
}

fn finish(output: std::process::Output, dir: &Path) -> Output {
    let stderr = String::from_utf8_lossy(&output.stderr)
        .replace(&dir.display().to_string(), "[TMP]")
        .replace(&common::repo().display().to_string(), "[REPO]");
    Output { code: output.status.code().unwrap_or(-1), stderr }
}

fn stance(dir: &Path, args: &[String]) -> Output {
    finish(command(dir, args).output().unwrap(), dir)
}

/// Runs `stance` under a file-size limit of 6 KiB: parts and manifest fit, the final table
/// does not. `signal` says what the limit does: kill (SIGXFSZ) or fail the write (EFBIG).
fn stance_with_small_disk(dir: &Path, args: &[String], kill: bool) -> Output {
    let trap = if kill { "" } else { "trap '' XFSZ;" };
    let output = Command::new("bash")
        .current_dir(dir)
        .env("HF_HUB_CACHE", dir.join("hub-cache"))
        .env_remove("STANCE_CACHE_DIR")
        .arg("-c")
        .arg(format!("{trap} ulimit -f 12; exec \"$0\" \"$@\""))
        .arg(binary())
        .args(args)
        .output()
        .unwrap();
    finish(output, dir)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// `stance score corpus.csv` toward two targets with the tiny BERT, in parts of 40, two
/// sequences per forward pass (so a run lasts long enough to be killed mid-way).
fn score_args(cache: Option<&str>, extra: &[&str]) -> Vec<String> {
    let model = bert();
    let mut args = strings(&[
        "score",
        "corpus.csv",
        "--target",
        "peace talks",
        "--target",
        "sanctions",
        "--model",
        &model,
        "--part-size",
        PART_SIZE,
        "--batch-size",
        "2",
        "--out",
        "scores.parquet",
    ]);
    match cache {
        Some(dir) => args.extend(strings(&["--cache-dir", dir])),
        None => args.push("--no-cache".into()),
    }
    args.extend(strings(extra));
    args
}

fn read(path: &Path) -> (DataFrame, Provenance) {
    stance::corpus::read_table(path).unwrap()
}

fn workdir(corpus_text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("corpus.csv"), corpus_text).unwrap();
    dir
}

/// The uninterrupted run's table (fresh cache), computed once for all kill tests.
fn reference() -> &'static DataFrame {
    static REFERENCE: OnceLock<DataFrame> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let dir = workdir(&corpus(STATEMENTS, 7));
        let out = stance(dir.path(), &score_args(Some("cache"), &[]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let (frame, _) = read(&dir.path().join("scores.parquet"));
        assert_eq!(frame.height(), STATEMENTS * 2);
        frame
    })
}

fn assert_same_table(dir: &Path) {
    let (frame, _) = read(&dir.join("scores.parquet"));
    assert!(frame.equals_missing(reference()), "the resumed table differs from the uninterrupted one");
    assert!(
        !dir.join("scores.parquet.parts").exists(),
        "the run folder is removed once the table is written"
    );
    let leftovers: Vec<String> =
        common::file_names(dir).into_iter().filter(|name| name.ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// Waits until `path` exists; false when the child finished first.
fn wait_for(path: &Path, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

fn part(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("scores.parquet.parts/part-{index:05}.parquet"))
}

#[test]
fn sigkill_after_the_first_part_and_mid_way_then_resume_gives_the_same_table() {
    // Without a cache, later parts reuse the scores of statements seen in earlier parts
    // from the saved parts alone.
    for (kill_after, cache, damage_cache) in
        [(0, Some("cache"), false), (7, Some("cache"), true), (5, None, false)]
    {
        let dir = workdir(&corpus(STATEMENTS, 7));
        let args = score_args(cache, &[]);
        let mut child =
            command(dir.path(), &args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        assert!(
            wait_for(&part(dir.path(), kill_after), &mut child),
            "the run ended before it could be killed"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!dir.path().join("scores.parquet").exists());

        if damage_cache {
            // Torn cache appends: resuming must not depend on what the cache kept.
            for shard in std::fs::read_dir(dir.path().join("cache/v1")).unwrap() {
                let path = shard.unwrap().path();
                let len = std::fs::metadata(&path).unwrap().len();
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .set_len(len.saturating_sub(10))
                    .unwrap();
            }
        }
        let again = stance(dir.path(), &args);
        assert_eq!(again.code, 2, "{}", again.stderr);
        assert!(again.stderr.contains("add --resume to continue it"), "{}", again.stderr);

        let resumed = stance(dir.path(), &score_args(cache, &["--resume"]));
        assert_eq!(resumed.code, 0, "{}", resumed.stderr);
        assert!(resumed.stderr.contains("resuming: "), "{}", resumed.stderr);
        assert_same_table(dir.path());
        if let Some(cache) = cache {
            // The resumed run added what the killed one could not, and nothing twice.
            let stats = cache_stats(&dir.path().join(cache));
            let entries = stats.split_whitespace().nth(1).unwrap();
            assert!(stats.contains(&format!("entries: {entries} ({entries} records")), "{stats}");
        }
    }
}

#[test]
fn sigkill_during_the_final_write_leaves_no_table_and_resume_writes_it() {
    let dir = workdir(&corpus(STATEMENTS, 7));
    let killed = stance_with_small_disk(dir.path(), &score_args(None, &[]), true);
    assert_ne!(killed.code, 0, "the size limit should have killed the final write");
    assert!(!dir.path().join("scores.parquet").exists());
    assert!(part(dir.path(), 14).exists(), "every part was saved before the final write");
    let resumed = stance(dir.path(), &score_args(None, &["--resume"]));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(resumed.stderr.contains("resuming: 15 of 15 parts"), "{}", resumed.stderr);
    assert_same_table(dir.path());
}

#[test]
fn a_full_disk_fails_clearly_keeps_the_parts_and_resume_finishes() {
    let dir = workdir(&corpus(STATEMENTS, 7));
    let failed = stance_with_small_disk(dir.path(), &score_args(None, &[]), false);
    assert_eq!(failed.code, 2, "{}", failed.stderr);
    assert!(
        failed.stderr.starts_with(
            "error: scoring stopped with 15 of 15 parts saved in scores.parquet.parts: fix the cause below, \
             then run the same command with --resume to continue"
        ) && failed.stderr.contains("File too large"),
        "{}",
        failed.stderr
    );
    assert!(!dir.path().join("scores.parquet").exists(), "no partial table under the real name");
    let resumed = stance(dir.path(), &score_args(None, &["--resume"]));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_same_table(dir.path());
}

#[test]
fn ctrl_c_stops_after_the_current_batch_and_says_how_to_resume() {
    let dir = workdir(&corpus(STATEMENTS, 7));
    let args = score_args(Some("cache"), &[]);
    let mut child = command(dir.path(), &args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    assert!(wait_for(&part(dir.path(), 2), &mut child), "the run ended before Ctrl-C");
    // SAFETY: signalling a child process this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let output = finish(child.wait_with_output().unwrap(), dir.path());
    assert_eq!(output.code, 130, "{}", output.stderr);
    assert!(output.stderr.contains("stopping after the current batch"), "{}", output.stderr);
    let last = output.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("interrupted: ")
            && last.ends_with(
                "of 15 parts are saved in scores.parquet.parts; run the same command with --resume to continue"
            ),
        "{}",
        output.stderr
    );
    assert!(!dir.path().join("scores.parquet").exists());
    let resumed = stance(dir.path(), &score_args(Some("cache"), &["--resume"]));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_same_table(dir.path());
}

#[test]
fn resume_refuses_another_model_template_input_or_batch_size() {
    let dir = workdir(&corpus(120, 11));
    let small = |extra: &[&str]| {
        let mut args = score_args(None, extra);
        let at = args.iter().position(|a| a == "--batch-size").unwrap();
        args[at + 1] = "32".into();
        args
    };
    let saved = stance_with_small_disk(dir.path(), &small(&[]), false);
    assert_eq!(saved.code, 2, "{}", saved.stderr);

    let distilbert = common::fixture_model_dir("distilbert").display().to_string();
    std::fs::write(
        dir.path().join("targets.toml"),
        "[[target]]\nname = \"peace talks\"\nagainst = \"The author of this text rejects peace talks.\"\n\n\
         [[target]]\nname = \"sanctions\"\n",
    )
    .unwrap();
    let mut transcript = String::new();
    let mut check = |label: &str, args: Vec<String>| {
        let out = stance(dir.path(), &args);
        assert_eq!(out.code, 2, "{label}: {}", out.stderr);
        transcript.push_str(&format!("$ {label}\n{}\n", out.stderr));
    };
    check("same command without --resume", small(&[]));
    let mut other_model = small(&["--resume"]);
    let at = other_model.iter().position(|a| a == "--model").unwrap();
    other_model[at + 1] = distilbert;
    check("--resume with another model", other_model);
    let mut other_template = small(&["--resume"]);
    let at = other_template.iter().position(|a| a == "--target").unwrap();
    other_template.splice(at..at + 4, strings(&["--targets", "targets.toml"]));
    check("--resume with another template", other_template);
    check("--resume --batch-size 8", {
        let mut args = small(&["--resume"]);
        let at = args.iter().position(|a| a == "--batch-size").unwrap();
        args[at + 1] = "8".into();
        args
    });
    std::fs::write(dir.path().join("corpus.csv"), corpus(121, 11)).unwrap();
    check("--resume with a grown corpus", small(&["--resume"]));
    insta::assert_snapshot!(transcript);

    let restarted = stance(dir.path(), &small(&["--restart"]));
    assert_eq!(restarted.code, 0, "{}", restarted.stderr);
    assert!(restarted.stderr.contains("discarded the earlier run's parts"), "{}", restarted.stderr);
    assert_eq!(read(&dir.path().join("scores.parquet")).0.height(), 242);
}

/// What `stance cache stats` prints from its second line on.
fn cache_stats(cache: &Path) -> String {
    let output = Command::new(binary()).args(["cache", "stats", "--cache-dir"]).arg(cache).output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap().lines().skip(1).collect::<Vec<_>>().join("\n")
}

/// Provenance counters of a scores table.
fn counter(provenance: &Provenance, key: &str) -> usize {
    provenance.get(key).unwrap_or_else(|| panic!("no {key} in provenance")).parse().unwrap()
}

fn cached_run(dir: &Path, extra: &[&str]) -> (DataFrame, Provenance, String) {
    let model = bert();
    let mut args = strings(&[
        "score",
        "corpus.csv",
        "--target",
        "peace talks",
        "--target",
        "sanctions",
        "--model",
        &model,
        "--cache-dir",
        "cache",
        "--out",
        "scores.parquet",
    ]);
    args.extend(strings(extra));
    let out = stance(dir, &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (frame, provenance) = read(&dir.join("scores.parquet"));
    (frame, provenance, out.stderr)
}

#[test]
fn the_cache_makes_a_second_run_do_no_forward_passes_and_a_grown_corpus_score_only_what_is_new() {
    let base = corpus(200, 3);
    let dir = workdir(&base);
    let (first, provenance, _) = cached_run(dir.path(), &[]);
    assert!(counter(&provenance, "forward_passes") > 0);
    let (second, provenance, stderr) = cached_run(dir.path(), &[]);
    assert_eq!(counter(&provenance, "forward_passes"), 0, "{stderr}");
    assert_eq!(counter(&provenance, "sequences"), 0);
    assert_eq!(counter(&provenance, "cache.hits"), 400);
    assert!(second.equals_missing(&first));

    // 1% more statements, inserted in the middle: only their 2 × 2 pairs run, in one batch
    // of 2 statements × 2 targets × 3 hypotheses.
    let mut lines: Vec<&str> = base.lines().collect();
    lines.insert(101, "n1,A0,2025-02-01,Kyiv calls for a ceasefire before any talks");
    lines.insert(150, "n2,A1,2025-02-02,New sanctions will follow every attack");
    std::fs::write(dir.path().join("corpus.csv"), lines.join("\n") + "\n").unwrap();
    let (grown, provenance, _) = cached_run(dir.path(), &[]);
    assert_eq!(counter(&provenance, "cache.hits"), 400);
    assert_eq!(counter(&provenance, "sequences"), 12);
    assert_eq!(counter(&provenance, "forward_passes"), 1);
    assert_eq!(grown.height(), 404);
    let ids = grown.column("id").unwrap().str().unwrap();
    let old: BooleanChunked = ids.iter().map(|id| !id.unwrap().starts_with('n')).collect();
    let old_rows = grown.filter(&old).unwrap();
    assert!(old_rows.equals_missing(&first), "cached scores are the first run's");

    let stats = cache_stats(&dir.path().join("cache"));
    let texts: std::collections::HashSet<&str> =
        lines[1..].iter().map(|l| l.splitn(4, ',').nth(3).unwrap()).collect();
    let entries = 2 * texts.len();
    assert!(stats.contains(&format!("entries: {entries} ({entries} records, 0 damaged)")), "{stats}");
    let clear = Command::new(binary())
        .args(["cache", "clear", "--cache-dir"])
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(String::from_utf8(clear.stdout).unwrap().starts_with(&format!("removed {entries} entries")));
    let (_, provenance, _) = cached_run(dir.path(), &[]);
    assert_eq!(counter(&provenance, "cache.hits"), 0, "a cleared cache holds nothing");
}

#[test]
fn the_cache_never_returns_scores_of_another_model_template_length_or_method() {
    let dir = workdir(&corpus(100, 5));
    let (_, provenance, _) = cached_run(dir.path(), &[]);
    assert_eq!(counter(&provenance, "cache.hits"), 0);
    let distilbert = common::fixture_model_dir("distilbert").display().to_string();
    std::fs::write(
        dir.path().join("targets.toml"),
        "[[target]]\nname = \"peace talks\"\nagainst = \"The author of this text rejects peace talks.\"\n\n\
         [[target]]\nname = \"sanctions\"\n",
    )
    .unwrap();
    for (change, args, hits) in [
        ("another model", vec!["--model", distilbert.as_str()], 0),
        ("a shorter max length", vec!["--max-length", "24"], 0),
        ("per-hypothesis NLI", vec!["--per-hypothesis"], 0),
        ("the embedding method", vec!["--method", "embedding"], 0),
        ("windows for long texts", vec!["--long", "window", "--max-length", "24"], 0),
        // Only the target whose template changed is scored again.
        ("another template for one target", vec!["--targets", "targets.toml"], 100),
    ] {
        let model = bert();
        let mut full = strings(&["score", "corpus.csv", "--cache-dir", "cache", "--out", "other.parquet"]);
        if !args.contains(&"--targets") {
            full.extend(strings(&["--target", "peace talks", "--target", "sanctions"]));
        }
        if !args.contains(&"--model") {
            full.extend(strings(&["--model", &model]));
        }
        full.extend(strings(&args));
        let out = stance(dir.path(), &full);
        assert_eq!(out.code, 0, "{change}: {}", out.stderr);
        let (_, provenance) = read(&dir.path().join("other.parquet"));
        assert_eq!(counter(&provenance, "cache.hits"), hits, "{change}");
    }
}

#[test]
fn damaged_cache_records_are_detected_and_scored_again() {
    let dir = workdir(&corpus(100, 9));
    let (first, _, _) = cached_run(dir.path(), &[]);
    // Flip one bit in the first record of every shard.
    let mut damaged = 0;
    for shard in std::fs::read_dir(dir.path().join("cache/v1")).unwrap() {
        let path = shard.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[40] ^= 0x01;
        std::fs::write(&path, bytes).unwrap();
        damaged += 1;
    }
    let (second, provenance, stderr) = cached_run(dir.path(), &[]);
    assert!(stderr.contains(&format!("skipped {damaged} damaged score cache record(s)")), "{stderr}");
    assert!(counter(&provenance, "forward_passes") > 0);
    // Each damaged record is one statement × target, which may occur in more than one row.
    let hits = counter(&provenance, "cache.hits");
    assert!(hits < 200 - damaged + 1 && hits + 2 * damaged >= 200, "{hits} hits, {damaged} damaged");
    // Recomputed in other batches: equal to fp32 rounding.
    for column in ["p_favor", "p_against", "p_none"] {
        let a = first.column(column).unwrap().f64().unwrap();
        let b = second.column(column).unwrap().f64().unwrap();
        let worst = a.iter().zip(b.iter()).map(|(x, y)| (x.unwrap() - y.unwrap()).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-5, "{column} differs by {worst}");
    }
    // The recomputed entries were appended: a third run needs the model no more.
    let (_, provenance, _) = cached_run(dir.path(), &[]);
    assert_eq!(counter(&provenance, "forward_passes"), 0);
}

#[test]
fn an_unwritable_output_fails_before_any_work() {
    let dir = workdir(&corpus(20, 1));
    let with_out = |out: &str| {
        let mut args = score_args(None, &[]);
        let at = args.iter().position(|a| a == "--out").unwrap();
        args[at + 1] = out.into();
        // A model that does not exist: the output is checked before the model is looked at.
        let at = args.iter().position(|a| a == "--model").unwrap();
        args[at + 1] = "no-such-model".into();
        stance(dir.path(), &args)
    };
    // sysfs takes no new files, even from root (the OS error varies: denied or read-only).
    let failed = with_out("/sys/scores.parquet");
    assert_eq!(failed.code, 2);
    assert!(
        failed.stderr.starts_with("error: cannot write /sys/scores.parquet\n  caused by: "),
        "{}",
        failed.stderr
    );
    assert_eq!(failed.stderr.lines().count(), 2, "{}", failed.stderr);
    let failed = with_out("missing/scores.parquet");
    assert_eq!(failed.code, 2);
    assert_eq!(failed.stderr, "error: cannot write missing/scores.parquet: folder missing does not exist\n");
}

#[test]
fn a_truncated_model_file_is_named() {
    let dir = workdir(&corpus(20, 1));
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    for file in std::fs::read_dir(common::fixture_model_dir("bert")).unwrap() {
        let file = file.unwrap();
        std::fs::copy(file.path(), model.join(file.file_name())).unwrap();
    }
    let weights = model.join("model.safetensors");
    std::fs::OpenOptions::new().write(true).open(&weights).unwrap().set_len(50_000).unwrap();
    let mut args = score_args(None, &[]);
    let at = args.iter().position(|a| a == "--model").unwrap();
    args[at + 1] = "model".into();
    let failed = stance(dir.path(), &args);
    assert_eq!(failed.code, 2);
    assert_eq!(
        failed.stderr,
        "error: model/model.safetensors is truncated: it should have at least 169820 bytes but has 50000; \
         download or copy it again\n"
    );
}

/// A pid no process has: one that just exited.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// Every kill point of the final cleanup leaves a state that the next run gets past: the
/// complete folder (resumed at once), the folder renamed for removal and half deleted (debris
/// the next run removes), and, from older versions, a folder whose manifest went first.
#[test]
fn a_kill_during_the_cleanup_never_leaves_a_stuck_run() {
    let dir = workdir(&corpus(STATEMENTS, 7));
    let killed = stance_with_small_disk(dir.path(), &score_args(None, &[]), true);
    assert_ne!(killed.code, 0, "the size limit should have killed the final write");
    let parts = dir.path().join("scores.parquet.parts");
    assert!(parts.join("manifest.json").exists());

    // Renamed for removal, then killed half way through deleting it.
    let trash = dir.path().join(format!(".scores.parquet.parts.removing.{}", dead_pid()));
    std::fs::rename(&parts, &trash).unwrap();
    std::fs::remove_file(trash.join("manifest.json")).unwrap();
    let rerun = stance(dir.path(), &score_args(None, &[]));
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert!(!trash.exists(), "the debris of the killed cleanup is removed");
    assert_same_table(dir.path());

    // Manifest deleted first, parts left: what `remove_dir_all` killed mid-way left before.
    std::fs::remove_file(dir.path().join("scores.parquet")).unwrap();
    let killed = stance_with_small_disk(dir.path(), &score_args(None, &[]), true);
    assert_ne!(killed.code, 0);
    std::fs::remove_file(parts.join("manifest.json")).unwrap();
    for extra in [&[][..], &["--resume"][..]] {
        let _ = std::fs::remove_file(dir.path().join("scores.parquet"));
        if !parts.exists() {
            std::fs::create_dir(&parts).unwrap();
            std::fs::write(parts.join("part-00000.parquet"), b"left over").unwrap();
        }
        let rerun = stance(dir.path(), &score_args(None, extra));
        assert_eq!(rerun.code, 0, "{extra:?}: {}", rerun.stderr);
        assert!(rerun.stderr.contains("a run folder without its manifest"), "{}", rerun.stderr);
        assert_same_table(dir.path());
    }
}

#[test]
fn a_live_run_is_reported_as_busy_with_its_pid_not_as_interrupted() {
    let dir = workdir(&corpus(STATEMENTS, 7));
    let args = score_args(None, &[]);
    let mut child = command(dir.path(), &args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    assert!(wait_for(&part(dir.path(), 0), &mut child), "the run ended before the second one started");
    for extra in [&[][..], &["--resume"][..]] {
        let second = stance(dir.path(), &score_args(None, extra));
        let still_running = child.try_wait().unwrap().is_none();
        if still_running {
            assert_eq!(second.code, 2, "{}", second.stderr);
            let expected = format!("another stance process (pid {}) is writing", child.id());
            assert!(second.stderr.contains(&expected), "{}", second.stderr);
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
