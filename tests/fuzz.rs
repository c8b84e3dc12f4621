//! Fuzzing what users hand `stance score`: corpus bytes (CSV, TSV, JSONL) and targets files.
//!
//! Inputs are assembled from the pieces that break parsers (quotes, separators and line
//! breaks inside fields, BOMs, ragged rows, near-miss dates, huge numbers, deep or duplicate
//! JSON, placeholders and wrong types in TOML), then mutated byte by byte (insertions,
//! replacements, cuts, invalid UTF-8). The properties: nothing panics, and whatever is
//! accepted keeps the contract: every corpus row has an id and a non-empty text, dates are
//! typed, skipped rows are counted; every target has a unique non-empty name and three
//! non-empty hypotheses.
//!
//! `cargo test` runs a fixed-seed sample of each (seconds). `scripts/fuzz.sh SECONDS` runs
//! random cases for that long per input kind and prints how many ran. Inputs that once
//! failed are kept as regression tests at the end of this file.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use polars::prelude::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use stance::corpus::{read_corpus, read_table, CorpusOptions};
use stance::targets::{Stance, TargetSet};

/// Column names users have, and names that collide with ours.
const NAMES: [&str; 18] = [
    "text",
    "actor",
    "date",
    "id",
    "source",
    "url",
    "lang",
    "body",
    "published",
    "",
    "label",
    "score",
    "p_favor",
    "input_text",
    "Текст",
    "a,b",
    "\"q\"",
    "text",
];

/// Bytes that change how a parser reads what follows.
const BYTES: [u8; 20] = [
    b'"', b',', b'\t', b'\n', b'\r', b'{', b'}', b'[', b']', b':', b'\\', b' ', b'0', b'-', b'T', b'Z', 0xFF,
    0xEF, 0xD0, 0x00,
];

fn date_like() -> impl Strategy<Value = String> {
    let year = prop::sample::select(vec!["2025", "0000", "9999", "-0001", "99999", "1969", "", "25"]);
    let month = prop::sample::select(vec!["01", "12", "13", "00", "1", "02", ""]);
    let day = prop::sample::select(vec!["28", "29", "30", "31", "00", "32", "1", ""]);
    let time = prop::sample::select(vec![
        "",
        "T10:30",
        "T24:00",
        "T23:59:60",
        " 10:30:00.123456789",
        "T10:30:00.5Z",
        "T10:30+03:00",
        "T10:30-25:00",
        "T10:30+14:00",
        "T10",
        "T1:2:3",
        "Z",
        "T10:30:00.0000000000001",
        "t10:30z",
    ]);
    (year, month, day, time).prop_map(|(y, m, d, t)| format!("{y}-{m}-{d}{t}"))
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => date_like(),
        1 => prop::sample::select(vec![
            "0", "-0", "007", "1e309", "-1e-400", "NaN", "inf", "99999999999999999999",
            "-9223372036854775808", "9223372036854775808", "1.5", ".5", "5.", "true", "FALSE", "null",
        ])
        .prop_map(String::from),
        4 => "[a-zA-Z0-9 ,;:'\"\\\\{}\\[\\]\t\r\nПєсковМир😀\u{200B}\u{FEFF}\u{202E}é-]{0,24}",
    ]
}

/// A CSV/TSV field: raw, or quoted with inner quotes doubled.
fn csv_field(separator: u8) -> impl Strategy<Value = String> {
    (scalar(), any::<bool>()).prop_map(move |(value, quoted)| {
        if quoted {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            value.replace(separator as char, " ")
        }
    })
}

/// Byte edits applied after assembly: (where, what, byte).
fn mutations() -> impl Strategy<Value = Vec<(usize, u8, usize)>> {
    prop::collection::vec((any::<usize>(), 0u8..3, 0..BYTES.len()), 0..4)
}

fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, usize)]) -> Vec<u8> {
    for &(at, op, byte) in edits {
        let at = at % (bytes.len() + 1);
        match op {
            0 => bytes.insert(at, BYTES[byte]),
            1 if at < bytes.len() => bytes[at] = BYTES[byte],
            _ => bytes.truncate(at),
        }
    }
    bytes
}

/// A delimited file: optional BOM, a header, ragged rows, mixed line endings, blank lines.
fn delimited(separator: u8) -> impl Strategy<Value = Vec<u8>> {
    let header = prop::collection::vec(prop::sample::select(NAMES.to_vec()), 1..6);
    let rows = prop::collection::vec(prop::collection::vec(csv_field(separator), 0..7), 0..8);
    let ending = prop::sample::select(vec!["\n", "\r\n", "\r", "\n\n"]);
    (any::<bool>(), header, rows, ending, mutations()).prop_map(move |(bom, header, rows, ending, edits)| {
        let sep = (separator as char).to_string();
        let mut text = if bom { "\u{FEFF}".to_owned() } else { String::new() };
        let quote = |name: &str| {
            if name.contains([',', '"', '\t']) {
                format!("\"{}\"", name.replace('"', "\"\""))
            } else {
                name.to_owned()
            }
        };
        text.push_str(&header.iter().map(|n| quote(n)).collect::<Vec<_>>().join(&sep));
        for row in rows {
            text.push_str(ending);
            text.push_str(&row.join(&sep));
        }
        mutate(text.into_bytes(), &edits)
    })
}

fn json_string(value: &str) -> String {
    serde_json::to_string(value).expect("strings serialize")
}

/// A JSON value as text, numbers and nesting included that serde_json may refuse.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        prop::sample::select(vec!["0", "-0", "1e400", "12345678901234567890", "-1.5e-7", "3", "01", "1."])
            .prop_map(String::from),
        scalar().prop_map(|s| json_string(&s)),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((prop::sample::select(NAMES.to_vec()), inner), 0..4).prop_map(|fields| {
                let fields: Vec<String> =
                    fields.iter().map(|(k, v)| format!("{}:{v}", json_string(k))).collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

/// NDJSON: objects with our column names (duplicates allowed), stray non-object lines.
fn jsonl() -> impl Strategy<Value = Vec<u8>> {
    let object = prop::collection::vec((prop::sample::select(NAMES.to_vec()), json_value()), 0..6).prop_map(
        |fields| {
            let fields: Vec<String> =
                fields.iter().map(|(k, v)| format!("{}: {v}", json_string(k))).collect();
            format!("{{{}}}", fields.join(", "))
        },
    );
    let line = prop_oneof![
        8 => object,
        1 => prop::sample::select(vec!["", "   ", "[1,2]", "null", "{", "\"text\"", "{\"text\":\"a\"} {}"])
            .prop_map(String::from),
        1 => json_value(),
    ];
    let ending = prop::sample::select(vec!["\n", "\r\n"]);
    (prop::collection::vec(line, 0..8), ending, mutations())
        .prop_map(|(lines, ending, edits)| mutate(lines.join(ending).into_bytes(), &edits))
}

/// Column mapping and skipping, as `--text-col` etc. would set them.
fn corpus_options() -> impl Strategy<Value = CorpusOptions> {
    let column = || prop::option::weighted(0.2, prop::sample::select(NAMES.to_vec()).prop_map(String::from));
    (column(), column(), column(), column(), any::<bool>()).prop_map(
        |(text_col, actor_col, date_col, id_col, skip_invalid)| CorpusOptions {
            text_col,
            actor_col,
            date_col,
            id_col,
            skip_invalid,
        },
    )
}

/// The corpus contract for anything `read_corpus` accepts.
fn check_corpus(path: &Path, options: &CorpusOptions) -> Result<(), TestCaseError> {
    let _ = read_table(path);
    let Ok(corpus) = read_corpus(path, options) else { return Ok(()) };
    let frame = &corpus.frame;
    prop_assert!(frame.height() >= 1, "an accepted corpus has rows");
    let text = frame.column("text").map_err(fail)?.str().map_err(fail)?;
    prop_assert!(text.iter().all(|t| t.is_some_and(|t| !t.trim().is_empty())), "every text is non-empty");
    let id = frame.column("id").map_err(fail)?.str().map_err(fail)?;
    prop_assert!(id.iter().all(|i| i.is_some_and(|i| !i.is_empty())), "every row has an id");
    if let Ok(date) = frame.column("date") {
        let typed = matches!(date.dtype(), DataType::Date | DataType::Datetime(TimeUnit::Microseconds, None));
        prop_assert!(typed, "dates are typed, not {:?}", date.dtype());
    }
    prop_assert!(options.skip_invalid || corpus.skipped.is_empty(), "rows are skipped only when asked");
    prop_assert_eq!(
        corpus.input_rows,
        frame.height() + corpus.skipped.len(),
        "every input row is accounted for"
    );
    Ok(())
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

/// A TOML string literal (basic string, escaped).
fn toml_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "The author supports {target}.",
            "no placeholder",
            "{target}{target}",
            "{ target }",
            "{{target}}",
            "",
            "   ",
            "{target",
            "Автор поддерживает {target}.",
            "peace talks",
            "  peace talks ",
            "Мир",
            "a\"b\\c",
            "\u{0}{target}",
        ])
        .prop_map(toml_string),
        1 => scalar().prop_map(|s| toml_string(&s)),
        1 => prop::sample::select(vec!["3", "true", "[\"a\"]", "{ a = 1 }", "1979-05-27", "'''x'''"]).prop_map(String::from),
    ]
}

/// A targets file: optional templates, target tables with overrides, unknown keys.
fn targets_toml() -> impl Strategy<Value = Vec<u8>> {
    let key = prop::sample::select(vec!["name", "name", "favor", "against", "none", "nam", "weight"]);
    let entry = prop::collection::vec((key, toml_value()), 0..5);
    let template_key = prop::sample::select(vec!["favor", "against", "none", "neutral"]);
    let templates = prop::option::of(prop::collection::vec((template_key, toml_value()), 0..4));
    (templates, prop::collection::vec(entry, 0..5), mutations()).prop_map(|(templates, entries, edits)| {
        let mut text = String::new();
        if let Some(fields) = templates {
            text.push_str("[templates]\n");
            for (k, v) in fields {
                text.push_str(&format!("{k} = {v}\n"));
            }
        }
        for fields in entries {
            text.push_str("\n[[target]]\n");
            for (k, v) in fields {
                text.push_str(&format!("{k} = {v}\n"));
            }
        }
        mutate(text.into_bytes(), &edits)
    })
}

/// The targets contract for anything `from_toml_str` accepts.
fn check_targets(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(text) = std::str::from_utf8(bytes) else { return Ok(()) };
    let Ok(set) = TargetSet::from_toml_str(text, Path::new("targets.toml")) else { return Ok(()) };
    prop_assert!(!set.targets.is_empty(), "an accepted file has targets");
    for (i, target) in set.targets.iter().enumerate() {
        prop_assert!(!target.name.trim().is_empty(), "target {} has a name", i + 1);
        prop_assert!(set.targets[..i].iter().all(|t| t.name != target.name), "names are unique");
        for stance in Stance::ALL {
            prop_assert!(
                !target.hypothesis(stance).trim().is_empty(),
                "target `{}` has an empty {} hypothesis",
                target.name,
                stance.as_str()
            );
        }
    }
    Ok(())
}

/// Input bytes, shown as text when a failure is reported.
#[derive(Clone)]
struct Input(Vec<u8>);

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(text) => write!(f, "{text:?}"),
            Err(_) => write!(f, "{:?} (invalid UTF-8: {:?})", String::from_utf8_lossy(&self.0), self.0),
        }
    }
}

/// Where each input kind is written to be read.
struct Scratch {
    _dir: tempfile::TempDir,
    csv: PathBuf,
    tsv: PathBuf,
    jsonl: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str| dir.path().join(name);
        Self { csv: file("c.csv"), tsv: file("c.tsv"), jsonl: file("c.jsonl"), _dir: dir }
    }
}

/// Runs the four fuzz targets: `cases` each with a fixed seed, or random cases until
/// `deadline` per target. Returns executions per target; panics with the smallest failing
/// input found.
fn fuzz(cases: u32, seed: Option<u64>, time_per_target: Option<Duration>) -> Vec<(&'static str, u64)> {
    let scratch = Scratch::new();
    let mut report = Vec::new();
    let config = Config {
        cases,
        rng_seed: seed.map_or(RngSeed::Random, RngSeed::Fixed),
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    };
    let runs = Cell::new(0u64);
    let mut run = |name: &'static str, run_once: &mut dyn FnMut(&mut TestRunner) -> Result<(), String>| {
        runs.set(0);
        let deadline = time_per_target.map(|t| Instant::now() + t);
        loop {
            let mut runner = TestRunner::new(config.clone());
            if let Err(failure) = run_once(&mut runner) {
                panic!("fuzz target {name} failed after {} executions:\n{failure}", runs.get());
            }
            if deadline.is_none_or(|d| Instant::now() >= d) {
                break;
            }
        }
        report.push((name, runs.get()));
    };
    fn outcome<T: std::fmt::Debug>(result: Result<(), TestError<T>>) -> Result<(), String> {
        result.map_err(|e| e.to_string())
    }
    run("csv", &mut |runner| {
        outcome(runner.run(&(delimited(b',').prop_map(Input), corpus_options()), |(input, options)| {
            runs.set(runs.get() + 1);
            std::fs::write(&scratch.csv, &input.0).unwrap();
            check_corpus(&scratch.csv, &options)
        }))
    });
    run("tsv", &mut |runner| {
        outcome(runner.run(&(delimited(b'\t').prop_map(Input), corpus_options()), |(input, options)| {
            runs.set(runs.get() + 1);
            std::fs::write(&scratch.tsv, &input.0).unwrap();
            check_corpus(&scratch.tsv, &options)
        }))
    });
    run("jsonl", &mut |runner| {
        outcome(runner.run(&(jsonl().prop_map(Input), corpus_options()), |(input, options)| {
            runs.set(runs.get() + 1);
            std::fs::write(&scratch.jsonl, &input.0).unwrap();
            check_corpus(&scratch.jsonl, &options)
        }))
    });
    run("targets", &mut |runner| {
        outcome(runner.run(&targets_toml().prop_map(Input), |input| {
            runs.set(runs.get() + 1);
            check_targets(&input.0)
        }))
    });
    report
}

#[test]
fn ingestion_and_targets_keep_their_contract_on_a_fixed_sample() {
    fuzz(300, Some(20_251_125), None);
}

/// `scripts/fuzz.sh SECONDS`: random cases for `STANCE_FUZZ_SECONDS` per input kind.
#[test]
#[ignore = "runs for minutes; use scripts/fuzz.sh"]
fn fuzz_for_a_while() {
    let seconds: u64 = std::env::var("STANCE_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let report = fuzz(500, None, Some(Duration::from_secs(seconds)));
    for (name, executions) in report {
        println!("fuzz {name}: {executions} executions in {seconds}s, no failure");
    }
}

// Regressions: inputs the fuzzer found, kept as they were found.

/// `scripts/fuzz.sh` (targets, after 3020 executions): an empty per-target override was
/// accepted and would have been scored as a hypothesis.
#[test]
fn regression_an_empty_hypothesis_is_refused() {
    let text = "[[target]]\nname = \"{target\"\nfavor = \"\"\n";
    let error = TargetSet::from_toml_str(text, Path::new("targets.toml")).unwrap_err();
    assert_eq!(error.to_string(), "targets.toml: target `{target` has an empty `favor` hypothesis");
}
