//! Cohen's κ and Krippendorff's α against values computed by independent implementations
//! (`krippendorff` and scikit-learn's `cohen_kappa_score`; `tests/fixtures/agreement/
//! make_reference.py` wrote `reference.json`), through the library and through `stance eval`,
//! and the report with several coders pinned by a snapshot.

mod common;

use common::stance;
use serde_json::Value;
use stance::eval::metrics::{class_counts, krippendorff_alpha, majority, Confusion};
use stance::targets::Stance;

const TOLERANCE: f64 = 1e-9;

fn reference() -> Value {
    let path = common::repo().join("tests/fixtures/agreement/reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn labels(value: &Value) -> Vec<Option<Stance>> {
    value.as_array().unwrap().iter().map(|v| v.as_str().map(|s| Stance::parse(s).unwrap())).collect()
}

fn all(value: &Value) -> Vec<Stance> {
    labels(value).into_iter().map(Option::unwrap).collect()
}

fn assert_close(got: Option<f64>, expected: &Value, what: &str) {
    let expected = expected.as_f64().unwrap();
    let got = got.unwrap_or_else(|| panic!("{what}: undefined, expected {expected}"));
    assert!((got - expected).abs() < TOLERANCE, "{what}: {got} != {expected}");
}

#[test]
fn kappa_and_alpha_of_two_raters_match_the_references() {
    let reference = reference();
    for case in reference["pairs"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let confusion = Confusion::from_labels(&all(&case["gold"]), &all(&case["model"]));
        assert_close(confusion.kappa(), &case["kappa"], &format!("{name}: kappa"));
        assert_close(confusion.alpha(), &case["alpha"], &format!("{name}: alpha"));
    }
}

#[test]
fn several_coders_with_missing_labels_match_the_references() {
    let reference = reference();
    for case in reference["coders"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let coders: Vec<Vec<Option<Stance>>> =
            case["coders"].as_object().unwrap().values().map(labels).collect();
        let model = all(&case["model"]);
        let units = (0..model.len()).map(|i| (class_counts(coders.iter().map(|c| c[i])), 1.0));
        assert_close(krippendorff_alpha(units), &case["coders_alpha"], &format!("{name}: coders' alpha"));
        for (coder, expected) in coders.iter().zip(case["vs_model"].as_array().unwrap()) {
            let rows: Vec<usize> = (0..model.len()).filter(|&i| coder[i].is_some()).collect();
            assert_eq!(rows.len() as u64, expected["n"].as_u64().unwrap());
            let confusion = Confusion::from_labels(
                &rows.iter().map(|&i| coder[i].unwrap()).collect::<Vec<_>>(),
                &rows.iter().map(|&i| model[i]).collect::<Vec<_>>(),
            );
            let what = format!("{name}: {} vs model", expected["coder"]);
            assert_close(confusion.kappa(), &expected["kappa"], &format!("{what}, kappa"));
            assert_close(confusion.alpha(), &expected["alpha"], &format!("{what}, alpha"));
        }
        let majority_labels: Vec<Option<Stance>> =
            (0..model.len()).map(|i| majority(class_counts(coders.iter().map(|c| c[i])))).collect();
        assert_eq!(majority_labels, labels(&case["majority"]), "{name}: majority labels");
    }
}

/// A gold table of the reference's coders and the model's labels as a prediction column.
fn coders_table(case: &Value) -> String {
    let coders = case["coders"].as_object().unwrap();
    let mut csv = format!("id,text,target,{},model\n", coders.keys().cloned().collect::<Vec<_>>().join(","));
    for (i, model) in case["model"].as_array().unwrap().iter().enumerate() {
        let cells: Vec<&str> = coders.values().map(|c| c[i].as_str().unwrap_or("")).collect();
        let target = if i % 2 == 0 { "talks" } else { "sanctions" };
        csv.push_str(&format!(
            "r{i},statement {i},{target},{},{}\n",
            cells.join(","),
            model.as_str().unwrap()
        ));
    }
    csv
}

#[test]
fn stance_eval_reports_the_reference_values() {
    let reference = reference();
    let dir = tempfile::tempdir().unwrap();
    let case = &reference["coders"][0];
    std::fs::write(dir.path().join("coders.csv"), coders_table(case)).unwrap();
    let run = stance(
        dir.path(),
        &[
            "eval",
            "coders.csv",
            "--label-col",
            "c1",
            "--label-col",
            "c2",
            "--label-col",
            "c3",
            "--pred-col",
            "model",
            "--bootstrap",
            "200",
            "--out",
            "report.json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
    let all_rows = &report["slices"][0];
    assert_eq!(all_rows["target"], Value::Null);
    assert_eq!(all_rows["n"], case["majority_n"]);
    assert_close(all_rows["kappa"].as_f64(), &case["majority_kappa"], "majority kappa");
    assert_close(all_rows["alpha"].as_f64(), &case["majority_alpha"], "majority alpha");
    let coders = &all_rows["coders"];
    assert_eq!(coders["rows"], 30);
    assert_close(coders["alpha"].as_f64(), &case["coders_alpha"], "coders' alpha");
    for (got, expected) in
        coders["vs_model"].as_array().unwrap().iter().zip(case["vs_model"].as_array().unwrap())
    {
        assert_eq!(got["coder"], expected["coder"]);
        assert_eq!(got["n"], expected["n"]);
        assert_close(got["kappa"].as_f64(), &expected["kappa"], "coder kappa");
        assert_close(got["alpha"].as_f64(), &expected["alpha"], "coder alpha");
    }
    // κ's interval brackets it.
    let (low, high) =
        (all_rows["kappa_ci"]["low"].as_f64().unwrap(), all_rows["kappa_ci"]["high"].as_f64().unwrap());
    let kappa = all_rows["kappa"].as_f64().unwrap();
    assert!(low < kappa && kappa < high, "{low} {kappa} {high}");

    // One label column: model vs that column, as a pair of raters.
    let pair = &reference["pairs"][0];
    let mut csv = String::from("text,target,label,model\n");
    for (i, (g, m)) in
        pair["gold"].as_array().unwrap().iter().zip(pair["model"].as_array().unwrap()).enumerate()
    {
        csv.push_str(&format!("s{i},t,{},{}\n", g.as_str().unwrap(), m.as_str().unwrap()));
    }
    std::fs::write(dir.path().join("pair.csv"), csv).unwrap();
    let run = stance(dir.path(), &["eval", "pair.csv", "--pred-col", "model", "--out", "pair.parquet"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (table, _) = stance::corpus::read_table(&dir.path().join("pair.parquet")).unwrap();
    let column = |name: &str| table.column(name).unwrap().f64().unwrap().get(0);
    assert_close(column("kappa"), &pair["kappa"], "table kappa");
    assert_close(column("alpha"), &pair["alpha"], "table alpha");
}

#[test]
fn the_report_with_several_coders() {
    let reference = reference();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("coders.csv"), coders_table(&reference["coders"][1])).unwrap();
    let args = ["eval", "coders.csv", "--label-col", "c1", "--label-col", "c2", "--pred-col", "model"];
    let run = stance(dir.path(), &[&args[..], &["--bootstrap", "200", "--out", "report.csv"]].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.transcript());
    let (table, provenance) = stance::corpus::read_table(&dir.path().join("report.csv")).unwrap();
    for name in ["coders_rows", "coders_alpha", "coder_c1_n", "coder_c1_kappa", "coder_c2_alpha", "kappa_low"]
    {
        assert!(table.column(name).is_ok(), "{name} missing: {:?}", table.get_column_names());
    }
    assert!(provenance.get("gold_options").unwrap().contains("\"label_cols\":[\"c1\",\"c2\"]"));

    // A coder column that is not there: exit 2, named, and no report written.
    let run = stance(
        dir.path(),
        &[
            "eval",
            "coders.csv",
            "--label-col",
            "c1",
            "--label-col",
            "c7",
            "--pred-col",
            "model",
            "--out",
            "bad.json",
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no gold label column (looked for \"c7\""), "{}", run.stderr);
    assert!(!dir.path().join("bad.json").exists());
    // Training reads one label column.
    let run = stance(
        dir.path(),
        &[
            "train",
            "coders.csv",
            "--label-col",
            "c1",
            "--label-col",
            "c2",
            "--model",
            "m",
            "--out",
            "h.safetensors",
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--label-col is given 2 times"), "{}", run.stderr);
}
