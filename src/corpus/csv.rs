//! CSV and TSV, parsed here rather than by polars so that every row's physical line is known
//! exactly (quoted fields may span lines) and every malformed record is located.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use polars::prelude::*;

use super::error::{CorpusError, Location};

const QUOTE: u8 = b'"';

/// Parses `text` (UTF-8, no byte-order mark) into a frame and the start line of each row.
/// Columns named in `text_columns` stay String; the others get inferred types.
pub(super) fn read(
    text: &str,
    separator: u8,
    path: &Path,
    text_columns: &[&str],
) -> Result<(DataFrame, Vec<usize>), CorpusError> {
    let mut scanner = Scanner { text, bytes: text.as_bytes(), pos: 0, line: 1, record_line: 1, separator };
    let mut fields = Vec::new();
    let header_line = match scanner.record(&mut fields) {
        Ok(Some(line)) => line,
        Ok(None) => return Err(CorpusError::Empty { path: path.to_owned() }),
        Err(e) => return Err(e.locate(path, Location::Header { line: scanner.record_line })),
    };
    let names: Vec<String> = fields
        .iter()
        .enumerate()
        .map(|(i, name)| match name {
            Some(name) => name.to_string(),
            None => format!("column_{}", i + 1),
        })
        .collect();
    let mut seen = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        if let Some(first) = seen.insert(name.as_str(), i) {
            return Err(CorpusError::DuplicateColumn {
                path: path.to_owned(),
                at: Location::Header { line: header_line },
                name: name.clone(),
                first: first + 1,
                second: i + 1,
            });
        }
    }

    let mut columns: Vec<Vec<Option<Cow<str>>>> = vec![Vec::new(); names.len()];
    let mut lines = Vec::new();
    loop {
        let row = lines.len() + 1;
        let line = match scanner.record(&mut fields) {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                return Err(e.locate(path, Location::Row { row, line: Some(scanner.record_line) }));
            }
        };
        if fields.len() != names.len() {
            return Err(CorpusError::FieldCount {
                path: path.to_owned(),
                at: Location::Row { row, line: Some(line) },
                expected: names.len(),
                found: fields.len(),
            });
        }
        for (column, value) in columns.iter_mut().zip(fields.drain(..)) {
            column.push(value);
        }
        lines.push(line);
    }

    let frame_columns = names
        .iter()
        .zip(&columns)
        .map(|(name, values)| {
            if text_columns.contains(&name.as_str()) {
                string_column(name, values)
            } else {
                inferred_column(name, values)
            }
        })
        .collect();
    let frame = DataFrame::new(lines.len(), frame_columns)
        .map_err(|source| CorpusError::Frame { path: path.to_owned(), source })?;
    Ok((frame, lines))
}

/// A malformed record, before the caller says whether it is the header or which row.
enum ScanError {
    UnclosedQuote { field: usize, opened_line: usize },
    TextAfterQuote { field: usize, line: usize, found: char },
}

impl ScanError {
    fn locate(self, path: &Path, at: Location) -> CorpusError {
        let path = path.to_owned();
        match self {
            ScanError::UnclosedQuote { field, opened_line } => {
                CorpusError::UnclosedQuote { path, at, field, opened_line }
            }
            ScanError::TextAfterQuote { field, line, found } => {
                CorpusError::TextAfterQuote { path, at, field, line, found }
            }
        }
    }
}

enum FieldEnd {
    Separator,
    Record,
}

/// Walks the text record by record, counting physical lines.
struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// The current physical line (1-based).
    line: usize,
    /// The line the record being read started on.
    record_line: usize,
    separator: u8,
}

impl<'a> Scanner<'a> {
    /// Reads the next record into `fields` (empty fields are `None`), skipping blank lines.
    /// Returns the record's first line, or `None` at the end of the text.
    fn record(&mut self, fields: &mut Vec<Option<Cow<'a, str>>>) -> Result<Option<usize>, ScanError> {
        loop {
            match self.bytes.get(self.pos..) {
                Some([b'\n', ..]) => self.pos += 1,
                Some([b'\r', b'\n', ..]) => self.pos += 2,
                // A lone CR ending the text is a blank last line too.
                Some([b'\r']) => self.pos += 1,
                Some([_, ..]) => break,
                _ => return Ok(None),
            }
            self.line += 1;
        }
        self.record_line = self.line;
        fields.clear();
        loop {
            let (value, end) = if self.bytes.get(self.pos) == Some(&QUOTE) {
                let (pos, line) = (self.pos, self.line);
                match self.quoted(fields.len() + 1) {
                    Ok(field) => field,
                    // TSV as IANA defines it has no quoting: a field that does not parse as
                    // quoted (`"Peace" is near`, a lone opening quote) is read as written.
                    Err(_) if self.separator == b'\t' => {
                        (self.pos, self.line) = (pos, line);
                        self.unquoted()
                    }
                    Err(e) => return Err(e),
                }
            } else {
                self.unquoted()
            };
            fields.push(value.filter(|v| !v.is_empty()));
            if let FieldEnd::Record = end {
                return Ok(Some(self.record_line));
            }
        }
    }

    // Slicing `text` at positions of ASCII bytes (separators, quotes, line ends) always falls
    // on character boundaries, since UTF-8 continuation bytes are never ASCII.

    fn unquoted(&mut self) -> (Option<Cow<'a, str>>, FieldEnd) {
        let start = self.pos;
        while let Some(&c) = self.bytes.get(self.pos) {
            if c == self.separator || c == b'\n' {
                break;
            }
            self.pos += 1;
        }
        let mut end = self.pos;
        let field_end = match self.bytes.get(self.pos) {
            Some(&c) if c == self.separator => {
                self.pos += 1;
                return (Some(Cow::Borrowed(&self.text[start..end])), FieldEnd::Separator);
            }
            Some(_) => {
                self.pos += 1;
                self.line += 1;
                FieldEnd::Record
            }
            None => FieldEnd::Record,
        };
        if end > start && self.bytes[end - 1] == b'\r' {
            end -= 1;
        }
        (Some(Cow::Borrowed(&self.text[start..end])), field_end)
    }

    fn quoted(&mut self, field: usize) -> Result<(Option<Cow<'a, str>>, FieldEnd), ScanError> {
        let opened_line = self.line;
        self.pos += 1;
        let start = self.pos;
        // Where the not yet copied part of the value starts; the value is only copied when it
        // holds a doubled quote or a CRLF.
        let mut segment = start;
        let mut owned: Option<String> = None;
        loop {
            match self.bytes.get(self.pos..) {
                None | Some([]) => return Err(ScanError::UnclosedQuote { field, opened_line }),
                Some([QUOTE, QUOTE, ..]) => {
                    owned.get_or_insert_with(String::new).push_str(&self.text[segment..=self.pos]);
                    self.pos += 2;
                    segment = self.pos;
                }
                Some([QUOTE, ..]) => break,
                Some([b'\r', b'\n', ..]) => {
                    owned.get_or_insert_with(String::new).push_str(&self.text[segment..self.pos]);
                    self.pos += 1;
                    segment = self.pos;
                }
                Some([b'\n', ..]) => {
                    self.line += 1;
                    self.pos += 1;
                }
                Some(_) => self.pos += 1,
            }
        }
        let value = match owned {
            Some(mut value) => {
                value.push_str(&self.text[segment..self.pos]);
                Cow::Owned(value)
            }
            None => Cow::Borrowed(&self.text[start..self.pos]),
        };
        self.pos += 1;
        let end = match self.bytes.get(self.pos..) {
            None | Some([]) => FieldEnd::Record,
            Some([c, ..]) if *c == self.separator => {
                self.pos += 1;
                FieldEnd::Separator
            }
            Some([b'\n', ..]) => {
                self.pos += 1;
                self.line += 1;
                FieldEnd::Record
            }
            Some([b'\r', b'\n', ..]) => {
                self.pos += 2;
                self.line += 1;
                FieldEnd::Record
            }
            Some(_) => {
                let found = self.text[self.pos..].chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
                return Err(ScanError::TextAfterQuote { field, line: self.line, found });
            }
        };
        Ok((Some(value), end))
    }
}

fn string_column(name: &str, values: &[Option<Cow<str>>]) -> Column {
    let mut builder = StringChunkedBuilder::new(name.into(), values.len());
    for value in values {
        builder.append_option(value.as_deref());
    }
    builder.finish().into_column()
}

/// An integer written as a program writes it: it fits i64 and has no `+` or leading zeros
/// (`007`, `+4930…` are codes, whose text matters, more often than numbers).
pub(super) fn canonical_integer(v: &str) -> bool {
    v.parse::<i64>().is_ok_and(|n| n.to_string() == v)
}

/// A number that f64 holds as well as it was written: one not written as an integer, or an
/// integer within ±2⁵³ (beyond, f64 would change its digits: `12345678901234567` reads back
/// as `12345678901234568`).
pub(super) fn exact_number(v: &str) -> bool {
    const EXACT: i64 = 1 << 53;
    non_integer_number(v) || v.parse::<i64>().is_ok_and(|n| (-EXACT..=EXACT).contains(&n))
}

/// A number that is not written as an integer (`-1.5`, `.5`, `2e-3`, `NaN`, `inf`): Rust
/// parses it as f64, and it is not all digits after an optional sign, which
/// [`canonical_integer`] decides.
fn non_integer_number(v: &str) -> bool {
    let unsigned = v.strip_prefix(['-', '+']).unwrap_or(v);
    !unsigned.bytes().all(|b| b.is_ascii_digit()) && v.parse::<f64>().is_ok()
}

/// The narrowest of Int64, Float64, Boolean, String that holds every value: a column is
/// numeric only when every value is a [`canonical_integer`] (Int64) or that or a
/// [`non_integer_number`] (Float64, if every integer in it is an [`exact_number`]), so
/// identifiers such as `007`, `+4930…` or a 21-digit number pass through as their text.
fn inferred_column(name: &str, values: &[Option<Cow<str>>]) -> Column {
    let present = || values.iter().flatten();
    if present().next().is_none() {
        return string_column(name, values);
    }
    if present().all(|v| canonical_integer(v)) {
        let parsed = values.iter().map(|v| v.as_ref().and_then(|v| v.parse::<i64>().ok()));
        return Int64Chunked::from_iter_options(name.into(), parsed).into_column();
    }
    if present().all(|v| (canonical_integer(v) && exact_number(v)) || non_integer_number(v)) {
        let parsed = values.iter().map(|v| v.as_ref().and_then(|v| v.parse::<f64>().ok()));
        return Float64Chunked::from_iter_options(name.into(), parsed).into_column();
    }
    let boolean = |v: &str| {
        if v.eq_ignore_ascii_case("true") {
            Some(true)
        } else if v.eq_ignore_ascii_case("false") {
            Some(false)
        } else {
            None
        }
    };
    if present().all(|v| boolean(v).is_some()) {
        let parsed = values.iter().map(|v| v.as_ref().and_then(|v| boolean(v)));
        return BooleanChunked::from_iter_options(name.into(), parsed).into_column();
    }
    string_column(name, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, separator: u8) -> Result<(DataFrame, Vec<usize>), CorpusError> {
        read(text, separator, Path::new("c.csv"), &["id"])
    }

    fn strings(frame: &DataFrame, name: &str) -> Vec<Option<String>> {
        frame.column(name).unwrap().str().unwrap().iter().map(|v| v.map(str::to_owned)).collect()
    }

    #[test]
    fn quoted_fields_with_newlines_commas_quotes_and_crlf() {
        let text = "id,text,actor\r\n\
                    1,\"Peace, now.\r\nSecond line\",Kremlin\r\n\
                    2,\"He said \"\"no\"\".\",\"White House\"\r\n\
                    3,Мы открыты к переговорам,Пєсков\r\n";
        let (frame, lines) = parse(text, b',').unwrap();
        assert_eq!(lines, vec![2, 4, 5]);
        assert_eq!(
            strings(&frame, "text"),
            vec![
                Some("Peace, now.\nSecond line".into()),
                Some("He said \"no\".".into()),
                Some("Мы открыты к переговорам".into())
            ]
        );
        assert_eq!(
            strings(&frame, "actor"),
            vec![Some("Kremlin".into()), Some("White House".into()), Some("Пєсков".into())]
        );
    }

    #[test]
    fn tsv_with_quotes_and_literal_quotes_in_unquoted_fields() {
        let text = "text\tactor\n\"a\tb\"\tX\nsaid \"yes\" 5\" long\tY\n";
        let (frame, lines) = parse(text, b'\t').unwrap();
        assert_eq!(lines, vec![2, 3]);
        assert_eq!(strings(&frame, "text"), vec![Some("a\tb".into()), Some("said \"yes\" 5\" long".into())]);
    }

    #[test]
    fn blank_lines_are_skipped_but_counted() {
        let (frame, lines) = parse("\nid,text\n\n1,a\r\n\r\n\n2,b", b',').unwrap();
        assert_eq!(frame.height(), 2);
        assert_eq!(lines, vec![4, 7]);
    }

    #[test]
    fn empty_fields_are_null_and_empty_header_names_are_numbered() {
        let (frame, _) = parse(",text,x\n0,,\"\"\n1,b,c\n", b',').unwrap();
        let names: Vec<&str> = frame.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, vec!["column_1", "text", "x"]);
        assert_eq!(strings(&frame, "text"), vec![None, Some("b".into())]);
        assert_eq!(strings(&frame, "x"), vec![None, Some("c".into())]);
    }

    #[test]
    fn tsv_fields_that_are_not_quoted_fields_are_read_as_written() {
        let text = "id\ttext\tactor\n1\t\"Peace\" is near\tKremlin\n2\t\"a\tb\"\tX\n3\t\"open to talks\tY\n";
        let (frame, lines) = parse(text, b'\t').unwrap();
        assert_eq!(lines, vec![2, 3, 4]);
        assert_eq!(
            strings(&frame, "text"),
            vec![Some("\"Peace\" is near".into()), Some("a\tb".into()), Some("\"open to talks".into())]
        );
        assert_eq!(
            strings(&frame, "actor"),
            vec![Some("Kremlin".into()), Some("X".into()), Some("Y".into())]
        );
        // CSV keeps its quoting rules: the same row is an error there, located.
        let err = parse("id,text\n1,\"Peace\" is near\n", b',').unwrap_err();
        assert!(err.to_string().starts_with("c.csv: row 1 (line 2), field 2: unexpected"), "{err}");
    }

    #[test]
    fn types_are_inferred_except_for_text_columns() {
        let text = "id,n,f,b,s,empty,zip,phone,big,e,mixed\n\
                    007,1,1.5,true,x,,01234,+4930,123456789012345678901,1e-3,12345678901234567\n\
                    10,-2,2,FALSE,3,,10115,4930,1,-2.5E+2,1.5\n\
                    11,3,.5,true,y,,10117,4931,2,NaN,1\n";
        let (frame, _) = parse(text, b',').unwrap();
        let dtypes: Vec<DataType> = frame.dtypes();
        assert_eq!(
            dtypes,
            vec![
                DataType::String,
                DataType::Int64,
                DataType::Float64,
                DataType::Boolean,
                DataType::String,
                DataType::String,
                DataType::String,
                DataType::String,
                DataType::String,
                DataType::Float64,
                // A 17-digit integer has no f64 beside the decimal: as written.
                DataType::String,
            ]
        );
        assert_eq!(strings(&frame, "id"), vec![Some("007".into()), Some("10".into()), Some("11".into())]);
        assert_eq!(strings(&frame, "zip")[0], Some("01234".into()));
        assert_eq!(strings(&frame, "phone")[0], Some("+4930".into()));
        assert_eq!(strings(&frame, "big")[0], Some("123456789012345678901".into()));
        let f: Vec<Option<f64>> = frame.column("f").unwrap().f64().unwrap().iter().collect();
        assert_eq!(f, vec![Some(1.5), Some(2.0), Some(0.5)]);
        let e: Vec<Option<f64>> = frame.column("e").unwrap().f64().unwrap().iter().collect();
        assert_eq!(e[..2], [Some(0.001), Some(-250.0)]);
        assert!(e[2].is_some_and(f64::is_nan));
    }

    #[test]
    fn header_only_has_no_rows() {
        let (frame, lines) = parse("id,text\r\n", b',').unwrap();
        assert_eq!(frame.height(), 0);
        assert_eq!(frame.width(), 2);
        assert!(lines.is_empty());
    }

    #[test]
    fn field_count_mismatch_is_located() {
        let err = parse("id,text\n1,\"a\nb\"\n2,b,extra\n", b',').unwrap_err();
        assert_eq!(err.to_string(), "c.csv: row 2 (line 4): expected 2 fields as in the header, found 3");
        let err = parse("id,text\n1,a\n2\n", b',').unwrap_err();
        assert_eq!(err.to_string(), "c.csv: row 2 (line 3): expected 2 fields as in the header, found 1");
    }

    #[test]
    fn unclosed_quote_is_located() {
        let err = parse("id,text\n1,a\n2,\"never\nclosed,\n", b',').unwrap_err();
        assert_eq!(
            err.to_string(),
            "c.csv: row 2 (line 3), field 2: the quoted field opened on line 3 is never closed"
        );
        let err = parse("\"id,text\n", b',').unwrap_err();
        assert_eq!(
            err.to_string(),
            "c.csv: header (line 1), field 1: the quoted field opened on line 1 is never closed"
        );
    }

    #[test]
    fn text_after_a_closing_quote_is_located() {
        let err = parse("id,text\n1,\"a\nb\"c\n", b',').unwrap_err();
        assert_eq!(
            err.to_string(),
            "c.csv: row 1 (line 2), field 2: unexpected 'c' after the closing quote on line 3: expected a \
             separator or the end of the line (a quote inside a quoted field is written \"\")"
        );
    }

    #[test]
    fn duplicate_header_names_are_refused() {
        let err = parse("text,actor,text\n1,2,3\n", b',').unwrap_err();
        assert_eq!(err.to_string(), "c.csv: header (line 1): column \"text\" appears twice (fields 1 and 3)");
    }
}
