//! End-to-end tests of [`read_corpus`] on files written at test time.

use std::path::PathBuf;

use chrono::NaiveDate;
use polars::prelude::*;

use super::*;
use crate::output::write_table;

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("temp dir"))
    }

    fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, bytes).expect("write test file");
        path
    }
}

fn read(path: &Path) -> Result<Corpus, CorpusError> {
    read_corpus(path, &CorpusOptions::default())
}

fn skipping() -> CorpusOptions {
    CorpusOptions { skip_invalid: true, ..CorpusOptions::default() }
}

fn names(frame: &DataFrame) -> Vec<String> {
    frame.get_column_names().iter().map(|n| n.to_string()).collect()
}

fn strings(frame: &DataFrame, name: &str) -> Vec<Option<String>> {
    let column = frame.column(name).expect("column").cast(&DataType::String).expect("as text");
    column.str().expect("strings").iter().map(|v| v.map(str::to_owned)).collect()
}

fn some(values: &[&str]) -> Vec<Option<String>> {
    values.iter().map(|v| Some((*v).to_owned())).collect()
}

fn days(y: i32, m: u32, d: u32) -> i32 {
    let date = NaiveDate::from_ymd_opt(y, m, d).expect("test date");
    date.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// The message of an error, with the temp dir's path replaced by `DIR`.
fn message(err: &CorpusError, dir: &Dir) -> String {
    err.to_string().replace(&dir.0.path().display().to_string(), "DIR")
}

#[test]
fn csv_with_bom_crlf_quoted_newlines_and_cyrillic() {
    let dir = Dir::new();
    let path = dir.file(
        "corpus.csv",
        "\u{FEFF}lang,text,actor,date,url\r\n\
         uk,\"Україна готова до переговорів, але \"\"не ціною територій\"\".\r\nДругий абзац.\",Зеленський,2025-08-14,https://a/1\r\n\
         ru,Россия всегда открыта для мирных переговоров.,Песков,2025-08-15,https://a/2\r\n\
         en,\"We support sanctions, fully.\",White House,2025-09-01,\r\n",
    );
    let corpus = read(&path).unwrap();
    assert_eq!(names(&corpus.frame), ["id", "text", "actor", "date", "lang", "url"]);
    assert_eq!(corpus.format, InputFormat::Csv);
    assert_eq!(corpus.input_rows, 3);
    assert!(corpus.derived_ids);
    assert!(corpus.skipped.is_empty());
    assert_eq!(
        strings(&corpus.frame, "text"),
        some(&[
            "Україна готова до переговорів, але \"не ціною територій\".\nДругий абзац.",
            "Россия всегда открыта для мирных переговоров.",
            "We support sanctions, fully.",
        ])
    );
    assert_eq!(strings(&corpus.frame, "actor"), some(&["Зеленський", "Песков", "White House"]));
    assert_eq!(corpus.frame.column("date").unwrap().dtype(), &DataType::Date);
    let got: Vec<Option<i32>> =
        corpus.frame.column("date").unwrap().date().unwrap().physical().iter().collect();
    assert_eq!(got, vec![Some(days(2025, 8, 14)), Some(days(2025, 8, 15)), Some(days(2025, 9, 1))]);
    assert_eq!(strings(&corpus.frame, "url")[2], None);
    let ids = strings(&corpus.frame, "id");
    assert_eq!(
        ids[1].as_deref(),
        Some(
            derive_id(
                "Россия всегда открыта для мирных переговоров.",
                Some("Песков"),
                Some("2025-08-15"),
                None
            )
            .as_str()
        )
    );
}

/// Classic Mac OS programs end lines with CR alone; errors count those lines as an editor does.
#[test]
fn lines_ended_by_cr_alone() {
    let dir = Dir::new();
    let path =
        dir.file("mac.csv", "text,actor,date\r\"Peace\rnow\",Kremlin,2025-08-14\rWar,Kyiv,2025-08-15\r");
    let corpus = read(&path).unwrap();
    assert_eq!(strings(&corpus.frame, "text"), some(&["Peace\nnow", "War"]));
    assert_eq!(strings(&corpus.frame, "actor"), some(&["Kremlin", "Kyiv"]));
    let path = dir.file("bad.csv", "text,date\ra,2025-08-14\rb,14/08/2025\r");
    let err = message(&read(&path).unwrap_err(), &dir);
    assert!(err.contains("row 2 (line 3), column \"date\""), "{err}");
}

#[test]
fn ids_are_stable_across_reads_and_formats_and_shared_by_duplicates() {
    let dir = Dir::new();
    let csv = dir.file(
        "c.csv",
        "text,actor,date,source\nA,X,2025-08-14T10:30:00+03:00,TASS\nA,X,2025-08-14T10:30:00+03:00,TASS\n",
    );
    let jsonl = dir.file(
        "c.jsonl",
        "{\"text\":\"A\",\"actor\":\"X\",\"date\":\"2025-08-14 07:30Z\",\"source\":\"TASS\"}\n",
    );
    let first = strings(&read(&csv).unwrap().frame, "id");
    let again = strings(&read(&csv).unwrap().frame, "id");
    let json = strings(&read(&jsonl).unwrap().frame, "id");
    assert_eq!(first, again);
    assert_eq!(first[0], first[1]);
    assert_eq!(first[0], json[0]);
    assert_eq!(
        first[0].as_deref(),
        Some(derive_id("A", Some("X"), Some("2025-08-14T07:30:00.000000"), Some("TASS")).as_str())
    );
}

#[test]
fn given_ids_are_text_and_empty_ones_are_derived() {
    let dir = Dir::new();
    let path = dir.file("c.csv", "id,text\n007,a\n,b\n12,c\n");
    let corpus = read(&path).unwrap();
    let ids = strings(&corpus.frame, "id");
    assert_eq!(ids[0].as_deref(), Some("007"));
    assert_eq!(ids[1].as_deref(), Some(derive_id("b", None, None, None).as_str()));
    assert_eq!(ids[2].as_deref(), Some("12"));
    assert!(corpus.derived_ids);
    assert_eq!(names(&corpus.frame), ["id", "text"]);
}

#[test]
fn mapped_columns_are_renamed_and_the_rest_passes_through_in_order() {
    let dir = Dir::new();
    let path = dir.file(
        "c.tsv",
        "uid\tspeaker\tbody\tfollowers\tpublished\tnote\n\
         1\tKremlin\t\"Talks are \"\"possible\"\".\"\t10\t2025-08-14\tx\n",
    );
    let options = CorpusOptions {
        text_col: Some("body".into()),
        actor_col: Some("speaker".into()),
        date_col: Some("published".into()),
        id_col: Some("uid".into()),
        skip_invalid: false,
    };
    let corpus = read_corpus(&path, &options).unwrap();
    assert_eq!(names(&corpus.frame), ["id", "text", "actor", "date", "followers", "note"]);
    assert_eq!(strings(&corpus.frame, "id"), some(&["1"]));
    assert_eq!(strings(&corpus.frame, "text"), some(&["Talks are \"possible\"."]));
    assert_eq!(corpus.frame.column("followers").unwrap().dtype(), &DataType::Int64);
    assert!(!corpus.derived_ids);
    assert_eq!(corpus.format, InputFormat::Tsv);
}

#[test]
fn actor_and_date_are_optional() {
    let dir = Dir::new();
    let path = dir.file("c.csv", "text,other\nhello,1\n");
    let corpus = read(&path).unwrap();
    assert_eq!(names(&corpus.frame), ["id", "text", "other"]);
}

#[test]
fn missing_text_column_lists_the_columns() {
    let dir = Dir::new();
    let path = dir.file("corpus.csv", "body,speaker,when\na,b,2025-08-14\n");
    let err = read(&path).unwrap_err();
    assert_eq!(
        message(&err, &dir),
        "DIR/corpus.csv: no text column \"text\"; the columns are \"body\", \"speaker\", \"when\""
    );
}

#[test]
fn a_semicolon_separated_file_is_named_as_such() {
    let dir = Dir::new();
    let path = dir.file("corpus.csv", "id;actor;text\n1;Kremlin;Talks are possible.\n");
    let err = read(&path).unwrap_err();
    assert_eq!(
        message(&err, &dir),
        "DIR/corpus.csv: no text column \"text\"; the columns are \"id;actor;text\" (one column: the file \
         seems separated by ';'; CSV files are read with commas and .tsv files with tabs, so re-save it as \
         comma-separated CSV or TSV)"
    );
    let piped = dir.file("piped.csv", "id|actor|text\n1|Kremlin|Talks are possible.\n");
    assert!(message(&read(&piped).unwrap_err(), &dir).contains("separated by '|'"));
    // A one-column file without such a character gets no hint.
    let single = dir.file("single.csv", "body\nTalks are possible.\n");
    assert!(!message(&read(&single).unwrap_err(), &dir).contains("separated by"));
}

#[test]
fn missing_mapped_column_is_an_error() {
    let dir = Dir::new();
    let path = dir.file("corpus.csv", "text,date\na,2025-08-14\n");
    let options = CorpusOptions { date_col: Some("published".into()), ..CorpusOptions::default() };
    let err = read_corpus(&path, &options).unwrap_err();
    assert_eq!(
        message(&err, &dir),
        "DIR/corpus.csv: no date column \"published\"; the columns are \"text\", \"date\""
    );
}

#[test]
fn mapping_onto_an_existing_canonical_column_is_refused() {
    let dir = Dir::new();
    let path = dir.file("c.csv", "text,body\na,b\n");
    let options = CorpusOptions { text_col: Some("body".into()), ..CorpusOptions::default() };
    let err = read_corpus(&path, &options).unwrap_err();
    assert_eq!(
        message(&err, &dir),
        "DIR/c.csv: column \"body\" is mapped to the text column, but the file already has a column \"text\""
    );
    let options = CorpusOptions { actor_col: Some("text".into()), ..CorpusOptions::default() };
    let err = read_corpus(&path, &options).unwrap_err();
    assert_eq!(
        message(&err, &dir),
        "DIR/c.csv: column \"text\" is mapped both as the text and as the actor column"
    );
}

#[test]
fn unparseable_date_names_row_line_column_and_value() {
    let dir = Dir::new();
    // Row 2's quoted text spans two lines, so row 3 starts on line 5.
    let path = dir.file(
        "corpus.csv",
        "text,date\nfirst,2025-08-14\n\"second\nstatement\",2025-08-15\nthird,14/08/2025\nfourth,2025-02-30\n",
    );
    let err = read(&path).unwrap_err();
    assert_eq!(
        message(&err, &dir),
        "DIR/corpus.csv: row 3 (line 5), column \"date\": cannot parse \"14/08/2025\" as an ISO 8601 date or \
         datetime (expected e.g. 2025-08-14, 2025-08-14T10:30:00 or 2025-08-14T10:30:00+03:00)"
    );

    let corpus = read_corpus(&path, &skipping()).unwrap();
    assert_eq!(strings(&corpus.frame, "text"), some(&["first", "second\nstatement"]));
    assert_eq!(corpus.input_rows, 4);
    let skipped: Vec<String> = corpus.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(
        skipped,
        [
            "row 3 (line 5), column \"date\": cannot parse \"14/08/2025\" as an ISO 8601 date or datetime \
             (expected e.g. 2025-08-14, 2025-08-14T10:30:00 or 2025-08-14T10:30:00+03:00)",
            "row 4 (line 6), column \"date\": cannot parse \"2025-02-30\" as an ISO 8601 date or datetime \
             (no such calendar day)",
        ]
    );
}

#[test]
fn mapped_date_column_is_named_as_in_the_file() {
    let dir = Dir::new();
    let path = dir.file("c.jsonl", "{\"text\":\"a\",\"published\":\"yesterday\"}\n");
    let options = CorpusOptions { date_col: Some("published".into()), ..CorpusOptions::default() };
    let err = read_corpus(&path, &options).unwrap_err();
    assert!(
        message(&err, &dir)
            .starts_with("DIR/c.jsonl: row 1 (line 1), column \"published\": cannot parse \"yesterday\""),
        "{err}"
    );
}

#[test]
fn empty_or_whitespace_text_is_an_error_or_skipped() {
    let dir = Dir::new();
    let path = dir.file("corpus.csv", "text,actor\r\nfine,A\r\n,B\r\n\"  \r\n \",C\r\nok,D\r\n");
    let err = read(&path).unwrap_err();
    assert_eq!(
        message(&err, &dir),
        "DIR/corpus.csv: row 2 (line 3), column \"text\": empty or whitespace-only text"
    );

    let corpus = read_corpus(&path, &skipping()).unwrap();
    assert_eq!(strings(&corpus.frame, "text"), some(&["fine", "ok"]));
    assert_eq!(strings(&corpus.frame, "actor"), some(&["A", "D"]));
    let skipped: Vec<String> = corpus.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(
        skipped,
        [
            "row 2 (line 3), column \"text\": empty or whitespace-only text",
            "row 3 (line 4), column \"text\": empty or whitespace-only text",
        ]
    );
}

#[test]
fn a_row_with_two_problems_is_skipped_once_for_its_text() {
    let dir = Dir::new();
    let path = dir.file("c.csv", "text,date\n,bad\nok,2025-08-14\n");
    let err = read(&path).unwrap_err();
    assert!(matches!(err, CorpusError::EmptyText { .. }), "{err}");
    let corpus = read_corpus(&path, &skipping()).unwrap();
    assert_eq!(corpus.skipped.len(), 1);
    assert_eq!(corpus.skipped[0].reason, SkipReason::EmptyText);
}

#[test]
fn empty_text_in_jsonl_is_located() {
    let dir = Dir::new();
    let path = dir.file("c.jsonl", "{\"text\":\"a\"}\n\n{\"text\":null}\n");
    let err = read(&path).unwrap_err();
    assert_eq!(
        message(&err, &dir),
        "DIR/c.jsonl: row 2 (line 3), column \"text\": empty or whitespace-only text"
    );
}

#[test]
fn header_only_has_no_rows() {
    let dir = Dir::new();
    let path = dir.file("c.csv", "\u{FEFF}text,actor,date\r\n");
    assert_eq!(message(&read(&path).unwrap_err(), &dir), "DIR/c.csv has no data rows");
}

#[test]
fn every_row_skipped_is_an_error() {
    let dir = Dir::new();
    let path = dir.file("c.csv", "text\n\" \"\n\"\"\n");
    assert_eq!(
        message(&read_corpus(&path, &skipping()).unwrap_err(), &dir),
        "DIR/c.csv: all 2 rows are invalid and were skipped, nothing is left"
    );
}

#[test]
fn jsonl_with_numeric_ids_nested_fields_and_zoned_dates() {
    let dir = Dir::new();
    let path = dir.file(
        "c.jsonl",
        "{\"id\": 17, \"text\": \"Мир\", \"date\": \"2025-08-14T10:30:00+03:00\", \"meta\": {\"x\": [1]}, \"score\": 0.5}\n\
         {\"id\": 18, \"text\": \"War\", \"date\": \"2025-08-14\", \"meta\": null, \"score\": 1}\n",
    );
    let corpus = read(&path).unwrap();
    assert_eq!(names(&corpus.frame), ["id", "text", "date", "meta", "score"]);
    assert_eq!(strings(&corpus.frame, "id"), some(&["17", "18"]));
    assert_eq!(strings(&corpus.frame, "meta"), vec![Some("{\"x\":[1]}".into()), None]);
    assert_eq!(corpus.frame.column("score").unwrap().dtype(), &DataType::Float64);
    let date = corpus.frame.column("date").unwrap();
    assert_eq!(date.dtype(), &DataType::Datetime(TimeUnit::Microseconds, None));
    let micros: Vec<Option<i64>> = date.datetime().unwrap().physical().iter().collect();
    let day = i64::from(days(2025, 8, 14)) * 86_400_000_000;
    assert_eq!(micros, vec![Some(day + (7 * 60 + 30) * 60_000_000), Some(day)]);
}

#[test]
fn malformed_json_line_through_read_corpus() {
    let dir = Dir::new();
    let path = dir.file("c.ndjson", "{\"text\":\"a\"}\n{\"text\" \"b\"}\n");
    let err = read(&path).unwrap_err();
    assert_eq!(message(&err, &dir), "DIR/c.ndjson: line 2: malformed JSON");
    assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "expected `:` at line 2 column 9");
}

#[test]
fn invalid_utf8_through_read_corpus() {
    let dir = Dir::new();
    let path = dir.file("c.csv", b"text\nok\n\"caf\xE9\"\n");
    let err = read(&path).unwrap_err();
    assert_eq!(
        message(&err, &dir),
        "DIR/c.csv: line 3, byte 5 of the line: invalid UTF-8: save the file as UTF-8"
    );
}

#[test]
fn parquet_with_date_datetime_and_string_date_columns() {
    let dir = Dir::new();
    let mut provenance = Provenance::default();
    provenance.set("model.id", "m");
    let write = |name: &str, date: Series| {
        let path = dir.0.path().join(name);
        let mut frame = DataFrame::new(
            2,
            vec![
                Series::new("id".into(), [17i64, 18]).into_column(),
                Series::new("text".into(), ["a", "b"]).into_column(),
                date.into_column(),
                Series::new("extra".into(), [1.5f64, 2.5]).into_column(),
            ],
        )
        .unwrap();
        write_table(&mut frame, &path, &provenance).unwrap();
        path
    };
    let date = Int32Chunked::from_slice("date".into(), &[days(2025, 8, 14), days(2025, 9, 1)]).into_date();
    let corpus = read(&write("d.parquet", date.into_series())).unwrap();
    assert_eq!(corpus.format, InputFormat::Parquet);
    assert_eq!(corpus.provenance.get("model.id"), Some("m"));
    assert_eq!(names(&corpus.frame), ["id", "text", "date", "extra"]);
    assert_eq!(strings(&corpus.frame, "id"), some(&["17", "18"]));
    assert_eq!(corpus.frame.column("date").unwrap().dtype(), &DataType::Date);

    let ns = Int64Chunked::from_slice("date".into(), &[1_755_156_600_000_000_001, 0])
        .into_datetime(TimeUnit::Nanoseconds, None);
    let corpus = read(&write("dt.parquet", ns.into_series())).unwrap();
    let date = corpus.frame.column("date").unwrap();
    assert_eq!(date.dtype(), &DataType::Datetime(TimeUnit::Microseconds, None));
    assert_eq!(date.datetime().unwrap().physical().get(0), Some(1_755_156_600_000_000));

    let text = Series::new("date".into(), ["2025-08-14", "not a date"]);
    let err = read(&write("s.parquet", text)).unwrap_err();
    assert!(
        message(&err, &dir).starts_with("DIR/s.parquet: row 2, column \"date\": cannot parse \"not a date\""),
        "{err}"
    );
}

#[test]
fn nested_text_column_is_a_type_error() {
    let dir = Dir::new();
    let path = dir.0.path().join("n.parquet");
    let inner = Series::new("x".into(), [1i64, 2]);
    let list = Series::new("text".into(), [inner.clone(), inner]);
    let mut frame = DataFrame::new(2, vec![list.into_column()]).unwrap();
    write_table(&mut frame, &path, &Provenance::default()).unwrap();
    let err = read(&path).unwrap_err();
    assert_eq!(message(&err, &dir), "DIR/n.parquet: column \"text\" has type list[i64]; expected text");
}

/// A fixed pseudo-random sequence, so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn no_panic_on_damaged_or_random_input() {
    let dir = Dir::new();
    let csv = "\u{FEFF}id,text,actor,date\r\n1,\"a, \"\"b\"\"\nc\",Пєсков,2025-08-14T10:30:00+03:00\r\n2,x,y,2025-08-15\n";
    let jsonl =
        "{\"text\":\"Мир\",\"date\":\"2025-08-14\",\"n\":[1,{\"a\":null}]}\n{\"text\":\"b\",\"n\":2}\n";
    let mut frame = df!("text" => ["a", "b"], "date" => ["2025-08-14", "2025-08-15"]).unwrap();
    let parquet_path = dir.0.path().join("seed.parquet");
    write_table(&mut frame, &parquet_path, &Provenance::default()).unwrap();
    let parquet = std::fs::read(&parquet_path).unwrap();
    let alphabet = b"\",\n\r\t{}[]:\\ a0-T+Z\xFF\xEF\xBB\xBF\xD0";

    let mut rng = Lcg(7);
    for (name, seed) in [("f.csv", csv.as_bytes()), ("f.tsv", csv.as_bytes()), ("f.jsonl", jsonl.as_bytes())]
    {
        for _ in 0..400 {
            let mut bytes = seed.to_vec();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() as usize) % (bytes.len() + 1);
                let byte = alphabet[(rng.next() as usize) % alphabet.len()];
                match rng.next() % 3 {
                    0 => bytes.insert(at, byte),
                    1 if at < bytes.len() => bytes[at] = byte,
                    _ => bytes.truncate(at),
                }
            }
            let path = dir.file(name, &bytes);
            let _ = read_corpus(&path, &skipping());
            let _ = read_table(&path);
        }
        for len in 0..64 {
            let bytes: Vec<u8> = (0..len).map(|_| alphabet[(rng.next() as usize) % alphabet.len()]).collect();
            let _ = read(&dir.file(name, &bytes));
        }
    }
    for cut in (0..parquet.len()).step_by(7) {
        let _ = read(&dir.file("f.parquet", &parquet[..cut]));
    }
    for _ in 0..200 {
        let mut bytes = parquet.clone();
        let at = (rng.next() as usize) % bytes.len();
        bytes[at] = rng.next() as u8;
        let _ = read(&dir.file("f.parquet", &bytes));
    }
}

#[test]
fn tables_written_by_stance_read_back_with_the_same_dates() {
    let dir = Dir::new();
    let date = Int32Chunked::from_slice("date".into(), &[days(2025, 8, 14), days(2025, 9, 1)]).into_date();
    let when = Int64Chunked::from_slice("when".into(), &[1_755_156_600_123_456, -1])
        .into_datetime(TimeUnit::Microseconds, None);
    let mut frame = DataFrame::new(
        2,
        vec![
            Series::new("text".into(), ["a", "b"]).into_column(),
            date.into_series().into_column(),
            when.into_series().into_column(),
        ],
    )
    .unwrap();
    for name in ["t.csv", "t.tsv", "t.ndjson", "t.parquet"] {
        let path = dir.0.path().join(name);
        write_table(&mut frame, &path, &Provenance::default()).unwrap();
        let table = load_table(&path, &[]).unwrap();
        for column in ["date", "when"] {
            let series = table.frame.column(column).unwrap().as_materialized_series();
            let (parsed, skipped) = parse_dates_at(series, &path, &table.rows, column, false).unwrap();
            assert!(skipped.is_empty());
            let expected = frame.column(column).unwrap().as_materialized_series();
            assert!(parsed.equals_missing(expected), "{name} {column}: {parsed:?} vs {expected:?}");
        }
    }
}
