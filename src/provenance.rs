//! Provenance: the facts needed to replicate a run, carried in every written table.
//!
//! Entries are flat string key/value pairs so that pyarrow, polars, R/arrow and DuckDB can
//! read them from Parquet key-value metadata without knowing our types. Structured values
//! (templates, options) are stored as JSON strings.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Namespace of our keys inside Parquet key-value metadata.
pub const KEY_PREFIX: &str = "stance.";

/// Ordered key/value facts about how a table was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    entries: BTreeMap<String, String>,
}

impl Provenance {
    /// Provenance for a command: the tool version and the command line that ran.
    pub fn for_command<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut provenance = Self::default();
        provenance.set("tool", "stance");
        provenance.set("tool_version", env!("CARGO_PKG_VERSION"));
        let command_line: Vec<String> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        provenance.set_json("command_line", &command_line);
        provenance
    }

    /// Sets `key` (without the namespace prefix) to `value`.
    pub fn set(&mut self, key: impl Into<String>, value: impl ToString) {
        self.entries.insert(key.into(), value.to_string());
    }

    /// Sets `key` to the JSON encoding of `value`.
    pub fn set_json(&mut self, key: impl Into<String>, value: &impl Serialize) {
        let json = serde_json::to_string(value).expect("provenance values serialize to JSON");
        self.entries.insert(key.into(), json);
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in key order, without the namespace prefix.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Records an input file under `role`: its path as given and the SHA-256 of the bytes that
    /// were read from it (hashed in the same pass, never by opening the file again, which
    /// could describe other bytes or block on a FIFO).
    pub fn record_input(&mut self, role: &str, path: &Path, sha256: &str) {
        self.set(format!("input.{role}.path"), path.display());
        self.set(format!("input.{role}.sha256"), sha256);
    }

    /// Keeps the provenance of an input table under `upstream.`, so a trend table still says
    /// which model scored the statements it aggregates.
    pub fn inherit(&mut self, upstream: &Provenance) {
        for (key, value) in upstream.iter() {
            let key = match key.strip_prefix("upstream.") {
                Some(_) => key.to_owned(),
                None => format!("upstream.{key}"),
            };
            self.entries.entry(key).or_insert_with(|| value.to_owned());
        }
    }

    /// Entries as a pretty-printed JSON object of strings: the sidecar of text tables, and
    /// the metadata of charts.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.entries).expect("a map of strings always serializes")
    }

    /// Entries as namespaced (key, value) pairs, ready for a file's metadata.
    pub fn to_namespaced(&self) -> Vec<(String, String)> {
        self.entries.iter().map(|(k, v)| (format!("{KEY_PREFIX}{k}"), v.clone())).collect()
    }

    /// Builds provenance from namespaced metadata pairs; pairs outside our namespace
    /// (e.g. `ARROW:schema`) are ignored.
    pub fn from_namespaced<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let entries = pairs
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix(KEY_PREFIX).map(|k| (k.to_owned(), v.to_owned())))
            .collect();
        Self { entries }
    }
}

/// Hex SHA-256 of a file's bytes, streamed.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Hex SHA-256 of bytes.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_round_trip_ignores_foreign_keys() {
        let mut provenance = Provenance::for_command(["stance", "score", "x.csv"]);
        provenance.set("model.id", "m");
        let mut pairs = provenance.to_namespaced();
        pairs.push(("ARROW:schema".into(), "...".into()));
        let back = Provenance::from_namespaced(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(back, provenance);
        assert_eq!(back.get("command_line"), Some(r#"["stance","score","x.csv"]"#));
    }

    #[test]
    fn inherit_prefixes_upstream_once() {
        let mut scores = Provenance::default();
        scores.set("model.id", "m");
        let mut trends = Provenance::default();
        trends.inherit(&scores);
        let mut plot = Provenance::default();
        plot.inherit(&trends);
        assert_eq!(plot.get("upstream.model.id"), Some("m"));
    }

    #[test]
    fn sha256_of_known_bytes() {
        assert_eq!(sha256_bytes(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
