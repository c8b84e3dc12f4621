//! Writing and reading tables: Parquet (with provenance metadata), CSV and NDJSON, chosen by
//! extension. Every write goes to a temporary file in the destination folder and is renamed
//! into place, so a failed or interrupted run never leaves a partial file under the real name.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::provenance::Provenance;

pub mod plot;

/// Table file formats, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Parquet,
    Csv,
    Tsv,
    Ndjson,
}

impl TableFormat {
    /// The format a path's extension names.
    pub fn from_path(path: &Path) -> Result<Self, OutputError> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
        match ext.as_str() {
            "parquet" | "pq" => Ok(Self::Parquet),
            "csv" => Ok(Self::Csv),
            "tsv" | "tab" => Ok(Self::Tsv),
            "ndjson" | "jsonl" | "json" => Ok(Self::Ndjson),
            _ => Err(OutputError::UnknownFormat { path: path.to_owned() }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot tell the table format of {path}: use .parquet, .csv, .tsv, .ndjson or .jsonl")]
    UnknownFormat { path: PathBuf },
    #[error("cannot write {path}: folder {folder} does not exist")]
    NoFolder { path: PathBuf, folder: PathBuf },
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode the table for {path}")]
    Encode {
        path: PathBuf,
        #[source]
        source: PolarsError,
    },
}

/// The sidecar file that carries provenance for formats without key-value metadata.
pub fn provenance_sidecar(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".provenance.json");
    PathBuf::from(name)
}

/// Writes `df` to `path` in the format its extension names, with `provenance`.
///
/// Parquet carries provenance in its key-value metadata; CSV/TSV/NDJSON get a
/// `<file>.provenance.json` sidecar. Both files are written under temporary names first.
pub fn write_table(df: &mut DataFrame, path: &Path, provenance: &Provenance) -> Result<(), OutputError> {
    let format = TableFormat::from_path(path)?;
    write_atomically(path, |file| encode(df, format, provenance, file))?;
    if format != TableFormat::Parquet {
        let sidecar = provenance_sidecar(path);
        let json: serde_json::Map<String, serde_json::Value> =
            provenance.iter().map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned()))).collect();
        write_atomically(&sidecar, |file| {
            serde_json::to_writer_pretty(&mut *file, &json).map_err(std::io::Error::from)?;
            file.write_all(b"\n")?;
            Ok::<(), std::io::Error>(())
        })?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file renamed into place, like [`write_table`].
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    write_atomically(path, |file| file.write_all(bytes))
}

fn encode(
    df: &mut DataFrame,
    format: TableFormat,
    provenance: &Provenance,
    file: &mut BufWriter<File>,
) -> Result<(), WriteFailure> {
    match format {
        TableFormat::Parquet => {
            let metadata = KeyValueMetadata::from_static(provenance.to_namespaced());
            ParquetWriter::new(file)
                .with_compression(ParquetCompression::Zstd(None))
                .with_key_value_metadata(Some(metadata))
                .finish(df)?;
        }
        TableFormat::Csv | TableFormat::Tsv => {
            let separator = if format == TableFormat::Tsv { b'\t' } else { b',' };
            CsvWriter::new(file).include_header(true).with_separator(separator).finish(df)?;
        }
        TableFormat::Ndjson => {
            JsonWriter::new(file).with_json_format(JsonFormat::JsonLines).finish(df)?;
        }
    }
    Ok(())
}

/// Why an encoder failed: the disk, or polars.
#[derive(Debug)]
enum WriteFailure {
    Io(std::io::Error),
    Polars(PolarsError),
}

impl From<std::io::Error> for WriteFailure {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<PolarsError> for WriteFailure {
    fn from(e: PolarsError) -> Self {
        match e {
            PolarsError::IO { error, .. } => match std::sync::Arc::try_unwrap(error) {
                Ok(io) => Self::Io(io),
                Err(shared) => Self::Io(std::io::Error::new(shared.kind(), shared.to_string())),
            },
            other => Self::Polars(other),
        }
    }
}

/// Runs `fill` on a temporary file next to `path`, syncs it, and renames it to `path`.
/// On any failure the temporary file is removed and `path` is left as it was.
fn write_atomically<E>(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<(), E>,
) -> Result<(), OutputError>
where
    E: Into<WriteFailure>,
{
    let tmp = temp_path(path);
    let io_error = |source| OutputError::Io { path: path.to_owned(), source };
    let result = (|| {
        let file = File::create(&tmp).map_err(io_error)?;
        let mut writer = BufWriter::new(file);
        fill(&mut writer).map_err(|e| match e.into() {
            WriteFailure::Io(source) => OutputError::Io { path: path.to_owned(), source },
            WriteFailure::Polars(source) => OutputError::Encode { path: path.to_owned(), source },
        })?;
        let file = writer.into_inner().map_err(|e| io_error(e.into_error()))?;
        file.sync_all().map_err(io_error)?;
        std::fs::rename(&tmp, path).map_err(io_error)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Fails early, before any long work, when `path` cannot be written: an unknown extension,
/// a missing folder, or a folder where files cannot be created (probed by creating and
/// removing the temporary file a write of `path` uses).
pub fn probe_writable(path: &Path) -> Result<(), OutputError> {
    TableFormat::from_path(path)?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(OutputError::NoFolder { path: path.to_owned(), folder: folder.to_owned() });
    }
    let tmp = temp_path(path);
    File::create(&tmp).map_err(|source| OutputError::Io { path: path.to_owned(), source })?;
    std::fs::remove_file(&tmp).map_err(|source| OutputError::Io { path: path.to_owned(), source })
}

/// Removes the temporary files that killed writes of `path` by other processes left in its
/// folder. Only for a caller that knows no other process is writing `path`.
pub fn remove_stale_temp_files(path: &Path) -> Result<(), OutputError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.");
    let own = format!("{prefix}{}.tmp", std::process::id());
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let io_error = |source| OutputError::Io { path: path.to_owned(), source };
    for entry in std::fs::read_dir(folder).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let pid = file.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".tmp"));
        if pid.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) && file != own {
            std::fs::remove_file(entry.path()).map_err(io_error)?;
        }
    }
    Ok(())
}

/// A hidden temporary name in the destination's folder, so the final rename stays on one
/// filesystem (and is atomic).
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}
