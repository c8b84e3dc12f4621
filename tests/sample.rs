//! `stance sample`: the same seed draws the same rows whatever the input's row order, strata
//! get the rows asked for, the weights are inverse inclusion probabilities, bad input is
//! refused before anything is written, and the coded sample goes back into `stance eval`
//! for design-weighted estimates.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::stance;

/// 60 scored statements: three actors, two targets, labels spread unevenly.
fn scores_rows() -> Vec<String> {
    let actors = ["Kremlin", "White House", "Kyiv"];
    let labels = ["favor", "against", "none"];
    (0..60)
        .map(|i| {
            let actor = actors[(i * 7 % 11) % 3];
            let target = if i % 4 == 0 { "sanctions" } else { "peace talks" };
            let label = labels[(i * 5 % 7) % 3];
            let p = match label {
                "favor" => [0.7, 0.2, 0.1],
                "against" => [0.2, 0.7, 0.1],
                _ => [0.1, 0.2, 0.7],
            };
            format!(
                "s{i:02},{actor},2025-{:02}-{:02},{target},Statement {i} about {target}.,{},{},{},{:.1},{label}",
                1 + i % 9,
                1 + i % 28,
                p[0],
                p[1],
                p[2],
                p[0] - p[1]
            )
        })
        .collect()
}

const HEADER: &str = "id,actor,date,target,text,p_favor,p_against,p_none,score,label";

fn write_scores(dir: &Path, name: &str, rows: &[String]) {
    std::fs::write(dir.join(name), format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
}

fn read(dir: &Path, name: &str) -> polars::prelude::DataFrame {
    stance::corpus::read_table(&dir.join(name)).unwrap().0
}

fn strings(frame: &polars::prelude::DataFrame, column: &str) -> Vec<String> {
    let column = frame.column(column).unwrap().cast(&polars::prelude::DataType::String).unwrap();
    column.str().unwrap().iter().map(|v| v.unwrap().to_owned()).collect()
}

/// Rows drawn per stratum, and the weight every row of the stratum carries.
fn per_stratum(frame: &polars::prelude::DataFrame) -> BTreeMap<String, (usize, f64)> {
    let weights: Vec<f64> = frame.column("sample_weight").unwrap().f64().unwrap().iter().flatten().collect();
    let mut out: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for (stratum, w) in strings(frame, "stratum").into_iter().zip(weights) {
        let entry = out.entry(stratum).or_insert((0, w));
        entry.0 += 1;
        assert_eq!(entry.1, w, "one weight per stratum");
    }
    out
}

fn sample(dir: &Path, input: &str, out: &str, extra: &[&str]) {
    let args = [&["sample", input, "--out", out][..], extra].concat();
    let run = stance(dir, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn the_same_seed_draws_the_same_rows_whatever_the_row_order() {
    let dir = tempfile::tempdir().unwrap();
    let rows = scores_rows();
    write_scores(dir.path(), "scores.csv", &rows);
    // The same rows reversed and interleaved.
    let mut shuffled: Vec<String> = rows.iter().rev().cloned().collect();
    shuffled.rotate_left(17);
    write_scores(dir.path(), "shuffled.csv", &shuffled);
    let by = ["--n", "15", "--by", "actor,target,label", "--seed", "7"];
    sample(dir.path(), "scores.csv", "a.csv", &by);
    sample(dir.path(), "scores.csv", "b.csv", &by);
    sample(dir.path(), "shuffled.csv", "c.csv", &by);
    sample(dir.path(), "scores.csv", "d.csv", &["--n", "15", "--by", "actor,target,label", "--seed", "8"]);
    let table = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    assert_eq!(table("a.csv"), table("b.csv"));
    assert_eq!(table("a.csv"), table("c.csv"));
    let ids = |name: &str| {
        let mut ids = strings(&read(dir.path(), name), "id");
        ids.sort();
        ids
    };
    assert_ne!(ids("a.csv"), ids("d.csv"), "another seed, other rows");
    assert_eq!(read(dir.path(), "a.csv").height(), 15);
}

#[test]
fn strata_get_the_rows_asked_for_with_inverse_probability_weights() {
    let dir = tempfile::tempdir().unwrap();
    // Targets: 45 peace talks, 15 sanctions.
    write_scores(dir.path(), "scores.csv", &scores_rows());
    sample(dir.path(), "scores.csv", "prop.csv", &["--n", "12", "--by", "target"]);
    let expected: BTreeMap<String, (usize, f64)> =
        [("peace talks".to_owned(), (9, 45.0 / 9.0)), ("sanctions".to_owned(), (3, 5.0))].into();
    assert_eq!(per_stratum(&read(dir.path(), "prop.csv")), expected);

    sample(dir.path(), "scores.csv", "equal.csv", &["--n", "12", "--by", "target", "--allocation", "equal"]);
    let expected: BTreeMap<String, (usize, f64)> =
        [("peace talks".to_owned(), (6, 7.5)), ("sanctions".to_owned(), (6, 2.5))].into();
    assert_eq!(per_stratum(&read(dir.path(), "equal.csv")), expected);

    // Per actor × label: the smallest strata get the minimum, the rest goes proportionally.
    sample(
        dir.path(),
        "scores.csv",
        "min.csv",
        &["--n", "20", "--by", "actor,label", "--min-per-stratum", "2"],
    );
    let frame = read(dir.path(), "min.csv");
    let drawn = per_stratum(&frame);
    assert_eq!(drawn.len(), 9, "{drawn:?}");
    assert!(drawn.values().all(|&(n, _)| n >= 2), "{drawn:?}");
    assert_eq!(drawn.values().map(|&(n, _)| n).sum::<usize>(), 20);
    // Σ weights over the sample is the table's size, every stratum being drawn from.
    let total: f64 = drawn.values().map(|&(n, w)| n as f64 * w).sum();
    assert!((total - 60.0).abs() < 1e-9, "{total}");
    let columns: Vec<&str> = frame.get_column_names().iter().map(|c| c.as_str()).collect();
    assert_eq!(
        columns,
        [
            "id",
            "actor",
            "date",
            "target",
            "text",
            "label",
            "p_favor",
            "p_against",
            "p_none",
            "score",
            "gold",
            "sample_weight",
            "stratum"
        ]
    );
}

#[test]
fn the_sample_and_its_coded_copy_back_in_eval() {
    let dir = tempfile::tempdir().unwrap();
    write_scores(dir.path(), "scores.csv", &scores_rows());
    let run = stance(
        dir.path(),
        &[
            "sample",
            "scores.csv",
            "--n",
            "8",
            "--by",
            "target,label",
            "--min-per-stratum",
            "1",
            "--seed",
            "7",
            "--out",
            "to_code.csv",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut transcript = run.transcript();
    let written = std::fs::read_to_string(dir.path().join("to_code.csv")).unwrap();
    transcript.push_str(&format!("--- to_code.csv\n{written}"));
    let (_, provenance) = stance::corpus::read_table(&dir.path().join("to_code.csv")).unwrap();
    assert!(provenance.get("sample_options").unwrap().contains("\"seed\":7"));
    assert_eq!(provenance.get("input.scores.path"), Some("scores.csv"));

    // The coder fills in `gold`: agreeing with the model on every row but the first.
    let mut coded = String::new();
    for (k, line) in written.lines().enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let gold = match k {
            0 => "gold",
            1 if cells[5] == "none" => "favor",
            1 => "none",
            _ => cells[5],
        };
        let mut cells: Vec<String> = cells.iter().map(|c| (*c).to_owned()).collect();
        cells[10] = gold.to_owned();
        coded.push_str(&cells.join(","));
        coded.push('\n');
    }
    std::fs::write(dir.path().join("coded.csv"), coded).unwrap();
    let run = stance(dir.path(), &["eval", "coded.csv", "--bootstrap", "100", "--out", "report.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    transcript.push_str(&format!("--- stance eval coded.csv\n{}", run.stdout));
    insta::assert_snapshot!(transcript);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
    let all = &report["slices"][0];
    assert_eq!(all["n"], 8);
    // Every stratum drawn from: the weights add up to the scores table's rows.
    assert!((all["weighted"]["population"].as_f64().unwrap() - 60.0).abs() < 1e-9);
    assert_eq!(report["gold"][0]["columns"]["weight"], "sample_weight");
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_scores(dir.path(), "scores.csv", &scores_rows());
    std::fs::write(dir.path().join("no-id.csv"), "actor,text\nA,hello\n").unwrap();
    let cases: [&[&str]; 6] = [
        &["sample", "scores.csv", "--n", "10", "--by", "actor,speaker", "--out", "out.csv"],
        &["sample", "scores.csv", "--n", "61", "--out", "out.csv"],
        &[
            "sample",
            "scores.csv",
            "--n",
            "5",
            "--by",
            "actor,label",
            "--min-per-stratum",
            "1",
            "--out",
            "out.csv",
        ],
        &["sample", "scores.csv", "--n", "5", "--by", "gold", "--out", "out.csv"],
        &["sample", "no-id.csv", "--n", "1", "--by", "actor", "--out", "out.csv"],
        &["sample", "scores.csv", "--n", "0", "--out", "out.csv"],
    ];
    let mut transcripts = String::new();
    for args in cases {
        let run = stance(dir.path(), args);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(!dir.path().join("out.csv").exists(), "{args:?} wrote a file");
        transcripts.push_str(&format!("$ stance {}\n{}\n", args.join(" "), run.transcript()));
    }
    insta::assert_snapshot!(transcripts);
}
