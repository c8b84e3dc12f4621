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
    #[error("{path}: {format} cannot hold column {column:?} of type {dtype}; write {instead} instead")]
    Unrepresentable {
        path: PathBuf,
        format: &'static str,
        column: String,
        dtype: DataType,
        /// The formats that can.
        instead: &'static str,
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
/// `<file>.provenance.json` sidecar. Both files are written in full under temporary names
/// first; the old sidecar goes before the new table is renamed into place, so that a run
/// killed between the two renames leaves a table without provenance, never one beside the
/// provenance of the table it replaced (and a failed rename of the table leaves the old table
/// without its sidecar, for the same reason).
pub fn write_table(df: &mut DataFrame, path: &Path, provenance: &Provenance) -> Result<(), OutputError> {
    let format = TableFormat::from_path(path)?;
    // Commands check before their long work; this keeps polars' encoders, which panic on
    // some types (binary in JSON), from ever seeing a column their format cannot hold.
    check_columns(path, df.schema())?;
    let table = Staged::write(path, |file| encode(df, format, provenance, file))?;
    if format == TableFormat::Parquet {
        return table.commit();
    }
    let sidecar_path = provenance_sidecar(path);
    let sidecar = Staged::write(&sidecar_path, |file| writeln!(file, "{}", provenance.to_json()))?;
    match std::fs::remove_file(&sidecar_path) {
        Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
            return Err(OutputError::Io { path: sidecar_path, source })
        }
        _ => {}
    }
    table.commit()?;
    sidecar.commit()
}

/// Writes `bytes` to `path` through a temporary file renamed into place, like [`write_table`]:
/// on any failure `path` is left as it was.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    Staged::write(path, |file| file.write_all(bytes))?.commit()
}

fn encode(
    df: &mut DataFrame,
    format: TableFormat,
    provenance: &Provenance,
    file: &mut BufWriter<FirstIoError<&File>>,
) -> Result<(), WriteFailure> {
    match format {
        TableFormat::Parquet => {
            let mut pairs = provenance.to_namespaced();
            pairs.push(arrow_schema_entry(df, &pairs));
            let metadata = KeyValueMetadata::from_static(pairs);
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

/// The `ARROW:schema` entry of a Parquet file, carrying `pairs` as the schema's own metadata.
///
/// pyarrow, pandas and R arrow show a Parquet file's metadata through the Arrow schema stored
/// under this key, not through the file-level pairs; polars would write it without metadata
/// (and keeps an entry we supply). Encoded as polars and Arrow do: the schema as an IPC
/// message, framed by the continuation marker and its length, in base64.
fn arrow_schema_entry(df: &DataFrame, pairs: &[(String, String)]) -> (String, String) {
    use base64::Engine as _;
    use polars_arrow::io::ipc::write::{default_ipc_fields, schema_to_bytes};

    let schema = df.schema().to_arrow(CompatLevel::newest());
    let metadata: polars_arrow::datatypes::Metadata =
        pairs.iter().map(|(k, v)| (k.as_str().into(), v.as_str().into())).collect();
    let message = schema_to_bytes(&schema, &default_ipc_fields(schema.iter_values()), Some(&metadata));
    let mut framed = Vec::with_capacity(message.len() + 8);
    framed.extend_from_slice(&[0xff; 4]);
    framed.extend_from_slice(&(message.len() as u32).to_le_bytes());
    framed.extend_from_slice(&message);
    ("ARROW:schema".to_owned(), base64::engine::general_purpose::STANDARD.encode(framed))
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

/// A writer that keeps the first I/O error it meets: polars' Parquet writer reports a failed
/// write of its footer as "Invalid thrift: transport error", without the cause.
struct FirstIoError<W> {
    inner: W,
    error: Option<std::io::Error>,
}

impl<W> FirstIoError<W> {
    fn keep<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result {
            if self.error.is_none() && e.kind() != std::io::ErrorKind::Interrupted {
                self.error = Some(match e.raw_os_error() {
                    Some(code) => std::io::Error::from_raw_os_error(code),
                    None => std::io::Error::new(e.kind(), e.to_string()),
                });
            }
        }
        result
    }
}

impl<W: Write> Write for FirstIoError<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(buf);
        self.keep(result)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.inner.flush();
        self.keep(result)
    }
}

/// A file written in full and synced under a temporary name next to its destination: renamed
/// into place by `commit`, removed if dropped before. The temporary file is created
/// exclusively under a random name, so a file or link planted there is never written through.
struct Staged {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl Staged {
    fn write<E>(
        path: &Path,
        fill: impl FnOnce(&mut BufWriter<FirstIoError<&File>>) -> Result<(), E>,
    ) -> Result<Self, OutputError>
    where
        E: Into<WriteFailure>,
    {
        let io_error = |source| OutputError::Io { path: path.to_owned(), source };
        let tmp =
            temp_file(path).map_err(|source| missing_folder(path).unwrap_or_else(|| io_error(source)))?;
        let mut writer = BufWriter::new(FirstIoError { inner: tmp.as_file(), error: None });
        if let Err(failure) = fill(&mut writer) {
            // The disk's own error ("No space left on device") over the encoder's account of it.
            return Err(match (writer.get_mut().error.take(), failure.into()) {
                (Some(source), _) | (None, WriteFailure::Io(source)) => io_error(source),
                (None, WriteFailure::Polars(source)) => OutputError::Encode { path: path.to_owned(), source },
            });
        }
        let file = writer.into_inner().map_err(|e| io_error(e.into_error()))?.inner;
        file.sync_all().map_err(io_error)?;
        Ok(Self { tmp, path: path.to_owned() })
    }

    fn commit(self) -> Result<(), OutputError> {
        self.tmp
            .persist(&self.path)
            .map_err(|e| OutputError::Io { path: self.path.clone(), source: e.error })?;
        Ok(())
    }
}

/// Fails early, before any long work, when `path` cannot be written: an unknown extension,
/// a missing folder, or a folder where files cannot be created (probed by creating and
/// removing the temporary file a write of `path` uses).
pub fn probe_writable(path: &Path) -> Result<(), OutputError> {
    TableFormat::from_path(path)?;
    if let Some(error) = missing_folder(path) {
        return Err(error);
    }
    let tmp = temp_file(path).map_err(|source| OutputError::Io { path: path.to_owned(), source })?;
    tmp.close().map_err(|source| OutputError::Io { path: path.to_owned(), source })
}

/// The error for `path` when its folder does not exist: clearer than the temporary file's
/// "No such file or directory" under a name the user never gave.
fn missing_folder(path: &Path) -> Option<OutputError> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    (!folder.is_dir()).then(|| OutputError::NoFolder { path: path.to_owned(), folder: folder.to_owned() })
}

/// Fails early, before any long work, when the format of `path` cannot hold a column of
/// `schema`: CSV and TSV hold no lists, structs or bytes, NDJSON no bytes (a Parquet corpus
/// may pass any of them through).
pub fn check_columns(path: &Path, schema: &Schema) -> Result<(), OutputError> {
    let (format, cannot_hold, instead): (_, fn(&DataType) -> bool, _) = match TableFormat::from_path(path)? {
        TableFormat::Csv => ("CSV", nested_or_bytes, ".parquet or .ndjson"),
        TableFormat::Tsv => ("TSV", nested_or_bytes, ".parquet or .ndjson"),
        TableFormat::Ndjson => ("NDJSON", holds_bytes, ".parquet"),
        TableFormat::Parquet => return Ok(()),
    };
    match schema.iter().find(|(_, dtype)| cannot_hold(dtype)) {
        Some((column, dtype)) => Err(OutputError::Unrepresentable {
            path: path.to_owned(),
            format,
            column: column.to_string(),
            dtype: dtype.clone(),
            instead,
        }),
        None => Ok(()),
    }
}

fn nested_or_bytes(dtype: &DataType) -> bool {
    dtype.is_nested() || holds_bytes(dtype)
}

/// Bytes, or a list or struct with bytes inside (polars' JSON encoder panics on them).
fn holds_bytes(dtype: &DataType) -> bool {
    [DataType::Binary, DataType::BinaryOffset].iter().any(|bytes| dtype.contains_dtype_recursive(bytes))
}

/// Removes the temporary files that killed writes of `path` by other processes left in its
/// folder. Only for a caller that knows no other process is writing `path`.
pub fn remove_stale_temp_files(path: &Path) -> Result<(), OutputError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.");
    let own = format!("{prefix}{}.", std::process::id());
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let io_error = |source| OutputError::Io { path: path.to_owned(), source };
    for entry in std::fs::read_dir(folder).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        let file = entry.file_name().to_string_lossy().into_owned();
        // `.<name>.<pid>.<random>.tmp`, or `.<name>.<pid>.tmp` as older versions wrote them.
        let rest = file.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".tmp"));
        let pid = rest.and_then(|rest| rest.split('.').next());
        if pid.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            && !file.starts_with(&own)
        {
            std::fs::remove_file(entry.path()).map_err(io_error)?;
        }
    }
    Ok(())
}

/// Creates `path` afresh: whatever is there is removed first (a symbolic link itself, never
/// its target) and the file is created with `O_CREAT | O_EXCL`, so a link planted in between
/// makes this fail instead of being written through.
pub(crate) fn create_replacing(path: &Path) -> std::io::Result<File> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

/// A new hidden file `.<name>.<pid>.<random>.tmp` in the destination's folder, so the final
/// rename stays on one filesystem (and is atomic). Created with `O_CREAT | O_EXCL`: it fails
/// rather than open anything already there, a symbolic link included. Its mode is what any
/// new file gets (0666 less the umask), not tempfile's private 0600: the file becomes the
/// output, which the user's group (a merge job, a colleague on the cluster) may need to read.
fn temp_file(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let prefix = format!(".{name}.{}.", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder.tempfile_in(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance(run: &str) -> Provenance {
        let mut provenance = Provenance::default();
        provenance.set("run", run);
        provenance
    }

    fn files(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into())
            .collect();
        names.sort();
        names
    }

    /// What pyarrow shows as `read_table(f).schema.metadata`: the Arrow schema stored under
    /// `ARROW:schema`, decoded.
    #[test]
    fn parquet_provenance_is_in_the_arrow_schema_too() {
        use base64::Engine as _;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scores.parquet");
        let list = Series::new("tags".into(), [Series::new("".into(), ["a", "b"])]);
        let mut frame =
            DataFrame::new(1, vec![Series::new("score".into(), [0.5f64]).into_column(), list.into_column()])
                .unwrap();
        write_table(&mut frame, &path, &provenance("7")).unwrap();

        let mut reader = ParquetReader::new(File::open(&path).unwrap());
        let pairs = reader.get_metadata().unwrap().key_value_metadata().clone().unwrap();
        let keys: Vec<&str> = pairs.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys.iter().filter(|k| **k == "ARROW:schema").count(), 1, "{keys:?}");
        assert!(keys.contains(&"stance.run"), "file-level pairs stay: {keys:?}");
        let encoded = pairs.iter().find(|kv| kv.key == "ARROW:schema").unwrap().value.clone().unwrap();
        let framed = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
        assert_eq!(framed[..4], [0xff; 4]);
        let (schema, _, metadata) = polars_arrow::io::ipc::read::deserialize_schema(&framed[8..]).unwrap();
        assert_eq!(metadata.unwrap().get("stance.run").map(|v| v.as_str()), Some("7"));
        assert_eq!(schema, frame.schema().to_arrow(CompatLevel::newest()));
        assert_eq!(reader.finish().unwrap(), frame);
    }

    #[test]
    fn formats_without_nested_types_are_refused_up_front() {
        let list = Series::new("tags".into(), [Series::new("".into(), ["a", "b"])]);
        let frame =
            DataFrame::new(1, vec![Series::new("text".into(), ["x"]).into_column(), list.into_column()])
                .unwrap();
        let err = check_columns(Path::new("out/scores.csv"), frame.schema()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "out/scores.csv: CSV cannot hold column \"tags\" of type list[str]; write .parquet or .ndjson instead"
        );
        for fine in ["scores.parquet", "scores.ndjson"] {
            check_columns(Path::new(fine), frame.schema()).unwrap();
        }
    }

    #[test]
    fn bytes_are_refused_by_every_text_format() {
        let bytes = Series::new("raw".into(), [&b"\x00\x01"[..]]);
        let listed = Series::new("parts".into(), [bytes.clone()]);
        for column in [bytes, listed] {
            let name = column.name().to_string();
            let frame = DataFrame::new(1, vec![column.into_column()]).unwrap();
            for (path, instead) in
                [("s.csv", ".parquet or .ndjson"), ("s.tsv", ".parquet or .ndjson"), ("s.ndjson", ".parquet")]
            {
                let err = check_columns(Path::new(path), frame.schema()).unwrap_err().to_string();
                assert!(
                    err.contains(&format!("column {name:?}"))
                        && err.ends_with(&format!("write {instead} instead")),
                    "{err}"
                );
            }
            check_columns(Path::new("s.parquet"), frame.schema()).unwrap();
        }
    }

    #[test]
    fn a_missing_folder_is_named_not_the_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodir").join("t.parquet");
        let err =
            write_table(&mut df!("score" => [0.5]).unwrap(), &path, &Provenance::default()).unwrap_err();
        assert!(matches!(&err, OutputError::NoFolder { folder, .. } if folder.ends_with("nodir")), "{err}");
        assert!(!err.to_string().contains(".t.parquet."), "{err}");
    }

    /// Outputs get the mode of any new file (0666 less the umask), not a temporary file's 0600:
    /// a merge job or a colleague in the group reads them on a cluster.
    #[cfg(target_os = "linux")]
    #[test]
    fn outputs_are_created_with_the_umask_not_private() {
        use std::os::unix::fs::PermissionsExt;
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status.lines().find_map(|line| line.strip_prefix("Umask:")).unwrap().trim();
        let umask = u32::from_str_radix(umask, 8).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut frame = df!("score" => [0.5]).unwrap();
        for name in ["t.parquet", "t.csv", "t.csv.provenance.json"] {
            let path = dir.path().join(name);
            if !name.ends_with(".json") {
                write_table(&mut frame, &path, &Provenance::default()).unwrap();
            }
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o666 & !umask, "{name}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn planted_links_are_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "keep me").unwrap();
        let path = dir.path().join("scores.csv");
        // The temporary names earlier versions used (`.<name>.<pid>.tmp`) and the sidecar's.
        for name in [".scores.csv", ".scores.csv.provenance.json"] {
            let planted = dir.path().join(format!("{name}.{}.tmp", std::process::id()));
            std::os::unix::fs::symlink(&victim, planted).unwrap();
        }
        let mut frame = df!("score" => [0.5f64]).unwrap();
        write_table(&mut frame, &path, &provenance("run")).unwrap();
        probe_writable(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        assert!(std::fs::read_to_string(&path).unwrap().contains("0.5"));

        // A link where a file is replaced whole goes, its target stays.
        let holder = dir.path().join("holder");
        std::os::unix::fs::symlink(&victim, &holder).unwrap();
        std::io::Write::write_all(&mut create_replacing(&holder).unwrap(), b"mine").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        assert!(!std::fs::symlink_metadata(&holder).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&holder).unwrap(), "mine");
    }

    #[test]
    fn stale_temporary_files_of_other_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scores.parquet");
        let own = temp_file(&path).unwrap();
        for stale in [".scores.parquet.1.tmp", ".scores.parquet.2.a1B2c3.tmp"] {
            std::fs::write(dir.path().join(stale), "partial").unwrap();
        }
        std::fs::write(dir.path().join(".scores.parquet.notes.tmp"), "not ours").unwrap();
        remove_stale_temp_files(&path).unwrap();
        let own_name = own.path().file_name().unwrap().to_string_lossy().into_owned();
        let mut expected = vec![".scores.parquet.notes.tmp".to_owned(), own_name];
        expected.sort();
        assert_eq!(files(dir.path()), expected);
    }

    #[test]
    fn a_failed_write_leaves_the_table_and_its_sidecar_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scores.csv");
        let mut first = df!("score" => [0.5f64]).unwrap();
        write_table(&mut first, &path, &provenance("first")).unwrap();
        let (table, sidecar) =
            (std::fs::read(&path).unwrap(), std::fs::read_to_string(provenance_sidecar(&path)).unwrap());
        assert!(sidecar.contains("\"first\""), "{sidecar}");

        // CSV cannot hold a list column.
        let list = Series::new("tags".into(), [Series::new("".into(), ["a", "b"])]);
        let mut unwritable = DataFrame::new(1, vec![list.into_column()]).unwrap();
        let err = write_table(&mut unwritable, &path, &provenance("second")).unwrap_err();
        assert!(matches!(err, OutputError::Unrepresentable { .. }), "{err:?}");
        assert_eq!(std::fs::read(&path).unwrap(), table);
        assert_eq!(std::fs::read_to_string(provenance_sidecar(&path)).unwrap(), sidecar);
        assert_eq!(files(dir.path()), ["scores.csv", "scores.csv.provenance.json"]);

        let mut second = df!("score" => [-0.25f64]).unwrap();
        write_table(&mut second, &path, &provenance("second")).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("-0.25"));
        assert!(std::fs::read_to_string(provenance_sidecar(&path)).unwrap().contains("\"second\""));
        assert_eq!(files(dir.path()), ["scores.csv", "scores.csv.provenance.json"]);
    }
}
