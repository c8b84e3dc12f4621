//! NDJSON / JSON Lines, parsed with serde_json over the whole text so that errors carry the
//! file's own line numbers, and built into columns here so that key order and mixed types
//! are handled the same on every row (polars infers a schema from the first rows only).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use polars::prelude::*;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::error::{CorpusError, Location};

/// Parses one JSON object per line into a frame and the line each row starts on. An array or
/// object in a column named in `text_columns` is an error: its JSON text is not a statement.
pub(super) fn read(
    text: &str,
    path: &Path,
    text_columns: &[&str],
) -> Result<(DataFrame, Vec<usize>), CorpusError> {
    let bytes = text.as_bytes();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Object>();
    let mut names: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut columns: Vec<Vec<Option<Value>>> = Vec::new();
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
        for (key, value) in object.0 {
            let nested = match value {
                Value::Array(_) => Some("an array"),
                Value::Object(_) => Some("an object"),
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
    let frame_columns = names.iter().zip(&columns).map(|(name, values)| build_column(name, values)).collect();
    let frame = DataFrame::new(lines.len(), frame_columns)
        .map_err(|source| CorpusError::Frame { path: path.to_owned(), source })?;
    Ok((frame, lines))
}

/// A JSON object with its keys in written order (serde_json's own map sorts them).
struct Object(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Object;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(Object(entries))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
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
    fn of(value: &Value) -> Kind {
        match value {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Bool,
            Value::Number(n) if n.is_i64() => Kind::Int,
            Value::Number(_) => Kind::Float,
            Value::String(_) => Kind::Str,
            Value::Array(_) | Value::Object(_) => Kind::Json,
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

fn build_column(name: &str, values: &[Option<Value>]) -> Column {
    let kind = values.iter().flatten().fold(Kind::Null, |kind, v| kind.merge(Kind::of(v)));
    let name: PlSmallStr = name.into();
    match kind {
        Kind::Bool => BooleanChunked::from_iter_options(name, values.iter().map(|v| v.as_ref()?.as_bool()))
            .into_column(),
        Kind::Int => {
            Int64Chunked::from_iter_options(name, values.iter().map(|v| v.as_ref()?.as_i64())).into_column()
        }
        Kind::Float => {
            Float64Chunked::from_iter_options(name, values.iter().map(|v| v.as_ref()?.as_f64())).into_column()
        }
        Kind::Null | Kind::Str | Kind::Json => {
            let mut builder = StringChunkedBuilder::new(name, values.len());
            for value in values {
                match value {
                    None | Some(Value::Null) => builder.append_null(),
                    Some(Value::String(s)) => builder.append_value(s),
                    Some(other) => builder.append_value(other.to_string()),
                }
            }
            builder.finish().into_column()
        }
    }
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
                DataType::Float64,
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
        assert_eq!(frame.column("x").unwrap().f64().unwrap().get(1), Some(2.5));
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
