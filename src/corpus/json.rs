//! NDJSON / JSON Lines, parsed with serde_json over the whole text so that errors carry the
//! file's own line numbers, and built into columns here so that key order and mixed types
//! are handled the same on every row (polars infers a schema from the first rows only).
//! Values are kept as their text in the file until their column's type is known, so that a
//! number no column type would give back as written (a 22-digit id, `1.0` beside `1` in the
//! id column) stays that text.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use polars::prelude::*;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use super::csv::{canonical_integer, exact_number};
use super::error::{CorpusError, Location};

/// Parses one JSON object per line into a frame and the line each row starts on. Columns named
/// in `text_columns` are text, numbers as written; an array or object in one is an error: its
/// JSON text is not a statement.
pub(super) fn read(
    text: &str,
    path: &Path,
    text_columns: &[&str],
) -> Result<(DataFrame, Vec<usize>), CorpusError> {
    let bytes = text.as_bytes();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Object>();
    let mut names: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut columns: Vec<Vec<Option<Cell>>> = Vec::new();
    let mut lines = Vec::new();
    let (mut pos, mut line) = (0, 1);
    loop {
        // Find where the next object starts, to know its line.
        while let Some(&c) = bytes.get(pos) {
            if !c.is_ascii_whitespace() {
                break;
            }
            line += usize::from(c == b'\n');
            pos += 1;
        }
        let object = match stream.next() {
            None => break,
            // The line where the broken object starts: where serde noticed (kept in the source)
            // can be lines later, at the end of the file for an unterminated string.
            Some(Err(source)) => {
                return Err(CorpusError::Json { path: path.to_owned(), line, source });
            }
            Some(Ok(object)) => object,
        };
        let end = stream.byte_offset();
        let row = lines.len();
        lines.push(line);
        line += bytes.get(pos..end).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
        pos = end;
        for (key, raw) in object.0 {
            let value = Cell::parse(raw).map_err(|source| CorpusError::Json {
                path: path.to_owned(),
                line,
                source,
            })?;
            let nested = match &value {
                Cell::Nested(Value::Array(_)) => Some("an array"),
                Cell::Nested(_) => Some("an object"),
                _ => None,
            };
            if let Some(found) = nested.filter(|_| text_columns.contains(&key.as_str())) {
                let at = Location::Row { row: row + 1, line: Some(lines[row]) };
                return Err(CorpusError::NestedValue { path: path.to_owned(), at, column: key, found });
            }
            let i = *index.entry(key).or_insert_with_key(|key| {
                names.push(key.clone());
                columns.push(vec![None; row]);
                columns.len() - 1
            });
            let column = &mut columns[i];
            if column.len() == row {
                column.push(Some(value));
            } else if let Some(last) = column.last_mut() {
                // A key repeated within one object: the last value wins, as in most readers.
                *last = Some(value);
            }
        }
        for column in &mut columns {
            if column.len() == row {
                column.push(None);
            }
        }
    }
    let frame_columns = names
        .iter()
        .zip(&columns)
        .map(|(name, values)| build_column(name, values, text_columns.contains(&name.as_str())))
        .collect();
    let frame = DataFrame::new(lines.len(), frame_columns)
        .map_err(|source| CorpusError::Frame { path: path.to_owned(), source })?;
    Ok((frame, lines))
}

/// A JSON object with its keys in written order (serde_json's own map sorts them), and each
/// value's text in the file.
struct Object<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Object<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Object<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object<'de>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Object(entries))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// One value: numbers as their text in the file.
#[derive(Clone)]
enum Cell<'a> {
    Null,
    Bool(bool),
    Number(&'a str),
    Str(String),
    Nested(Value),
}

impl<'a> Cell<'a> {
    fn parse(raw: &'a RawValue) -> Result<Self, serde_json::Error> {
        let text = raw.get();
        Ok(match text.as_bytes().first() {
            Some(b'n') => Cell::Null,
            Some(b't') => Cell::Bool(true),
            Some(b'f') => Cell::Bool(false),
            Some(b'"') => Cell::Str(serde_json::from_str(text)?),
            Some(b'[' | b'{') => Cell::Nested(serde_json::from_str(text)?),
            _ => Cell::Number(text),
        })
    }

    /// The value as text: strings as themselves, numbers as written, the rest as compact JSON.
    fn text(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Bool(b) => Some(b.to_string()),
            Cell::Number(n) => Some((*n).to_owned()),
            Cell::Str(s) => Some(s.clone()),
            Cell::Nested(v) => Some(v.to_string()),
        }
    }
}

/// The column type a JSON value asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Int,
    Float,
    Str,
    /// Nested values, or a mix of kinds: kept as JSON text.
    Json,
}

impl Kind {
    fn of(value: &Cell) -> Kind {
        match value {
            Cell::Null => Kind::Null,
            Cell::Bool(_) => Kind::Bool,
            Cell::Number(n) if canonical_integer(n) => Kind::Int,
            Cell::Number(_) => Kind::Float,
            Cell::Str(_) => Kind::Str,
            Cell::Nested(_) => Kind::Json,
        }
    }

    fn merge(self, other: Kind) -> Kind {
        match (self, other) {
            (a, b) if a == b => a,
            (Kind::Null, k) | (k, Kind::Null) => k,
            (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int) => Kind::Float,
            _ => Kind::Json,
        }
    }
}

/// The column of `values`: text if `as_text`, else the narrowest type that gives every value
/// back (Float64 only if no integer in it is beyond f64's exact range), else text.
fn build_column<'a>(name: &str, values: &[Option<Cell<'a>>], as_text: bool) -> Column {
    let kind = values.iter().flatten().fold(Kind::Null, |kind, v| kind.merge(Kind::of(v)));
    let name: PlSmallStr = name.into();
    let number = |value: &Option<Cell<'a>>| -> Option<&'a str> {
        match value {
            Some(Cell::Number(n)) => Some(*n),
            _ => None,
        }
    };
    match kind {
        _ if as_text => {}
        Kind::Bool => {
            let bools = values.iter().map(|v| match v {
                Some(Cell::Bool(b)) => Some(*b),
                _ => None,
            });
            return BooleanChunked::from_iter_options(name, bools).into_column();
        }
        Kind::Int => {
            let ints = values.iter().map(|v| number(v)?.parse().ok());
            return Int64Chunked::from_iter_options(name, ints).into_column();
        }
        Kind::Float if values.iter().filter_map(number).all(exact_number) => {
            let floats = values.iter().map(|v| number(v)?.parse().ok());
            return Float64Chunked::from_iter_options(name, floats).into_column();
        }
        Kind::Float | Kind::Null | Kind::Str | Kind::Json => {}
    }
    let mut builder = StringChunkedBuilder::new(name, values.len());
    for value in values {
        builder.append_option(value.as_ref().and_then(Cell::text));
    }
    builder.finish().into_column()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(DataFrame, Vec<usize>), CorpusError> {
        read(text, Path::new("c.jsonl"), &["text"])
    }

    #[test]
    fn extra_fields_of_every_type() {
        let text = concat!(
            "{\"text\": \"Мир\", \"n\": 1, \"x\": 1, \"ok\": true, \"meta\": {\"b\": 1, \"a\": [1, \"z\"]}, \"mix\": 1}\r\n",
            "\n",
            "{\"n\": 2, \"text\": \"b\", \"x\": 2.5, \"ok\": null, \"meta\": [], \"mix\": \"two\", \"late\": \"L\"}\n",
            "  {\"text\": \"c\", \"x\": 18446744073709551615, \"mix\": {\"k\": null}}",
        );
        let (frame, lines) = parse(text).unwrap();
        assert_eq!(lines, vec![1, 3, 4]);
        let names: Vec<&str> = frame.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, vec!["text", "n", "x", "ok", "meta", "mix", "late"]);
        assert_eq!(
            frame.dtypes(),
            vec![
                DataType::String,
                DataType::Int64,
                DataType::String,
                DataType::Boolean,
                DataType::String,
                DataType::String,
                DataType::String
            ]
        );
        let strings = |name: &str| -> Vec<Option<String>> {
            frame.column(name).unwrap().str().unwrap().iter().map(|v| v.map(str::to_owned)).collect()
        };
        assert_eq!(strings("text"), vec![Some("Мир".into()), Some("b".into()), Some("c".into())]);
        // Nested values are compact JSON text; keys of nested objects come out sorted.
        assert_eq!(strings("meta"), vec![Some(r#"{"a":[1,"z"],"b":1}"#.into()), Some("[]".into()), None]);
        assert_eq!(strings("mix"), vec![Some("1".into()), Some("two".into()), Some(r#"{"k":null}"#.into())]);
        assert_eq!(strings("late"), vec![None, Some("L".into()), None]);
        let n: Vec<Option<i64>> = frame.column("n").unwrap().i64().unwrap().iter().collect();
        assert_eq!(n, vec![Some(1), Some(2), None]);
        // 18446744073709551615 is beyond f64's exact integers: the column stays as written.
        assert_eq!(
            strings("x"),
            vec![Some("1".into()), Some("2.5".into()), Some("18446744073709551615".into())]
        );
    }

    #[test]
    fn numbers_keep_their_digits() {
        let text = concat!(
            "{\"id\": 1234567890123456789012, \"text\": \"a\", \"f\": 1, \"g\": 1e3, \"big\": 9007199254740993}\n",
            "{\"id\": 1.0, \"text\": \"b\", \"f\": 0.1, \"g\": -2, \"big\": 0.5}\n",
            "{\"id\": 1, \"text\": \"c\", \"f\": -7, \"g\": 2.5E-1, \"big\": 1}\n",
        );
        let (frame, _) = read(text, Path::new("c.jsonl"), &["text", "id"]).unwrap();
        let strings = |name: &str| -> Vec<Option<String>> {
            frame.column(name).unwrap().str().unwrap().iter().map(|v| v.map(str::to_owned)).collect()
        };
        // Ids are text as written: two ids differing past the 17th digit, `1.0` and `1`, stay apart.
        assert_eq!(
            strings("id"),
            vec![Some("1234567890123456789012".into()), Some("1.0".into()), Some("1".into())]
        );
        let floats =
            |name: &str| -> Vec<Option<f64>> { frame.column(name).unwrap().f64().unwrap().iter().collect() };
        assert_eq!(floats("f"), vec![Some(1.0), Some(0.1), Some(-7.0)]);
        assert_eq!(floats("g"), vec![Some(1000.0), Some(-2.0), Some(0.25)]);
        // 2⁵³ + 1 has no f64: a number column would change it.
        assert_eq!(
            strings("big"),
            vec![Some("9007199254740993".into()), Some("0.5".into()), Some("1".into())]
        );
    }

    #[test]
    fn nested_text_is_refused_with_its_row_and_line() {
        for (value, found) in [("[\"a\", \"b\"]", "an array"), ("{\"en\": \"Peace\"}", "an object")] {
            let text = format!("{{\"text\": \"fine\"}}\n\n{{\"id\": 2, \"text\": {value}}}\n");
            let err = parse(&text).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("c.jsonl: row 2 (line 3), column \"text\": found {found}; expected text")
            );
        }
    }

    #[test]
    fn objects_spanning_lines_keep_the_count_right() {
        let text = "{\"text\":\n \"a\"}\n{\"text\": \"b\"}\n";
        let (_, lines) = parse(text).unwrap();
        assert_eq!(lines, vec![1, 3]);
    }

    #[test]
    fn malformed_line_names_the_line() {
        let err = parse("{\"text\": \"a\"}\n\n{\"text\": \"b\",}\n").unwrap_err();
        assert_eq!(err.to_string(), "c.jsonl: line 3: malformed JSON");
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(source, "trailing comma at line 3 column 14");
        let err = parse("{\"text\": \"a\"}\n{\"text\": \"unterminated}\n").unwrap_err();
        assert_eq!(err.to_string(), "c.jsonl: line 2: malformed JSON");
        let err = parse("{\"text\": \"a\"}\n\n{\"text\":\n \"b\",\n \"date\": }\n").unwrap_err();
        assert_eq!(err.to_string(), "c.jsonl: line 3: malformed JSON");
    }

    #[test]
    fn non_object_line_says_what_was_expected() {
        let err = parse("{\"text\": \"a\"}\n[1, 2]\n").unwrap_err();
        assert_eq!(err.to_string(), "c.jsonl: line 2: expected one JSON object per line");
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(source, "invalid type: sequence, expected a JSON object at line 2 column 0");
    }
}
