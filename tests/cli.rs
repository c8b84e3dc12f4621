//! The command line's behaviour, pinned by snapshots (paths redacted): each command's output,
//! every bad-input error of the corpus contract, and exit codes.

mod common;

use common::stance;

fn bert() -> String {
    common::fixture_model_dir("bert").display().to_string()
}

const CORPUS: &str = "id,actor,date,text,source\n\
s1,Kremlin,2025-03-04,\"Talks are pointless while the other side refuses to face reality.\",briefing\n\
s2,Kremlin,2025-08-05,Russia is always open to peace negotiations.,briefing\n\
s3,White House,2025-08-06T14:30:00-04:00,We call on all parties to come to the table.,press release\n";

fn with_corpus(name: &str, bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), bytes).unwrap();
    dir
}

#[test]
fn score_prints_a_summary_without_out() {
    let dir = with_corpus("corpus.csv", CORPUS.as_bytes());
    let out =
        stance(dir.path(), &["score", "corpus.csv", "--target", "peace negotiations", "--model", &bert()]);
    insta::assert_snapshot!(out.transcript());
}

#[test]
fn score_writes_parquet_that_show_prints_with_provenance() {
    let dir = with_corpus("corpus.csv", CORPUS.as_bytes());
    let targets = common::repo().join("corpus/targets.toml");
    let score = stance(
        dir.path(),
        &[
            "score",
            "corpus.csv",
            "--targets",
            targets.to_str().unwrap(),
            "--model",
            &bert(),
            "--out",
            "scores.parquet",
        ],
    );
    assert_eq!(score.code, 0, "{}", score.stderr);
    insta::assert_snapshot!("score_to_parquet", score.transcript());
    let show = stance(dir.path(), &["show", "scores.parquet", "--rows", "9"]);
    // The probabilities' last digits depend on the CPU's kernel (summation order); their
    // values are checked against transformers in tests/parity.rs, their layout here.
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"-?\d\.\d+ *┆", "[p] ┆");
    settings.bind(|| insta::assert_snapshot!("show_scores", show.transcript()));
}

#[test]
fn score_writes_csv_and_ndjson_with_provenance_sidecars() {
    let dir = with_corpus("corpus.csv", CORPUS.as_bytes());
    for out in ["scores.csv", "scores.ndjson"] {
        let run = stance(
            dir.path(),
            &["score", "corpus.csv", "--target", "sanctions", "--model", &bert(), "--out", out],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let sidecar = dir.path().join(format!("{out}.provenance.json"));
        let provenance: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(sidecar).unwrap()).unwrap();
        assert_eq!(provenance["method"], "nli");
        let show = stance(dir.path(), &["show", out, "--metadata"]);
        assert!(show.stdout.contains("model.weights_sha256"), "{}", show.stdout);
    }
}

/// `--relevance-filter` marks statements without a target's keywords none without the model,
/// says so in a column and the provenance, refuses targets without keywords, and never lets
/// its made-up scores into the score cache.
#[test]
fn relevance_filter_skips_unmentioned_pairs_and_keeps_the_cache_clean() {
    let dir = with_corpus("corpus.csv", CORPUS.as_bytes());
    let refused = stance(
        dir.path(),
        &["score", "corpus.csv", "--target", "peace", "--model", &bert(), "--relevance-filter"],
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("`peace` has none"), "{}", refused.stderr);

    std::fs::write(
        dir.path().join("targets.toml"),
        "[[target]]\nname = \"peace negotiations\"\nkeywords = [\"peace\"]\n",
    )
    .unwrap();
    let run = |extra: &[&str], out: &str| {
        let args =
            ["score", "corpus.csv", "--targets", "targets.toml", "--model", &bert(), "--cache-dir", "cache"];
        let run = stance(dir.path(), &[&args[..], extra, &["--out", out]].concat());
        assert_eq!(run.code, 0, "{}", run.stderr);
        let provenance: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("{out}.provenance.json"))).unwrap(),
        )
        .unwrap();
        let table = std::fs::read_to_string(dir.path().join(out)).unwrap();
        let mut lines = table.lines();
        let header: Vec<String> = lines.next().unwrap().split(',').map(str::to_owned).collect();
        let column = |name: &str| header.iter().position(|c| c == name);
        let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(str::to_owned).collect()).collect();
        let p_none: Vec<f64> = rows.iter().map(|r| r[column("p_none").unwrap()].parse().unwrap()).collect();
        let mentioned: Option<Vec<String>> =
            column("mentioned").map(|c| rows.iter().map(|r| r[c].clone()).collect());
        (run.stderr, provenance, p_none, mentioned)
    };
    let (stderr, provenance, p_none, mentioned) = run(&["--relevance-filter"], "filtered.csv");
    assert!(stderr.contains("relevance filter: 2 of 3 pairs"), "{stderr}");
    assert_eq!(mentioned.unwrap(), ["false", "true", "false"]);
    assert_eq!((p_none[0], p_none[2]), (1.0, 1.0));
    assert!(p_none[1] < 0.9, "s2 mentions peace and is scored by the model: {p_none:?}");
    assert_eq!(provenance["relevance_filter"], "true");
    assert_eq!(provenance["relevance.filtered_pairs"], "2");
    assert_eq!(provenance["forward_passes"], "1");

    let (_, provenance, p_none, mentioned) = run(&[], "all.csv");
    assert_eq!(mentioned, None);
    assert_eq!(provenance["relevance_filter"], "false");
    assert_eq!(provenance["cache.hits"], "1", "only s2's model score was cached");
    assert!(p_none.iter().all(|&p| p < 0.9), "every pair is the model's: {p_none:?}");
}

/// An encoder-decoder scores through the same command: BART's tiny fixture writes scores whose
/// provenance names it, and a second run takes every pair from the score cache with the same
/// numbers.
#[test]
fn bart_scores_from_the_command_line_and_the_cache() {
    let dir = with_corpus("corpus.csv", CORPUS.as_bytes());
    let model = common::fixture_model_dir("bart").display().to_string();
    let run = |out: &str| {
        let args = ["score", "corpus.csv", "--target", "peace negotiations", "--model", &model];
        let run = stance(dir.path(), &[&args[..], &["--cache-dir", "cache", "--out", out]].concat());
        assert_eq!(run.code, 0, "{}", run.stderr);
        let provenance: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("{out}.provenance.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(provenance["model.type"], "bart");
        let table = std::fs::read_to_string(dir.path().join(out)).unwrap();
        (provenance["cache.hits"].clone(), table)
    };
    let (hits, first) = run("first.csv");
    assert_eq!(hits, "0");
    let (hits, second) = run("second.csv");
    assert_eq!(hits, "3", "every pair comes from the cache");
    assert_eq!(first, second);
    let mut lines = first.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|&c| c == name).unwrap();
    let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(str::to_owned).collect()).collect();
    assert_eq!(rows.len(), 3);
    for row in &rows {
        let p: Vec<f64> =
            ["p_favor", "p_against", "p_none"].iter().map(|c| row[column(c)].parse().unwrap()).collect();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{row:?}");
    }
}

/// `--dtype int8` scores close to f32, says so in the provenance, and does not share f32's
/// cache entries.
#[test]
fn int8_scores_close_to_f32_and_records_it() {
    let dir = with_corpus("corpus.csv", CORPUS.as_bytes());
    let run = |dtype: &str| {
        let out = format!("{dtype}.csv");
        let args =
            ["score", "corpus.csv", "--target", "sanctions", "--model", &bert(), "--cache-dir", "cache"];
        let run = stance(dir.path(), &[&args[..], &["--dtype", dtype, "--out", &out]].concat());
        assert_eq!(run.code, 0, "{}", run.stderr);
        let provenance: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("{out}.provenance.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(provenance["dtype"], dtype);
        let table = std::fs::read_to_string(dir.path().join(&out)).unwrap();
        (provenance["cache.hits"].clone(), table)
    };
    let (_, exact) = run("f32");
    let (hits, approx) = run("int8");
    assert_eq!(hits, "0", "int8 must not reuse f32's cache entries");
    assert_ne!(exact, approx, "int8 changes the numbers");
    let scores = |table: &str| -> Vec<f64> {
        let mut lines = table.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let column = header.iter().position(|&c| c == "score").unwrap();
        lines.map(|line| line.split(',').nth(column).unwrap().parse().unwrap()).collect()
    };
    for (a, b) in scores(&exact).iter().zip(scores(&approx)) {
        assert!((a - b).abs() < 0.1, "f32 {a} vs int8 {b}");
    }
}

#[test]
fn models_list_shows_presets_and_cache_state() {
    let dir = tempfile::tempdir().unwrap();
    insta::assert_snapshot!(stance(dir.path(), &["models", "list"]).transcript());
}

#[test]
fn models_info_describes_a_local_model() {
    let dir = tempfile::tempdir().unwrap();
    insta::assert_snapshot!(stance(dir.path(), &["models", "info", &bert()]).transcript());
}

/// Each bad input: exit code 2, one clear message naming file, row/line and column.
fn bad_input(name: &str, file: &str, bytes: &[u8], extra: &[&str]) {
    let dir = with_corpus(file, bytes);
    let model = bert();
    let mut args = vec!["score", file, "--target", "peace negotiations", "--model", model.as_str()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", "scores.parquet"]);
    let out = stance(dir.path(), &args);
    assert_eq!(out.code, 2, "{name}: {}", out.transcript());
    assert!(!dir.path().join("scores.parquet").exists(), "{name}: an output file was written");
    insta::assert_snapshot!(name, out.transcript());
}

#[test]
fn missing_text_column_lists_the_columns() {
    bad_input("missing_text_column", "c.csv", b"actor,date,body\nKremlin,2025-01-01,hello\n", &[]);
}

#[test]
fn unparseable_date_shows_row_and_value() {
    bad_input("unparseable_date", "c.csv", b"actor,date,text\nA,2025-01-01,one\nB,14/08/2025,two\n", &[]);
}

#[test]
fn invalid_utf8_names_the_line() {
    bad_input("invalid_utf8", "c.csv", b"actor,date,text\nA,2025-01-01,ok\nB,2025-01-02,caf\xe9\n", &[]);
}

#[test]
fn malformed_json_line_names_the_line() {
    let jsonl = b"{\"actor\":\"A\",\"date\":\"2025-01-01\",\"text\":\"fine\"}\n{\"actor\":\"B\",\"date\":\"2025-01-02\",\"text\":\"broken\"\n";
    bad_input("malformed_json_line", "c.jsonl", jsonl, &[]);
}

#[test]
fn empty_file_is_rejected() {
    bad_input("empty_file", "c.csv", b"", &[]);
}

#[test]
fn header_only_file_is_rejected() {
    bad_input("header_only_file", "c.csv", b"actor,date,text\n", &[]);
}

#[test]
fn empty_text_names_the_row() {
    bad_input("empty_text", "c.csv", b"actor,date,text\nA,2025-01-01,ok\nB,2025-01-02,\"   \"\n", &[]);
}

#[test]
fn missing_mapped_column_is_named() {
    bad_input("missing_mapped_column", "c.csv", CORPUS.as_bytes(), &["--date-col", "published"]);
}

#[test]
fn skip_invalid_drops_bad_rows_and_says_so() {
    let dir =
        with_corpus("c.csv", b"actor,date,text\nA,2025-01-01,ok\nB,14/08/2025,two\nC,2025-01-03,\" \"\n");
    let model = bert();
    let out = stance(
        dir.path(),
        &["score", "c.csv", "--target", "x", "--model", &model, "--skip-invalid", "--out", "s.parquet"],
    );
    assert_eq!(out.code, 0, "{}", out.transcript());
    insta::assert_snapshot!(out.transcript());
    let show = stance(dir.path(), &["show", "s.parquet", "--metadata"]);
    assert!(show.stdout.contains("input.corpus.skipped_rows: 2"), "{}", show.stdout);
}

#[test]
fn model_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.csv"), CORPUS).unwrap();
    let mut transcripts = String::new();
    for model in
        ["not-a-model", "MoritzLaurer/deberta-v3-base-zeroshot-v2.0", "deberta-zeroshot", "bart-mnli"]
    {
        let out = stance(dir.path(), &["score", "c.csv", "--target", "x", "--model", model]);
        assert_eq!(out.code, 2);
        transcripts.push_str(&format!("$ --model {model}\n{}\n", out.transcript()));
    }
    let empty = dir.path().join("empty-model");
    std::fs::create_dir(&empty).unwrap();
    let out = stance(dir.path(), &["score", "c.csv", "--target", "x", "--model", "empty-model"]);
    transcripts.push_str(&format!("$ --model empty-model\n{}\n", out.transcript()));
    insta::assert_snapshot!(transcripts);
}

#[test]
fn usage_errors_exit_1_and_bad_targets_exit_2() {
    let dir = with_corpus("c.csv", CORPUS.as_bytes());
    let usage = stance(dir.path(), &["score", "c.csv", "--target", "x"]);
    assert_eq!(usage.code, 1, "{}", usage.transcript());
    std::fs::write(dir.path().join("t.toml"), "[[target]]\nnam = \"typo\"\n").unwrap();
    let targets = stance(dir.path(), &["score", "c.csv", "--targets", "t.toml", "--model", &bert()]);
    assert_eq!(targets.code, 2);
    insta::assert_snapshot!(targets.transcript());
    let extension =
        stance(dir.path(), &["score", "c.csv", "--target", "x", "--model", &bert(), "--out", "s.xlsx"]);
    assert_eq!(extension.code, 2);
    insta::assert_snapshot!("unknown_output_extension", extension.transcript());
}

/// A write killed part-way (the file-size limit kills the process with SIGXFSZ while it
/// writes) leaves neither a partial table nor a damaged earlier one under the output name.
#[test]
fn interrupted_write_leaves_no_partial_output() {
    let dir = with_corpus("corpus.csv", CORPUS.as_bytes());
    let previous = b"an earlier result that must survive";
    std::fs::write(dir.path().join("scores.parquet"), previous).unwrap();
    let binary = assert_cmd::cargo::cargo_bin("stance");
    let status = std::process::Command::new("bash")
        .current_dir(dir.path())
        .arg("-c")
        .arg(format!(
            "ulimit -f 1; exec '{}' score corpus.csv --target x --model '{}' --out scores.parquet",
            binary.display(),
            bert()
        ))
        .status()
        .unwrap();
    assert!(!status.success(), "the size limit should have stopped the write");
    assert_eq!(std::fs::read(dir.path().join("scores.parquet")).unwrap(), previous);
}

/// A scores table from "another tool": CSV, text dates, integer-free scores, two actors, one
/// of which changes its stance at the start of June.
fn synthetic_scores() -> String {
    let mut csv = String::from("actor,date,target,score\n");
    let mut state = 7u64;
    let mut noise = || {
        // A small LCG keeps the table reproducible without a dependency.
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.3
    };
    for day in 0..120u32 {
        let date =
            chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap() + chrono::Days::new(u64::from(day) * 2);
        let shifted = date >= chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        let kremlin = if shifted { 0.5 } else { -0.5 } + noise();
        let white_house = 0.4 + noise();
        csv.push_str(&format!("Kremlin,{date},peace negotiations,{kremlin:.4}\n"));
        csv.push_str(&format!("White House,{date},peace negotiations,{white_house:.4}\n"));
    }
    csv
}

#[test]
fn analysis_commands_print_their_tables() {
    let dir = with_corpus("scores.csv", synthetic_scores().as_bytes());
    let trend = stance(dir.path(), &["trend", "scores.csv", "--period", "quarter", "--bootstrap", "500"]);
    assert_eq!(trend.code, 0, "{}", trend.transcript());
    insta::assert_snapshot!("trend_quarterly", trend.transcript());
    let shift = stance(dir.path(), &["shift", "scores.csv", "--permutations", "499", "--bootstrap", "500"]);
    assert_eq!(shift.code, 0, "{}", shift.transcript());
    insta::assert_snapshot!("shift_found", shift.transcript());
    let compare = stance(
        dir.path(),
        &[
            "compare",
            "scores.csv",
            "--target",
            "peace negotiations",
            "--actors",
            "Kremlin,White House",
            "--bootstrap",
            "500",
        ],
    );
    assert_eq!(compare.code, 0, "{}", compare.transcript());
    insta::assert_snapshot!("compare_monthly", compare.transcript());
}

#[test]
fn analysis_outputs_carry_provenance_and_plot_reads_them() {
    let dir = with_corpus("scores.csv", synthetic_scores().as_bytes());
    for args in [
        vec!["trend", "scores.csv", "--out", "trends.parquet"],
        vec!["shift", "scores.csv", "--permutations", "499", "--ci", "0.9", "--out", "shifts.parquet"],
        vec![
            "plot",
            "trends.parquet",
            "--target",
            "peace negotiations",
            "--shifts",
            "shifts.parquet",
            "--out",
            "c.svg",
        ],
        vec!["plot", "scores.csv", "--target", "peace negotiations", "--period", "week", "--out", "c.png"],
    ] {
        let out = stance(dir.path(), &args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.transcript());
    }
    let show = stance(dir.path(), &["show", "shifts.parquet", "--metadata"]);
    assert!(show.stdout.contains("shift_options: {"), "{}", show.stdout);
    assert!(show.stdout.contains("\"ci\":0.9,"), "the interval level is recorded: {}", show.stdout);
    assert!(show.stdout.contains("input.scores.sha256: "), "{}", show.stdout);
    let svg = std::fs::read_to_string(dir.path().join("c.svg")).unwrap();
    assert!(svg.contains("Kremlin") && svg.contains("Δ +"), "the shift is marked on the chart");
    assert!(svg.contains("interval on its date"), "with the band of its date interval");
    // Charts carry their provenance too: the inputs' hashes and the trend table's own.
    let start = svg.find("<metadata id=\"stance-provenance\">").expect("SVG metadata");
    let metadata = &svg[start..svg[start..].find("</metadata>").unwrap() + start];
    for key in [
        "\"input.scores.sha256\"",
        "\"input.shifts.sha256\"",
        "\"upstream.trend_options\"",
        "\"command_line\"",
    ] {
        assert!(metadata.contains(key), "{key} in {metadata}");
    }
    let png = std::fs::read(dir.path().join("c.png")).unwrap();
    let itxt = png.windows(4).position(|w| w == b"iTXt").expect("a PNG text chunk");
    assert!(png[itxt..].starts_with(b"iTXtstance-provenance\0"));
}

/// What `stance` writes as CSV, TSV or NDJSON it reads back: trends (text dates), a shifts table
/// with no rows (only a header in CSV, nothing at all in NDJSON), and a trends table whose
/// confidence bounds are all empty.
#[test]
fn plot_reads_tables_written_in_every_text_format() {
    let dir = with_corpus("scores.csv", synthetic_scores().as_bytes());
    // Flat scores: no shift survives.
    std::fs::write(
        dir.path().join("flat.csv"),
        "actor,date,target,score\nA,2025-01-01,t,0.5\nA,2025-01-09,t,0.5\n",
    )
    .unwrap();
    for ext in ["csv", "tsv", "ndjson"] {
        let (trends, shifts, empty) =
            (format!("trends.{ext}"), format!("shifts.{ext}"), format!("none.{ext}"));
        for args in [
            vec!["trend", "scores.csv", "--out", &trends],
            vec!["shift", "scores.csv", "--permutations", "499", "--out", &shifts],
            vec!["shift", "flat.csv", "--permutations", "99", "--out", &empty],
            vec!["plot", &trends, "--target", "peace negotiations", "--shifts", &shifts, "--out", "c.svg"],
            vec!["plot", &trends, "--target", "peace negotiations", "--shifts", &empty, "--out", "d.svg"],
        ] {
            let out = stance(dir.path(), &args);
            assert_eq!(out.code, 0, "{args:?}: {}", out.transcript());
        }
        let svg = std::fs::read_to_string(dir.path().join("c.svg")).unwrap();
        assert!(svg.contains("Δ +"), "{ext}: the shift is marked on the chart");
        assert!(svg.contains("interval on its date"), "{ext}: text dates of the interval read back");
        let svg = std::fs::read_to_string(dir.path().join("d.svg")).unwrap();
        assert!(svg.contains("Kremlin") && !svg.contains("Δ "), "{ext}: lines, no shift");
    }
    std::fs::write(
        dir.path().join("open.csv"),
        "actor,target,period_start,period_end,mean,ci_low,ci_high\n\
        A,t,2025-01-01,2025-01-31,0.2,,\nA,t,2025-02-01,2025-02-28,0.4,,\n",
    )
    .unwrap();
    let out = stance(dir.path(), &["plot", "open.csv", "--target", "t", "--out", "e.svg"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
}

#[test]
fn analysis_errors_name_what_is_missing() {
    let dir = with_corpus("bad.csv", b"actor,date,target,stance\nA,2025-01-01,t,0.5\n");
    std::fs::write(dir.path().join("scores.csv"), "actor,date,target,score\nA,2025-01-01,t,0.5\n").unwrap();
    let mut transcripts = String::new();
    for args in [
        vec!["trend", "bad.csv"],
        vec!["trend", "scores.csv", "--period", "fortnight"],
        vec!["compare", "missing.parquet", "--target", "t", "--actors", "A,B"],
        vec!["plot", "bad.csv", "--target", "t", "--out", "c.svg"],
        vec!["plot", "scores.csv", "--target", "other", "--out", "c.svg"],
    ] {
        let out = stance(dir.path(), &args);
        assert_ne!(out.code, 0);
        transcripts.push_str(&format!("$ {}\n{}\n", args.join(" "), out.transcript()));
    }
    std::fs::write(
        dir.path().join("dates.csv"),
        "actor,date,target,score\nA,2025-01-01,t,0.5\nA,next week,t,0.1\n",
    )
    .unwrap();
    let out = stance(dir.path(), &["trend", "dates.csv"]);
    transcripts.push_str(&format!("$ trend dates.csv\n{}\n", out.transcript()));
    let out = stance(dir.path(), &["compare", "scores.csv", "--target", "t", "--actors", "A,Nobody"]);
    transcripts.push_str(&format!("$ compare --actors A,Nobody\n{}\n", out.transcript()));
    insta::assert_snapshot!(transcripts);
}

/// Tables from other tools: numeric actor codes (pandas categoricals take the same path) and
/// whole-number scores are accepted; so are `.5` scores, their own `label` spellings and a
/// free-text `period_start`, columns the analyses do not need. An empty NDJSON file says it
/// has no rows; a header-only CSV gives an empty trend table, as an empty Parquet file does.
#[test]
fn analysis_accepts_tables_from_other_tools() {
    let dir = with_corpus(
        "coded.csv",
        b"actor,date,target,score\n101,2025-01-01,t,1\n101,2025-01-09,t,-1\n102,2025-01-02,t,0\n",
    );
    let out = stance(dir.path(), &["trend", "coded.csv", "--out", "t.csv"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    let trends = std::fs::read_to_string(dir.path().join("t.csv")).unwrap();
    assert!(trends.starts_with("actor,target,period_start"), "{trends}");
    assert!(trends.contains("\n101,t,2025-01-01,2025-01-31,2,0.0,"), "{trends}");
    std::fs::write(
        dir.path().join("other.csv"),
        b"actor,date,target,score,label,period_start\nA,2025-01-01,t,.5,positive,Q1\nA,2025-01-09,t,-0.25,negative,Q1\n",
    )
    .unwrap();
    let out = stance(dir.path(), &["trend", "other.csv", "--out", "t.parquet"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    assert!(out.stderr.contains("`positive` is not a stance label"), "{}", out.stderr);
    std::fs::write(dir.path().join("empty.ndjson"), "").unwrap();
    let out = stance(dir.path(), &["trend", "empty.ndjson"]);
    assert_eq!(
        (out.code, out.stderr.contains("the scores table has no rows")),
        (2, true),
        "{}",
        out.transcript()
    );
    // A header-only CSV is a table of no rows: an empty trend table, as from an empty Parquet.
    std::fs::write(dir.path().join("header.csv"), "actor,date,target,score\n").unwrap();
    let out = stance(dir.path(), &["trend", "header.csv", "--out", "h.csv"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
}
