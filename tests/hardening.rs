//! Regressions of the adversarial audit (issue 15): damaged models and degenerate options end in
//! a clear error (exit 2), never in a table of made-up scores or a panic.

mod common;

use std::path::Path;

use common::stance;

/// A copy of the fixture model `name` in `dir/model`, with every value of `tensor` replaced.
fn model_with(dir: &Path, name: &str, tensor: &str, value: f32) -> String {
    let source = common::fixture_model_dir(name);
    let target = dir.join("model");
    std::fs::create_dir_all(&target).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), target.join(entry.file_name())).unwrap();
    }
    let path = target.join("model.safetensors");
    let mut bytes = std::fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    let offsets = &header[tensor]["data_offsets"];
    let (start, end) = (offsets[0].as_u64().unwrap() as usize, offsets[1].as_u64().unwrap() as usize);
    let data = 8 + header_len;
    for chunk in bytes[data + start..data + end].chunks_mut(4) {
        chunk.copy_from_slice(&value.to_le_bytes());
    }
    std::fs::write(&path, bytes).unwrap();
    target.display().to_string()
}

const CORPUS: &str =
    "id,actor,date,text\ns1,Kremlin,2025-03-04,Russia is always open to peace negotiations.\n";

#[test]
fn a_nan_weight_is_an_error_naming_the_statement_not_a_favor_label() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("corpus.csv"), CORPUS).unwrap();
    let model = model_with(dir.path(), "bert", "classifier.bias", f32::NAN);
    let run = stance(
        dir.path(),
        &["score", "corpus.csv", "--target", "peace", "--model", &model, "--no-cache", "--out", "scores.csv"],
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr.contains("Russia is always open to peace negotiations.") && run.stderr.contains("`peace`"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("scores.csv").exists());
    // Nothing was saved to resume from: no run folder is left to make the next run ask for --restart.
    assert!(!dir.path().join("scores.csv.parts").exists());
}

#[test]
fn a_degenerate_temperature_is_refused_before_scoring() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("corpus.csv"), CORPUS).unwrap();
    let model = common::fixture_model_dir("bert-embedding");
    for temperature in ["1e-45", "0", "-1", "NaN"] {
        let run = stance(
            dir.path(),
            &[
                "score",
                "corpus.csv",
                "--target",
                "peace",
                "--model",
                model.to_str().unwrap(),
                "--method",
                "embedding",
                &format!("--temperature={temperature}"),
                "--no-cache",
            ],
        );
        assert_eq!(run.code, 2, "{temperature}: {}", run.transcript());
        assert!(run.stderr.contains("--temperature must be a number of at least 0.001"), "{}", run.stderr);
    }
}

#[test]
fn impossible_config_sizes_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("corpus.csv"), CORPUS).unwrap();
    let model = model_with(dir.path(), "bert", "classifier.bias", 0.0);
    let config_path = Path::new(&model).join("config.json");
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    for (key, value, message) in [
        ("num_attention_heads", serde_json::json!(0), "`num_attention_heads` is 0"),
        ("hidden_size", serde_json::json!(1u64 << 40), "`hidden_size` is 1099511627776"),
        ("num_attention_heads", serde_json::json!(5), "not a multiple of `num_attention_heads` 5"),
        ("num_hidden_layers", serde_json::json!(-2), "`num_hidden_layers` is -2"),
    ] {
        let mut config = original.clone();
        config[key] = value;
        std::fs::write(&config_path, config.to_string()).unwrap();
        let run = stance(
            dir.path(),
            &["score", "corpus.csv", "--target", "peace", "--model", &model, "--no-cache"],
        );
        assert_eq!(run.code, 2, "{key}: {}", run.transcript());
        assert!(run.stderr.contains(message), "{key}: {}", run.stderr);
    }
}

#[test]
fn thread_counts_beyond_any_machine_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("corpus.csv"), CORPUS).unwrap();
    let model = common::fixture_model_dir("bert");
    for threads in ["100000", "0"] {
        let run = stance(
            dir.path(),
            &[
                "score",
                "corpus.csv",
                "--target",
                "peace",
                "--model",
                model.to_str().unwrap(),
                "--threads",
                threads,
            ],
        );
        assert_eq!(run.code, 1, "{}", run.transcript());
        assert!(run.stderr.contains("expected a whole number from 1 to 1024"), "{}", run.stderr);
    }
}

/// Tables from other tools with column types this build of polars does not read: named, exit 2.
#[test]
fn unreadable_parquet_types_name_their_column() {
    let tables = common::repo().join("tests/fixtures/tables");
    for (file, column, dtype) in [
        ("score-float16.parquet", "score", "Float16"),
        ("score-decimal.parquet", "score", "Decimal(5, 2)"),
        ("extra-decimal.parquet", "amount", "Decimal(5, 2)"),
    ] {
        let path = tables.join(file);
        for command in ["trend", "show"] {
            let run = stance(&tables, &[command, path.to_str().unwrap()]);
            assert_eq!(run.code, 2, "{file}: {}", run.transcript());
            let expected = format!("column {column:?} has Parquet type {dtype}");
            assert!(run.stderr.contains(&expected), "{file}: {}", run.stderr);
        }
    }
}

/// pandas writes downcast integers (and category codes) as Int8, Int16, UInt8, UInt16.
#[test]
fn small_integer_scores_are_analysed() {
    let tables = common::repo().join("tests/fixtures/tables");
    for file in ["score-int8.parquet", "score-uint16.parquet"] {
        let path = tables.join(file);
        for command in ["trend", "show"] {
            let run = stance(&tables, &[command, path.to_str().unwrap()]);
            assert_eq!(run.code, 0, "{file}: {}", run.transcript());
        }
    }
}

/// A corpus's extra columns of the types pandas writes (small integers, a timestamp in a
/// named zone) pass through to every format; bytes pass through to Parquet, and a format
/// that cannot hold them is refused before the model loads, not by a panic after scoring.
#[test]
fn pandas_column_types_pass_through_or_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let tables = common::repo().join("tests/fixtures/tables");
    let model = common::fixture_model_dir("bert");
    let score = |corpus: &str, out: &str| {
        let corpus = tables.join(corpus);
        let args = ["score", corpus.to_str().unwrap(), "--target", "peace", "--model"];
        stance(
            dir.path(),
            &[&args[..], &[model.to_str().unwrap(), "--no-cache", "-q", "--out", out]].concat(),
        )
    };
    for out in ["scores.ndjson", "scores.csv", "scores.parquet"] {
        let run = score("corpus-pandas-types.parquet", out);
        assert_eq!(run.code, 0, "{out}: {}", run.transcript());
        let shown = stance(dir.path(), &["show", out]);
        assert_eq!(shown.code, 0, "{out}: {}", shown.transcript());
        for value in ["200", "2025"] {
            assert!(shown.stdout.contains(value), "{out}: {}", shown.stdout);
        }
    }
    let ndjson = std::fs::read_to_string(dir.path().join("scores.ndjson")).unwrap();
    assert!(
        ndjson.contains("\"scraped_at\":\"2025-03-04 10:00:00 CET\"")
            || ndjson.contains("\"scraped_at\":\"2025-03-04T10:00:00+01:00\""),
        "{ndjson}"
    );

    let run = score("corpus-bytes.parquet", "bytes.parquet");
    assert_eq!(run.code, 0, "{}", run.transcript());
    for (out, format, instead) in
        [("bytes.ndjson", "NDJSON", ".parquet"), ("bytes.csv", "CSV", ".parquet or .ndjson")]
    {
        let run = score("corpus-bytes.parquet", out);
        assert_eq!(run.code, 2, "{out}: {}", run.transcript());
        let expected = format!("{format} cannot hold column \"raw\" of type binary; write {instead} instead");
        assert!(run.stderr.contains(&expected), "{out}: {}", run.stderr);
        assert!(!run.stderr.contains("--resume"), "{out}: {}", run.stderr);
        assert!(!dir.path().join(out).exists() && !dir.path().join(format!("{out}.parts")).exists());
    }
}

/// Every single flipped byte of a Parquet table gives a table or an error, never a panic (polars
/// asserts on damaged pages and footers; the reader turns those into errors naming the file).
#[test]
fn damaged_parquet_files_are_errors_not_panics() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let n = 60;
    let days: Vec<i32> = (0..n).map(|i| 20_000 + i).collect();
    let mut frame = df!(
        "actor" => vec!["A"; n as usize],
        "target" => vec!["t"; n as usize],
        "score" => (0..n).map(|i| f64::from(i % 7 - 3) / 3.0).collect::<Vec<_>>(),
    )
    .unwrap();
    frame.with_column(Int32Chunked::from_vec("date".into(), days).into_date().into_column()).unwrap();
    let good = dir.path().join("good.parquet");
    stance::output::write_table(&mut frame, &good, &Default::default()).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let bad = dir.path().join("bad.parquet");
    let mut damaged = 0;
    for position in 4..bytes.len() - 4 {
        let mut copy = bytes.clone();
        copy[position] ^= 0x5a;
        std::fs::write(&bad, &copy).unwrap();
        let read = std::panic::catch_unwind(|| stance::corpus::read_table(&bad).map(|_| ()));
        match read {
            Ok(Ok(())) => {}
            Ok(Err(_)) => damaged += 1,
            Err(_) => panic!("byte {position}: reading panicked"),
        }
    }
    assert!(damaged > 0);
}

/// Truncation tokenizes only a prefix of a long statement (memory no longer grows with it),
/// and the prefix scores exactly what the whole text does.
#[test]
fn truncating_a_huge_statement_scores_what_its_beginning_does() {
    use stance::progress::Silent;
    use stance::score::{score_texts, LongText, ScoreOptions};
    let model = common::fixture_model("bert");
    let targets = common::single_target(
        "peace",
        ["Supports peace.".to_owned(), "Opposes peace.".to_owned(), "Neutral on peace.".to_owned()],
    );
    let sentence = "Russia is always open to peace negotiations with all parties concerned. ";
    let huge = sentence.repeat(200_000);
    let beginning: String = huge.chars().take(20_000).collect();
    let options = ScoreOptions { long: LongText::Truncate, ..ScoreOptions::default() };
    let run = |text: &str| score_texts(&[text], &targets, &model, &options, &Silent).unwrap().scores;
    let (whole, prefix) = (run(&huge), run(&beginning));
    assert_eq!(whole, prefix);
    assert!(whole[0].truncated);
}

/// Runs `stance args` in `dir` while a thread writes `content` once into the FIFO `dir/name`,
/// and returns the exit code. A run that opens its input a second time (to hash it) would
/// wait for a writer forever: it is killed after a minute and the test fails.
#[cfg(unix)]
fn run_on_fifo(dir: &Path, name: &str, content: &'static str, args: &[&str]) -> i32 {
    use std::time::{Duration, Instant};
    let fifo = dir.join(name);
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let writer = std::thread::spawn(move || std::fs::write(fifo, content).unwrap());
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("stance"))
        .current_dir(dir)
        .env("HF_HUB_CACHE", dir.join("hub-cache"))
        .env("STANCE_CACHE_DIR", dir.join("score-cache"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("stance {args:?} still running after a minute on a FIFO input");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    writer.join().unwrap();
    status.code().unwrap_or(-1)
}

/// The SHA-256 a CSV output's provenance sidecar records for input `role`.
fn recorded_sha256(sidecar: &Path, role: &str) -> String {
    let provenance: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sidecar).unwrap()).unwrap();
    provenance[format!("input.{role}.sha256")].as_str().unwrap_or_default().to_owned()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(unix)]
#[test]
fn inputs_are_hashed_in_the_pass_that_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let model = common::fixture_model_dir("bert").display().to_string();
    let code = run_on_fifo(
        dir.path(),
        "corpus.csv",
        CORPUS,
        &[
            "score",
            "corpus.csv",
            "--target",
            "peace",
            "--model",
            &model,
            "--no-cache",
            "-q",
            "--out",
            "scores.csv",
        ],
    );
    assert_eq!(code, 0);
    let sidecar = dir.path().join("scores.csv.provenance.json");
    assert_eq!(recorded_sha256(&sidecar, "corpus"), sha256_hex(CORPUS.as_bytes()));

    // Tables derived from scores, too.
    const SCORES: &str =
        "actor,target,date,score\nKremlin,peace,2025-03-04,0.5\nKremlin,peace,2025-03-11,0.25\n";
    let code =
        run_on_fifo(dir.path(), "piped.csv", SCORES, &["trend", "piped.csv", "-q", "--out", "trend.csv"]);
    assert_eq!(code, 0);
    let sidecar = dir.path().join("trend.csv.provenance.json");
    assert_eq!(recorded_sha256(&sidecar, "scores"), sha256_hex(SCORES.as_bytes()));
}

#[test]
fn a_runaway_field_is_refused_naming_its_row_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let limit = stance::corpus::MAX_FIELD_BYTES;
    let huge = "peace ".repeat(limit / 6 + 1);
    let corpus =
        format!("id,actor,date,text\ns1,Kremlin,2025-03-04,short\ns2,Kremlin,2025-03-05,\"a\n{huge}\"\n");
    std::fs::write(dir.path().join("corpus.csv"), corpus).unwrap();
    let run = stance(
        dir.path(),
        &["score", "corpus.csv", "--target", "peace", "--model", "no-such-model", "--out", "scores.csv"],
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    let expected = format!(
        "corpus.csv: row 2 (line 3), column \"text\": the value is {} bytes long, over the limit of {limit} bytes",
        huge.len() + 2
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(!dir.path().join("scores.csv").exists());
}

/// A disk that fills up mid-write is reported as the disk's error with the path: the Parquet
/// encoder's own account of it was "Invalid thrift: transport error". The file-size limit
/// (with SIGXFSZ ignored, as a full disk does not signal) fails the same writes.
#[cfg(unix)]
#[test]
fn a_failed_write_reports_the_disks_error_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    // Trends of 300 actors: more than the 1 KiB the limit lets through, in every format.
    let rows: String = (0..300).map(|i| format!("actor {i},2025-01-10,peace,0.5\n")).collect();
    std::fs::write(dir.path().join("scores.csv"), format!("actor,date,target,score\n{rows}")).unwrap();
    let binary = assert_cmd::cargo::cargo_bin("stance");
    for out in ["trends.parquet", "trends.csv"] {
        let run = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("trap '' XFSZ; ulimit -f 1; exec \"$0\" trend scores.csv --out {out}"))
            .arg(&binary)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("cannot write {out}")), "{stderr}");
        assert!(stderr.contains("File too large (os error 27)"), "{stderr}");
        assert!(!stderr.contains("thrift"), "{stderr}");
        assert!(!dir.path().join(out).exists());
    }
}

/// `Actor` is not `actor`: the run goes on without actors, as documented, but says which column
/// was probably meant and the flag that takes it.
#[test]
fn a_column_named_like_actor_is_pointed_out() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("corpus.csv"),
        "id,Actor, Date ,text\ns1,Kremlin,2025-03-04,Russia is always open to peace negotiations.\n",
    )
    .unwrap();
    let model = common::fixture_model_dir("bert");
    let args = ["score", "corpus.csv", "--target", "peace", "--model", model.to_str().unwrap(), "--no-cache"];
    let run = stance(dir.path(), &[&args[..], &["--out", "scores.csv"]].concat());
    assert_eq!(run.code, 0, "{}", run.transcript());
    for (role, column) in [("actor", "Actor"), ("date", " Date ")] {
        let hint = format!("no \"{role}\" column, so the {role} of every statement is empty; to use \"{column}\", pass --{role}-col \"{column}\"");
        assert!(run.stderr.contains(&hint), "{}", run.stderr);
    }
}
