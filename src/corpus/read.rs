//! Reading any input table (CSV, TSV, NDJSON/JSONL, Parquet) by extension, with the
//! provenance it carries and the physical line of every row.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::error::{CorpusError, Location};
use super::{csv, json};
use crate::output::provenance_sidecar;
use crate::provenance::Provenance;

/// Input table formats, chosen by extension (case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// `.csv`
    Csv,
    /// `.tsv`, `.tab`
    Tsv,
    /// `.jsonl`, `.ndjson`, `.json`: one JSON object per line (what `stance` writes for `.json`).
    Ndjson,
    /// `.parquet`, `.pq`
    Parquet,
}

impl InputFormat {
    pub fn from_path(path: &Path) -> Result<Self, CorpusError> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
        match ext.as_str() {
            "csv" => Ok(Self::Csv),
            "tsv" | "tab" => Ok(Self::Tsv),
            "jsonl" | "ndjson" | "json" => Ok(Self::Ndjson),
            "parquet" | "pq" => Ok(Self::Parquet),
            _ => Err(CorpusError::UnknownFormat { path: path.to_owned() }),
        }
    }
}

/// The physical line each row of a table starts on, where the format has lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowLines {
    lines: Option<Vec<usize>>,
}

impl RowLines {
    /// Rows without known lines (Parquet, or a table built in memory).
    pub fn unknown() -> Self {
        Self { lines: None }
    }

    pub(super) fn known(lines: Vec<usize>) -> Self {
        Self { lines: Some(lines) }
    }

    /// The 1-based line the row at 0-based `index` starts on, when known.
    pub fn line(&self, index: usize) -> Option<usize> {
        self.lines.as_ref().and_then(|lines| lines.get(index).copied())
    }

    /// Where the row at 0-based `index` is, for messages.
    pub fn at(&self, index: usize) -> Location {
        Location::Row { row: index + 1, line: self.line(index) }
    }
}

/// A table as read from a file.
#[derive(Debug, Clone)]
pub struct Table {
    pub frame: DataFrame,
    /// Provenance from Parquet key-value metadata, or from the `<file>.provenance.json`
    /// sidecar of CSV/TSV/NDJSON files; empty when the file carries none.
    pub provenance: Provenance,
    pub format: InputFormat,
    /// Where each row of `frame` starts in the file.
    pub rows: RowLines,
    /// SHA-256 of the bytes the table was decoded from.
    pub sha256: String,
}

/// Reads a table by extension, with the provenance it carries.
///
/// CSV/TSV columns get types inferred from their values (see [`load_table`]); NDJSON columns
/// from their JSON values; Parquet columns keep their stored types.
pub fn read_table(path: &Path) -> Result<(DataFrame, Provenance), CorpusError> {
    let table = load_table(path, &[])?;
    Ok((table.frame, table.provenance))
}

/// Reads a table by extension, keeping the CSV/TSV columns named in `text_columns` as text
/// (so ids like `007` keep their zeros), and the line of every row.
///
/// CSV/TSV: the first non-blank line is the header; an empty header name becomes
/// `column_N` (N counting fields from 1); blank lines are skipped; empty fields are null.
/// Other columns become Int64 when every value is an integer as programs write them (no `+`,
/// no leading zeros, fits 64 bits), else Float64 when every value is such an integer or a
/// number not written as an integer (`-1.5`, `.5`, `2e-3`, `NaN`), else Boolean when every
/// value is `true`/`false` (any case), else String: integers that a number would not give
/// back as written, such as `007`, stay text.
/// Fields may be quoted with `"` (a quote inside is doubled); quoted fields may hold
/// separators and line breaks, CRLF inside them becomes LF.
///
/// NDJSON: one object per line (blank lines allowed); columns in order of first appearance;
/// a key missing from a row is null; a column of integers is Int64, of numbers Float64 (unless
/// an integer in it is beyond f64's exact range: then text), of booleans Boolean, of strings
/// String; nested objects and arrays, and columns mixing types, become String holding each
/// value's compact JSON text (strings as themselves, numbers as written). Columns named in
/// `text_columns` are text, numbers as written (`1.0` stays `1.0`, a 22-digit id its digits).
pub fn load_table(path: &Path, text_columns: &[&str]) -> Result<Table, CorpusError> {
    let format = InputFormat::from_path(path)?;
    let bytes = std::fs::read(path).map_err(|source| CorpusError::Read { path: path.to_owned(), source })?;
    let sha256 = crate::provenance::sha256_bytes(&bytes);
    if format == InputFormat::Parquet {
        let (frame, provenance) = read_parquet(bytes, path)?;
        let rows = RowLines::unknown();
        check_field_sizes(&frame, path, &rows)?;
        return Ok(Table { frame, provenance, format, rows, sha256 });
    }
    let text = decode(&bytes, path)?;
    // NDJSON has no header: a file without objects is a table without rows, which is how one
    // is written. CSV and TSV need their header line.
    if text.trim().is_empty() && format != InputFormat::Ndjson {
        return Err(CorpusError::Empty { path: path.to_owned() });
    }
    // Classic Mac OS programs (Excel's "CSV (Macintosh)") end lines with CR alone: in a file
    // without a single LF, CRs are its line ends (and count as lines in errors, as editors do).
    let mac_lines = format != InputFormat::Ndjson && text.contains('\r') && !text.contains('\n');
    let text: Cow<str> = if mac_lines { Cow::Owned(text.replace('\r', "\n")) } else { Cow::Borrowed(text) };
    let (frame, lines) = match format {
        InputFormat::Csv => csv::read(&text, b',', path, text_columns)?,
        InputFormat::Tsv => csv::read(&text, b'\t', path, text_columns)?,
        _ => json::read(&text, path, text_columns)?,
    };
    let rows = RowLines::known(lines);
    check_field_sizes(&frame, path, &rows)?;
    let provenance = read_sidecar(&provenance_sidecar(path))?;
    Ok(Table { frame, provenance, format, rows, sha256 })
}

/// The longest text one field may hold: far beyond any statement or article (a long speech
/// is under 1 MB), low enough that one runaway field (a file glued into a cell, a missing
/// closing quote in a huge file) is reported instead of tokenized.
pub const MAX_FIELD_BYTES: usize = 16 << 20;

fn check_field_sizes(frame: &DataFrame, path: &Path, rows: &RowLines) -> Result<(), CorpusError> {
    for column in frame.columns() {
        let Ok(values) = column.str() else { continue };
        let too_long = values.iter().enumerate().find_map(|(index, value)| {
            value.map(str::len).filter(|&bytes| bytes > MAX_FIELD_BYTES).map(|bytes| (index, bytes))
        });
        if let Some((index, bytes)) = too_long {
            return Err(CorpusError::FieldTooLong {
                path: path.to_owned(),
                at: rows.at(index),
                column: column.name().to_string(),
                bytes,
                limit: MAX_FIELD_BYTES,
            });
        }
    }
    Ok(())
}

/// The file's text without a UTF-8 byte-order mark; invalid UTF-8 is located by line.
fn decode<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a str, CorpusError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(CorpusError::Utf16 { path: path.to_owned() });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|source| {
        let before = &bytes[..source.valid_up_to()];
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        CorpusError::InvalidUtf8 {
            path: path.to_owned(),
            line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
            byte: before.len() - line_start + 1,
            source,
        }
    })?;
    Ok(text)
}

fn read_parquet(bytes: Vec<u8>, path: &Path) -> Result<(DataFrame, Provenance), CorpusError> {
    if bytes.is_empty() {
        return Err(CorpusError::Empty { path: path.to_owned() });
    }
    let error = |source| CorpusError::Parquet { path: path.to_owned(), source };
    let (frame, provenance) = without_panics(path, || {
        let mut reader = ParquetReader::new(Cursor::new(bytes));
        let provenance = match reader.get_metadata().map_err(error)?.key_value_metadata() {
            Some(pairs) => Provenance::from_namespaced(
                pairs.iter().filter_map(|kv| kv.value.as_deref().map(|v| (kv.key.as_str(), v))),
            ),
            None => Provenance::default(),
        };
        let schema = reader.schema().map_err(error)?;
        let unreadable_column =
            schema.iter().find_map(|(name, field)| unreadable(&field.dtype).map(|t| (name, t)));
        if let Some((column, dtype)) = unreadable_column {
            let column = column.to_string();
            return Err(CorpusError::UnreadableParquetType { path: path.to_owned(), column, dtype });
        }
        let frame = reader.finish().map_err(error)?;
        Ok((frame, provenance))
    })?;
    check_decoded(&frame, path)?;
    Ok((frame, provenance))
}

/// Runs a polars Parquet decode, turning a panic (polars asserts on damaged pages and
/// footers) into an error naming the file. The panic's own message is not printed: the
/// error says what happened.
fn without_panics<T>(path: &Path, decode: impl FnOnce() -> Result<T, CorpusError>) -> Result<T, CorpusError> {
    quiet_panics::enter();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode));
    quiet_panics::leave();
    result.unwrap_or_else(|payload| {
        let detail = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err(CorpusError::DamagedParquet { path: path.to_owned(), detail })
    })
}

/// While a decode runs, panics (in any thread: polars decodes on its pool) are not printed.
mod quiet_panics {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Once;

    static ACTIVE: AtomicUsize = AtomicUsize::new(0);
    static HOOK: Once = Once::new();

    pub fn enter() {
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if ACTIVE.load(Ordering::SeqCst) == 0 {
                    previous(info);
                }
            }));
        });
        ACTIVE.fetch_add(1, Ordering::SeqCst);
    }

    pub fn leave() {
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A decoded table whose columns disagree on their length, or whose dates lie outside the
/// calendar, comes from a damaged file: printing or analysing it would panic.
fn check_decoded(frame: &DataFrame, path: &Path) -> Result<(), CorpusError> {
    let damaged = |detail: String| CorpusError::DamagedParquet { path: path.to_owned(), detail };
    if let Some(column) = frame.columns().iter().find(|c| c.len() != frame.height()) {
        return Err(damaged(format!(
            "column {:?} has {} values for {} rows",
            column.name(),
            column.len(),
            frame.height()
        )));
    }
    for column in frame.columns() {
        let out_of_range = match column.dtype() {
            DataType::Date => column.date().ok().and_then(|d| {
                d.phys
                    .iter()
                    .flatten()
                    .find(|&days| {
                        chrono::NaiveDate::from_num_days_from_ce_opt(days.saturating_add(719_163)).is_none()
                    })
                    .map(i64::from)
            }),
            DataType::Datetime(unit, _) => column.datetime().ok().and_then(|d| {
                let per_second = match unit {
                    TimeUnit::Nanoseconds => 1_000_000_000,
                    TimeUnit::Microseconds => 1_000_000,
                    TimeUnit::Milliseconds => 1_000,
                };
                d.phys
                    .iter()
                    .flatten()
                    .find(|&v| chrono::DateTime::from_timestamp(v.div_euclid(per_second), 0).is_none())
            }),
            _ => None,
        };
        if let Some(value) = out_of_range {
            return Err(damaged(format!("column {:?} holds {value}, which is no date", column.name())));
        }
    }
    Ok(())
}

/// Parquet types this build of polars does not read (it would fail without naming the column,
/// or panic, on them), with the name the message gives them.
fn unreadable(dtype: &ArrowDataType) -> Option<String> {
    match dtype {
        ArrowDataType::Float16 => Some("Float16".to_owned()),
        ArrowDataType::Decimal(precision, scale) => Some(format!("Decimal({precision}, {scale})")),
        ArrowDataType::Decimal256(precision, scale) => Some(format!("Decimal256({precision}, {scale})")),
        ArrowDataType::List(field)
        | ArrowDataType::LargeList(field)
        | ArrowDataType::FixedSizeList(field, _) => unreadable(&field.dtype),
        ArrowDataType::Struct(fields) => fields.iter().find_map(|f| unreadable(&f.dtype)),
        _ => None,
    }
}

/// Provenance from the sidecar `stance` writes next to CSV/TSV/NDJSON tables; none if absent.
fn read_sidecar(path: &Path) -> Result<Provenance, CorpusError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Provenance::default()),
        Err(source) => return Err(CorpusError::SidecarRead { path: path.to_owned(), source }),
    };
    let entries: BTreeMap<String, String> = serde_json::from_str(&text)
        .map_err(|source| CorpusError::Sidecar { path: PathBuf::from(path), source })?;
    let mut provenance = Provenance::default();
    for (key, value) in entries {
        provenance.set(key, value);
    }
    Ok(provenance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::write_table;

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(InputFormat::from_path(Path::new("a.CSV")).unwrap(), InputFormat::Csv);
        assert_eq!(InputFormat::from_path(Path::new("a.tab")).unwrap(), InputFormat::Tsv);
        assert_eq!(InputFormat::from_path(Path::new("a.json")).unwrap(), InputFormat::Ndjson);
        assert_eq!(InputFormat::from_path(Path::new("a.pq")).unwrap(), InputFormat::Parquet);
        let err = InputFormat::from_path(Path::new("dir/corpus.xlsx")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot tell the table format of dir/corpus.xlsx: use .csv, .tsv, .jsonl, .ndjson, .json or .parquet"
        );
        assert!(InputFormat::from_path(Path::new("corpus")).is_err());
    }

    #[test]
    fn unreadable_file_names_the_path_and_keeps_the_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.csv");
        let err = read_table(&path).unwrap_err();
        assert_eq!(err.to_string(), format!("cannot read {}", path.display()));
        let source = std::error::Error::source(&err).unwrap();
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        // A directory is unreadable as a table too.
        let dir_as_file = dir.path().join("folder.csv");
        std::fs::create_dir(&dir_as_file).unwrap();
        assert!(matches!(read_table(&dir_as_file), Err(CorpusError::Read { .. })));
    }

    #[test]
    fn empty_files() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in
            [("a.csv", &b""[..]), ("b.csv", b"\xEF\xBB\xBF"), ("c.tsv", b" \r\n\n"), ("e.parquet", b"")]
        {
            let path = write(&dir, name, bytes);
            let err = read_table(&path).unwrap_err();
            assert_eq!(err.to_string(), format!("{} is empty", path.display()));
        }
        let path = write(&dir, "d.jsonl", b"\n\n");
        let (frame, _) = read_table(&path).unwrap();
        assert_eq!(frame.shape(), (0, 0));
    }

    #[test]
    fn invalid_utf8_is_located_by_line_and_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "c.csv", b"\xEF\xBB\xBFtext,actor\n\"ok\nstill ok\",A\nbad \xFF here,B\n");
        let err = read_table(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: line 4, byte 5 of the line: invalid UTF-8: save the file as UTF-8", path.display())
        );
        let path = write(&dir, "c.jsonl", b"{\"text\": \"a\"}\n{\"text\": \"\xC3\"}\n");
        let err = read_table(&path).unwrap_err();
        assert!(err.to_string().starts_with(&format!("{}: line 2, byte 11 of the line", path.display())));
    }

    #[test]
    fn utf16_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "u.csv", b"\xFF\xFEt\x00e\x00");
        let err = read_table(&path).unwrap_err();
        assert_eq!(err.to_string(), format!("{} is UTF-16 encoded: save it as UTF-8", path.display()));
    }

    #[test]
    fn provenance_round_trips_through_parquet_metadata_and_sidecars() {
        let dir = tempfile::tempdir().unwrap();
        let mut provenance = Provenance::for_command(["stance", "score"]);
        provenance.set("model.id", "m");
        for name in ["s.parquet", "s.csv", "s.ndjson"] {
            let path = dir.path().join(name);
            let mut frame = df!("score" => [0.5f64, -0.25], "actor" => ["A", "B"]).unwrap();
            write_table(&mut frame, &path, &provenance).unwrap();
            let (back, read) = read_table(&path).unwrap();
            assert_eq!(read, provenance, "{name}");
            assert_eq!(back.column("score").unwrap().dtype(), &DataType::Float64, "{name}");
            assert_eq!(back.column("actor").unwrap().dtype(), &DataType::String, "{name}");
        }
    }

    #[test]
    fn tables_without_provenance_read_with_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "t.csv", b"a\n1\n");
        let (_, provenance) = read_table(&path).unwrap();
        assert!(provenance.is_empty());
    }

    #[test]
    fn broken_sidecar_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "t.csv", b"a\n1\n");
        let sidecar = provenance_sidecar(&path);
        std::fs::write(&sidecar, b"{\"model.id\": 3}").unwrap();
        let err = read_table(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: the provenance sidecar is not a JSON object of strings", sidecar.display())
        );
    }

    #[test]
    fn garbage_parquet_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "g.parquet", b"PAR1 this is not parquet at all PAR1");
        let err = read_table(&path).unwrap_err();
        assert_eq!(err.to_string(), format!("cannot read {} as Parquet", path.display()));
    }
}
