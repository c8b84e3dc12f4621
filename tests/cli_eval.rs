//! `stance eval` and `stance train` on the command line, pinned by snapshots (paths redacted):
//! reports, outputs and their provenance, the benchmark layouts, heads, and every bad input.

mod common;

use common::stance;

fn model(name: &str) -> String {
    common::fixture_model_dir(name).display().to_string()
}

/// A gold set of one's own: two targets, dated, labels in the usual spellings.
const GOLD: &str = "id,date,target,text,label\n\
g1,2025-01-10,peace talks,We welcome every step toward negotiations.,favor\n\
g2,2025-01-20,peace talks,Talks with them are a waste of time.,against\n\
g3,2025-02-03,peace talks,The minister travelled to Geneva on Monday.,none\n\
g4,2025-02-14,peace talks,Negotiations are the only way forward.,favor\n\
g5,2025-03-01,peace talks,There is nothing to negotiate.,against\n\
g6,2025-03-09,peace talks,We stand ready to talk at any time.,favor\n\
g7,2025-01-12,sanctions,The sanctions must be tightened further.,favor\n\
g8,2025-01-25,sanctions,Sanctions only hurt ordinary people.,against\n\
g9,2025-02-08,sanctions,The council meets again next week.,none\n\
g10,2025-02-20,sanctions,Lift the sanctions now.,against\n\
g11,2025-03-04,sanctions,New measures will follow this month.,favor\n\
g12,2025-03-15,sanctions,The weather delayed the summit.,none\n";

fn with_gold() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gold.csv"), GOLD).unwrap();
    dir
}

#[test]
fn eval_prints_the_report_with_a_date_split() {
    let dir = with_gold();
    let out = stance(
        dir.path(),
        &[
            "eval",
            "gold.csv",
            "--model",
            &model("bert-embedding"),
            "--split-by-date",
            "2025-02-10",
            "--bootstrap",
            "200",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.transcript());
}

#[test]
fn eval_writes_json_and_table_reports_with_provenance() {
    let dir = with_gold();
    let bert = model("bert-embedding");
    for out in ["report.json", "report.parquet", "report.csv"] {
        let run =
            stance(dir.path(), &["eval", "gold.csv", "--model", &bert, "--bootstrap", "50", "--out", out]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains(&format!("wrote the report to {out}")), "{}", run.stderr);
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
    // All rows, then each of the two targets.
    assert_eq!(json["slices"].as_array().unwrap().len(), 3);
    assert_eq!(json["slices"][0]["n"], 12);
    assert_eq!(json["slices"][1]["target"], "peace talks");
    assert_eq!(json["gold"][0]["format"], "table");
    assert_eq!(json["options"]["bootstrap"], 50);
    let provenance = &json["provenance"];
    assert_eq!(provenance["method"], "embedding");
    assert_eq!(provenance["input.gold.sha256"].as_str().unwrap().len(), 64);
    assert_eq!(provenance["model.weights_sha256"].as_str().unwrap().len(), 64);
    assert!(provenance["eval_options"].as_str().unwrap().contains("\"seed\":42"));

    let (table, provenance) = stance::corpus::read_table(&dir.path().join("report.parquet")).unwrap();
    assert_eq!(table.height(), 3);
    assert_eq!(table.column("f_avg").unwrap().f64().unwrap().get(0), json["slices"][0]["f_avg"].as_f64());
    assert_eq!(provenance.get("method"), Some("embedding"));
    let (csv, provenance) = stance::corpus::read_table(&dir.path().join("report.csv")).unwrap();
    assert_eq!(csv.width(), 39);
    let confusion: u64 = ["favor", "against", "none"]
        .iter()
        .flat_map(|g| ["favor", "against", "none"].map(|p| format!("gold_{g}_pred_{p}")))
        .map(|c| csv.column(&c).unwrap().i64().unwrap().get(0).unwrap() as u64)
        .sum();
    assert_eq!(confusion, 12);
    assert_eq!(provenance.get("input.gold.path"), Some("gold.csv"));
}

#[test]
fn predictions_read_back_without_a_model_give_the_same_report() {
    let dir = with_gold();
    let scored = stance(
        dir.path(),
        &[
            "eval",
            "gold.csv",
            "--model",
            &model("bert-embedding"),
            "--classes",
            "favor,against",
            "--predictions",
            "predictions.csv",
        ],
    );
    assert_eq!(scored.code, 0, "{}", scored.stderr);
    let read_back = stance(dir.path(), &["eval", "predictions.csv", "--classes", "favor,against"]);
    assert_eq!(read_back.code, 0, "{}", read_back.stderr);
    let body = |text: &str| text.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&read_back.stdout), body(&scored.stdout));
    assert!(read_back.stdout.starts_with("gold: predictions.csv (table layout, 12 rows)"));
    // The predictions file says where it came from.
    let sidecar = std::fs::read_to_string(dir.path().join("predictions.csv.provenance.json")).unwrap();
    assert!(sidecar.contains("\"input.gold.sha256\""), "{sidecar}");
}

#[test]
fn eval_of_rows_scored_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let scored = "text,target,date,gold,p_favor,p_against,p_none,label\n\
        a,x,2024-12-01,favor,0.8,0.1,0.1,favor\n\
        b,x,2024-12-15,against,0.2,0.7,0.1,against\n\
        c,x,2025-01-05,none,0.3,0.3,0.4,none\n\
        d,x,2025-01-20,favor,0.2,0.5,0.3,against\n\
        e,x,2025-02-01,against,0.6,0.3,0.1,favor\n\
        f,x,,none,0.1,0.1,0.8,none\n";
    std::fs::write(dir.path().join("scored.csv"), scored).unwrap();
    let labels_only = "text,target,label,predicted\na,x,favor,favor\nb,x,against,none\n";
    std::fs::write(dir.path().join("labels.csv"), labels_only).unwrap();
    let mut transcripts =
        stance(dir.path(), &["eval", "scored.csv", "--split-by-date", "2025-01-01"]).transcript();
    transcripts
        .push_str(&stance(dir.path(), &["eval", "labels.csv", "--pred-col", "predicted"]).transcript());
    insta::assert_snapshot!(transcripts);
}

#[test]
fn a_targets_file_restricts_the_targets_and_gives_their_hypotheses() {
    let dir = with_gold();
    let bert = model("bert-embedding");
    let toml = "[[target]]\nname = \"sanctions\"\nagainst = \"The author wants the sanctions lifted.\"\n";
    std::fs::write(dir.path().join("targets.toml"), toml).unwrap();
    let own = stance(
        dir.path(),
        &["eval", "gold.csv", "--model", &bert, "--targets", "targets.toml", "--predictions", "own.csv"],
    );
    assert_eq!(own.code, 0, "{}", own.stderr);
    assert!(
        own.stderr.contains("evaluating 6 of 12 rows (the others are about other targets)"),
        "{}",
        own.stderr
    );
    assert!(own.stdout.contains("\nall                                       6 "), "{}", own.stdout);
    let default = stance(
        dir.path(),
        &["eval", "gold.csv", "--model", &bert, "--target", "sanctions", "--predictions", "default.csv"],
    );
    assert_eq!(default.code, 0, "{}", default.stderr);
    let (own, provenance) = stance::corpus::read_table(&dir.path().join("own.csv")).unwrap();
    let (default, _) = stance::corpus::read_table(&dir.path().join("default.csv")).unwrap();
    assert_eq!(own.height(), 6);
    assert_ne!(own.column("p_against").unwrap(), default.column("p_against").unwrap());
    assert_eq!(own.column("p_favor").unwrap().len(), default.column("p_favor").unwrap().len());
    assert!(provenance.get("targets").unwrap().contains("The author wants the sanctions lifted."));
}

#[test]
fn a_templates_only_targets_file_applies_to_the_gold_sets_own_targets() {
    let dir = with_gold();
    let bert = model("bert-embedding");
    let toml = "[templates]\nagainst = \"The author wants no more {target}.\"\n";
    std::fs::write(dir.path().join("templates.toml"), toml).unwrap();
    let run = stance(
        dir.path(),
        &["eval", "gold.csv", "--model", &bert, "--targets", "templates.toml", "--predictions", "own.csv"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let default = stance(dir.path(), &["eval", "gold.csv", "--model", &bert, "--predictions", "default.csv"]);
    assert_eq!(default.code, 0, "{}", default.stderr);
    let (own, provenance) = stance::corpus::read_table(&dir.path().join("own.csv")).unwrap();
    let (default, _) = stance::corpus::read_table(&dir.path().join("default.csv")).unwrap();
    assert_eq!(own.height(), 12);
    assert_ne!(own.column("p_against").unwrap(), default.column("p_against").unwrap());
    let targets = provenance.get("targets").unwrap();
    assert!(targets.contains("The author wants no more peace talks."), "{targets}");
    assert!(targets.contains("The author wants no more sanctions."), "{targets}");
}

const SEMEVAL: &str = "ID\tTarget\tTweet\tStance\n\
10001\tAtheism\tPraying for everyone tonight, God is good. #SemST\tAGAINST\n\
10002\tAtheism\tReligion has no place in schools. #SemST\tFAVOR\n\
10003\tFeminist Movement\t\"She said \"\"equal pay\"\" and the room went quiet #SemST\"\tNONE\n\
10004\tFeminist Movement\tEqual rights for women, no exceptions. #SemST\tFAVOR\n";

const PSTANCE: &str = "Tweet,Target,Stance\n\
\"Great rally tonight, count me in for November!\",Joe Biden,FAVOR\n\
He will never get my vote.,Joe Biden,AGAINST\n";

const COVID19: &str = "Tweet,Target 1,Stance 1,Opinion Towards,Sentiment,Tweet Id\n\
\"Wear a mask, protect your neighbours.\",face masks,FAVOR,\"1.  The tweet explicitly expresses opinion about the target.\",pos,1.29E+18\n\
Schools have to open again this fall.,school closures,AGAINST,,neg,1.30E+18\n\
Press conference at noon today.,fauci,NONE,,neu,1.31E+18\n";

const VAST: &str = "Tweet,Target 1,Stance 1,seen?,GT Target,new_topic,Wiki\n\
\"Nuclear power should be part of the mix, and soon.\",nuclear power,FAVOR,0,invalid,nuclear power,\"A summary.\"\n\
Wind farms ruin the coast.,wind farms,AGAINST,0,invalid,wind farms,\"Another summary.\"\n";

#[test]
fn benchmark_layouts_are_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let files =
        [("semeval.tsv", SEMEVAL), ("pstance.csv", PSTANCE), ("covid.csv", COVID19), ("vast.csv", VAST)];
    let bert = model("bert-embedding");
    let mut transcripts = String::new();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
        let out = stance(dir.path(), &["eval", name, "--model", &bert, "--bootstrap", "20"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        // The first lines: the layout and the per-target slices.
        transcripts.push_str(
            &out.stdout.lines().take_while(|l| !l.starts_with("class")).collect::<Vec<_>>().join("\n"),
        );
        transcripts.push_str("\n\n");
    }
    // P-Stance files split by target read as one set; --format forces a layout.
    std::fs::write(
        dir.path().join("pstance2.csv"),
        "Tweet,Target,Stance\nMedicare for all!,Bernie Sanders,FAVOR\n",
    )
    .unwrap();
    let out = stance(
        dir.path(),
        &[
            "eval",
            "pstance.csv",
            "pstance2.csv",
            "--format",
            "pstance",
            "--model",
            &bert,
            "--bootstrap",
            "20",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    transcripts.push_str(&out.stdout.lines().take(9).collect::<Vec<_>>().join("\n"));
    insta::assert_snapshot!(transcripts);
}

#[test]
fn train_then_score_and_evaluate_with_the_head() {
    let dir = with_gold();
    let bert = model("bert-embedding");
    let train = stance(
        dir.path(),
        &[
            "train",
            "gold.csv",
            "--model",
            &bert,
            "--folds",
            "2",
            "--l2",
            "0.01,0.1",
            "--out",
            "head.safetensors",
        ],
    );
    assert_eq!(train.code, 0, "{}", train.stderr);
    // The iteration count follows the embeddings' last bits, which differ between CPUs' kernels.
    insta::with_settings!({ filters => vec![(r"\d+ L-BFGS iterations", "[N] L-BFGS iterations")] }, {
        insta::assert_snapshot!("train_prints_cross_validation", train.transcript());
    });

    std::fs::write(dir.path().join("corpus.csv"), "id,text\ns1,We are ready to negotiate.\ns2,No talks.\n")
        .unwrap();
    let score = stance(
        dir.path(),
        &[
            "score",
            "corpus.csv",
            "--target",
            "peace talks",
            "--model",
            &bert,
            "--head",
            "head.safetensors",
            "--out",
            "s.parquet",
        ],
    );
    assert_eq!(score.code, 0, "{}", score.stderr);
    let (scores, provenance) = stance::corpus::read_table(&dir.path().join("s.parquet")).unwrap();
    assert_eq!(scores.height(), 2);
    assert_eq!(provenance.get("method"), Some("embedding"));
    assert_eq!(provenance.get("input.head.sha256").map(str::len), Some(64));
    assert!(provenance.get("score_options").unwrap().contains("head.safetensors"));

    let eval = stance(
        dir.path(),
        &["eval", "gold.csv", "--model", &bert, "--head", "head.safetensors", "--bootstrap", "20"],
    );
    assert_eq!(eval.code, 0, "{}", eval.stderr);

    // Another model's embeddings are refused, naming both hashes.
    let other =
        stance(dir.path(), &["eval", "gold.csv", "--model", &model("bert"), "--head", "head.safetensors"]);
    insta::assert_snapshot!("head_refuses_another_model", other.transcript());
}

#[test]
fn eval_and_train_errors_name_what_is_wrong() {
    let dir = with_gold();
    let bert = model("bert-embedding");
    std::fs::write(
        dir.path().join("bad-label.csv"),
        "text,target,label\nfine,t,favor\n\"two\nlines\",t,MAYBE\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("no-label.csv"), "text,target,verdict\nfine,t,favor\n").unwrap();
    std::fs::write(dir.path().join("one-class.csv"), "text,target,label\na,t,favor\nb,t,favor\n").unwrap();
    std::fs::write(dir.path().join("head.safetensors"), "not a head").unwrap();
    let cases: [&[&str]; 12] = [
        &["eval", "bad-label.csv", "--model", &bert],
        &["eval", "no-label.csv", "--model", &bert],
        &["eval", "gold.csv"],
        &["eval", "gold.csv", "--model", &bert, "--split-by-date", "10/02/2025"],
        &["eval", "gold.csv", "--head", "head.safetensors"],
        &["eval", "gold.csv", "--model", &bert, "--target", "ceasefire"],
        &["eval", "gold.csv", "--model", &bert, "--head", "head.safetensors"],
        &["eval", "gold.csv", "--model", &bert, "--out", "report.xlsx"],
        &["eval", "gold.csv", "--model", &bert, "--classes", "maybe"],
        &["train", "one-class.csv", "--model", &bert, "--out", "h.safetensors"],
        &["train", "gold.csv", "--model", &bert, "--out", "head.bin"],
        &["train", "gold.csv", "--model", &bert, "--folds", "1", "--out", "h.safetensors"],
    ];
    let mut transcripts = String::new();
    for args in cases {
        let out = stance(dir.path(), args);
        let shown: Vec<&str> = args.iter().map(|a| if *a == bert { "[MODEL]" } else { a }).collect();
        transcripts.push_str(&format!("$ stance {}\n{}\n", shown.join(" "), out.transcript()));
    }
    insta::assert_snapshot!(transcripts);
}
