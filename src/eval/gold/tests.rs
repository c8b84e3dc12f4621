//! The gold readers on small excerpts written for these tests in each benchmark's layout
//! (the benchmarks themselves are never copied into the repository).

use std::path::PathBuf;

use super::*;
use Stance::{Against as A, Favor as F, None as N};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn read(
    dir: &tempfile::TempDir,
    name: &str,
    text: &str,
    options: &GoldOptions,
) -> Result<GoldSet, EvalError> {
    let path = write(dir, name, text);
    read_gold(&[path], options)
}

const SEMEVAL: &str = "ID\tTarget\tTweet\tStance\n\
10001\tAtheism\tPraying for everyone tonight, God is good. #SemST\tAGAINST\n\
10002\tClimate Change is a Real Concern\tWe need to cut emissions before it is too late #SemST\tFAVOR\n\
10003\tFeminist Movement\t\"She said \"\"equal pay\"\" and the room went quiet #SemST\"\tNONE\n";

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

const VAST_ORIGINAL: &str = "author,post,new_topic,label,seen?\n\
a1,Tuition should be free for everyone.,free college,1,0\n\
a2,Taxes would have to rise far too much.,free college,0,0\n\
a3,The debate happened last week.,free college,2,1\n";

#[test]
fn semeval_tsv() {
    let dir = tempfile::tempdir().unwrap();
    let gold = read(&dir, "semeval.tsv", SEMEVAL, &GoldOptions::default()).unwrap();
    assert_eq!(gold.files[0].format, GoldFormat::Semeval);
    assert_eq!(gold.labels, [Some(A), Some(F), Some(N)]);
    assert_eq!(gold.targets[1], "Climate Change is a Real Concern");
    // Quoted fields follow CSV quoting, as in the distributed files.
    assert_eq!(gold.texts[2], "She said \"equal pay\" and the room went quiet #SemST");
    assert_eq!(gold.files[0].columns["text"], "Tweet");
    assert!(gold.given.is_none());
}

#[test]
fn pstance_csv() {
    let dir = tempfile::tempdir().unwrap();
    let gold = read(&dir, "p.csv", PSTANCE, &GoldOptions::default()).unwrap();
    assert_eq!(gold.files[0].format, GoldFormat::Pstance);
    assert_eq!(gold.labels, [Some(F), Some(A)]);
    assert_eq!(gold.target_names(), ["Joe Biden"]);
}

#[test]
fn covid19_csv() {
    let dir = tempfile::tempdir().unwrap();
    let gold = read(&dir, "c.csv", COVID19, &GoldOptions::default()).unwrap();
    assert_eq!(gold.files[0].format, GoldFormat::Covid19);
    assert_eq!(gold.labels, [Some(F), Some(A), Some(N)]);
    assert_eq!(gold.target_names(), ["face masks", "school closures", "fauci"]);
}

#[test]
fn vast_in_both_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let gold = read(&dir, "v.csv", VAST, &GoldOptions::default()).unwrap();
    assert_eq!(gold.files[0].format, GoldFormat::Vast);
    assert_eq!(gold.labels, [Some(F), Some(A)]);
    assert_eq!(gold.targets, ["nuclear power", "wind farms"]);
    // The original release: 1 = pro, 0 = con, 2 = neutral.
    let gold = read(&dir, "vo.csv", VAST_ORIGINAL, &GoldOptions::default()).unwrap();
    assert_eq!(gold.files[0].format, GoldFormat::Vast);
    assert_eq!(gold.labels, [Some(F), Some(A), Some(N)]);
    assert_eq!(gold.texts[0], "Tuition should be free for everyone.");
    // Numbers mean nothing in other layouts.
    let options = GoldOptions { format: Some(GoldFormat::Table), ..GoldOptions::default() };
    let table = "text,target,label\nx,t,1\n";
    assert!(matches!(read(&dir, "t.csv", table, &options), Err(EvalError::UnknownLabel { .. })));
}

#[test]
fn plain_tables_with_mapped_columns_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let text = "statement,topic,code\nWe back the talks.,talks,PRO\nNo talks with them.,talks,ANTI\nIt rained.,talks,NEUTRAL\n";
    let mut label_map = BTreeMap::new();
    label_map.insert("anti".to_owned(), A);
    let options = GoldOptions {
        text_col: Some("statement".into()),
        target_col: Some("topic".into()),
        label_cols: vec!["code".into()],
        label_map,
        ..GoldOptions::default()
    };
    let gold = read(&dir, "g.csv", text, &options).unwrap();
    assert_eq!(gold.files[0].format, GoldFormat::Table);
    // PRO and NEUTRAL are common spellings; ANTI comes from the map (case-insensitive).
    assert_eq!(gold.labels, [Some(F), Some(A), Some(N)]);
}

#[test]
fn one_target_files_take_it_from_the_options() {
    let dir = tempfile::tempdir().unwrap();
    let text = "text,label\nYes to talks.,favor\nNo to talks.,against\n";
    let err = read(&dir, "g.csv", text, &GoldOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: no target column (looked for \"target\", table layout); the columns are \"text\", \"label\"; \
             name it with --target-col, or give --target NAME when every row is about one target",
            dir.path().join("g.csv").display()
        )
    );
    let options = GoldOptions { targets: vec!["peace talks".into()], ..GoldOptions::default() };
    let gold = read(&dir, "g.csv", text, &options).unwrap();
    assert_eq!(gold.targets, ["peace talks", "peace talks"]);
}

#[test]
fn targets_filter_rows_and_unknown_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let options = GoldOptions { targets: vec!["fauci".into()], ..GoldOptions::default() };
    let gold = read(&dir, "c.csv", COVID19, &options).unwrap();
    assert_eq!(gold.len(), 1);
    assert_eq!(gold.input_rows(), 3);
    let options = GoldOptions { targets: vec!["vaccines".into()], ..GoldOptions::default() };
    let err = read(&dir, "c.csv", COVID19, &options).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "no row has target \"vaccines\"; the targets are \"face masks\", \"fauci\", \"school closures\""
        ),
        "{err}"
    );
}

#[test]
fn bad_labels_and_texts_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let text = "text,target,label\nfine,t,favor\n\"two\nlines\",t,MAYBE\n";
    let err = read(&dir, "g.csv", text, &GoldOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: row 2 (line 3), column \"label\": \"MAYBE\" is not a stance label; expected favor, against or none \
             (map other labels with --label-map LABEL=favor|against|none)",
            dir.path().join("g.csv").display()
        )
    );
    let text = "text,target,label\nfine,t,favor\n ,t,against\n";
    let err = read(&dir, "g.csv", text, &GoldOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("row 2 (line 3), column \"text\": the value is empty; expected the statement's text"),
        "{err}"
    );
    // An empty label is not a stance either.
    let text = "text,target,label\nfine,t,\n";
    assert!(matches!(
        read(&dir, "g.csv", text, &GoldOptions::default()),
        Err(EvalError::UnknownLabel { at: crate::corpus::Location::Row { row: 1, line: Some(2) }, .. })
    ));
}

#[test]
fn scored_tables_carry_their_predictions() {
    let dir = tempfile::tempdir().unwrap();
    // A scores table: `label` is the prediction, the gold is in `gold`.
    let text = "text,target,gold,p_favor,p_against,p_none,label\n\
                a,t,favor,0.7,0.2,0.1,favor\nb,t,none,0.1,0.6,0.3,against\n";
    let gold = read(&dir, "s.csv", text, &GoldOptions::default()).unwrap();
    assert_eq!(gold.labels, [Some(F), Some(N)]);
    assert_eq!(gold.files[0].columns["label"], "gold");
    assert_eq!(gold.given, Some(GivenPredictions::Probabilities(vec![[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]])));
    // `stance score` keeps a gold `label` column as `input_label`.
    let text = "text,target,input_label,p_favor,p_against,p_none,label\na,t,against,0.2,0.5,0.3,against\n";
    assert_eq!(read(&dir, "s2.csv", text, &GoldOptions::default()).unwrap().labels, [Some(A)]);
    // Predicted labels alone.
    let text = "text,target,label,prediction\na,t,favor,against\n";
    let options = GoldOptions { pred_col: Some("prediction".into()), ..GoldOptions::default() };
    let gold = read(&dir, "l.csv", text, &options).unwrap();
    assert_eq!(gold.given, Some(GivenPredictions::Labels(vec![A])));
    // A probability out of range is located.
    let text = "text,target,gold,p_favor,p_against,p_none\na,t,favor,0.7,0.2,0.1\nb,t,none,1.5,0,0\n";
    let err = read(&dir, "bad.csv", text, &GoldOptions::default()).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "row 2 (line 3), column \"p_favor\": 1.5 is not a probability; expected a number in [0, 1]"
        ),
        "{err}"
    );
}

#[test]
fn several_files_make_one_set() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(&dir, "a.csv", PSTANCE);
    let b = write(&dir, "b.csv", "Tweet,Target,Stance\nMedicare for all!,Bernie Sanders,FAVOR\n");
    let gold = read_gold(&[a.clone(), b], &GoldOptions::default()).unwrap();
    assert_eq!(gold.files.len(), 2);
    assert_eq!(gold.target_names(), ["Joe Biden", "Bernie Sanders"]);
    assert_eq!(gold.labels, [Some(F), Some(A), Some(F)]);
    // Predictions only count when every file has them.
    let scored = write(&dir, "s.csv", "text,target,gold,p_favor,p_against,p_none\nx,Joe Biden,favor,1,0,0\n");
    let gold = read_gold(&[scored, a], &GoldOptions::default()).unwrap();
    assert!(gold.given.is_none());
    assert!(gold.files[0].scored && !gold.files[1].scored);
}

#[test]
fn dates_are_read_only_when_asked_and_located_when_bad() {
    let dir = tempfile::tempdir().unwrap();
    let text = "text,target,label,date\na,t,favor,2025-01-02\nb,t,none,\nc,t,against,02/01/2025\n";
    let gold = read(&dir, "d.csv", text, &GoldOptions::default()).unwrap();
    assert!(gold.dates.is_none());
    let options = GoldOptions { need_dates: true, ..GoldOptions::default() };
    let err = read(&dir, "d.csv", text, &options).unwrap_err();
    assert!(
        err.to_string().contains("row 3 (line 4), column \"date\": cannot parse \"02/01/2025\""),
        "{err}"
    );
    let text = "text,target,label,date\na,t,favor,2025-01-02\nb,t,none,\n";
    let gold = read(&dir, "d.csv", text, &options).unwrap();
    let dates = gold.dates.unwrap();
    assert!(dates[0].is_some() && dates[1].is_none());
    // Without a date column, a split cannot be made.
    let err = read(&dir, "p.csv", PSTANCE, &options).unwrap_err();
    assert!(matches!(err, EvalError::MissingColumn { role: "date", .. }), "{err}");
}

#[test]
fn detection_prefers_the_most_specific_layout() {
    assert_eq!(GoldFormat::detect(&["ID", "Target", "Tweet", "Stance"]), GoldFormat::Semeval);
    assert_eq!(GoldFormat::detect(&["Tweet", "Target", "Stance"]), GoldFormat::Pstance);
    assert_eq!(GoldFormat::detect(&["text", "target", "label"]), GoldFormat::Table);
    assert_eq!(map_label(" favor ", GoldFormat::Table, &BTreeMap::new()), Some(F));
}

#[test]
fn several_label_columns_are_coders_with_a_majority_gold_label() {
    let dir = tempfile::tempdir().unwrap();
    // Row 2: a tie (favor, against, blank); row 3: two of three say none; row 4: no label.
    let text =
        "text,target,c1,c2,c3\na,t,favor,favor,against\nb,t,favor,against,\nc,t,none,NEUTRAL,favor\nd,t,,,\n";
    let options =
        GoldOptions { label_cols: vec!["c1".into(), "c2".into(), "c3".into()], ..GoldOptions::default() };
    let gold = read(&dir, "coders.csv", text, &options).unwrap();
    assert_eq!(gold.labels, [Some(F), None, Some(N), None]);
    assert_eq!(gold.unlabelled(), 2);
    let coders = gold.coders.unwrap();
    assert_eq!(coders.names, ["c1", "c2", "c3"]);
    assert_eq!(coders.labels[1], [Some(F), Some(A), None]);
    assert_eq!(gold.files[0].columns["label"], "c1,c2,c3");
    // One column named: as before, a blank label is an error.
    let options = GoldOptions { label_cols: vec!["c3".into()], ..GoldOptions::default() };
    assert!(matches!(read(&dir, "one.csv", text, &options), Err(EvalError::UnknownLabel { .. })));
    // A coder column that is not there is named.
    let options = GoldOptions { label_cols: vec!["c1".into(), "c9".into()], ..GoldOptions::default() };
    let error = read(&dir, "missing.csv", text, &options).unwrap_err();
    assert!(error.to_string().contains("no gold label column (looked for \"c9\""), "{error}");
    let options =
        GoldOptions { label_cols: vec!["c1".into(), "c2".into(), "c1".into()], ..GoldOptions::default() };
    let error = read(&dir, "twice.csv", text, &options).unwrap_err();
    assert!(error.to_string().contains("\"c1\" given twice"), "{error}");
}

#[test]
fn sampling_weights_are_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let text = "text,target,label,sample_weight\na,t,favor,2.5\nb,t,against,10\n";
    let gold = read(&dir, "w.csv", text, &GoldOptions::default()).unwrap();
    assert_eq!(gold.weights, Some(vec![2.5, 10.0]));
    let gold = read(&dir, "none.csv", "text,target,label\na,t,favor\n", &GoldOptions::default()).unwrap();
    assert_eq!(gold.weights, None);
    let bad = "text,target,label,sample_weight\na,t,favor,2\nb,t,against,0\n";
    let error = read(&dir, "bad.csv", bad, &GoldOptions::default()).unwrap_err();
    assert!(
        error.to_string().contains("row 2 (line 3), column \"sample_weight\": 0 is not a sampling weight"),
        "{error}"
    );
}
