//! Resumable runs: `stance score --out scores.parquet` keeps its finished work in
//! `scores.parquet.parts/` until the final table is written.
//!
//! The corpus is scored in parts of a fixed number of statements, in input order. Each part
//! is written atomically (temporary file, then rename) as `part-NNNNN.parquet`, holding the
//! part's raw scores with the run's configuration hash and a SHA-256 of the scores in its
//! metadata. `manifest.json` holds the configuration itself (corpus hash, targets and
//! hypotheses, model hashes and revision, method and every option that changes a number,
//! batch and part size, device, tool version). A resumed run checks the configuration,
//! keeps the complete, intact parts in order and scores the rest exactly as an
//! uninterrupted run would: parts are scored one at a time from the same statements, so the
//! final table is the same value for value.
//!
//! While a run holds the folder it keeps an advisory lock on the manifest, so a second
//! process on the same output stops with a clear message instead of interleaving parts.

use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::output::{write_table, OutputError};
use crate::progress::Reporter;
use crate::provenance::{sha256_bytes, Provenance};
use crate::score::StanceScore;

const MANIFEST: &str = "manifest.json";
/// The pid of the process holding the run folder's lock, for the message another run gets.
const LOCK_HOLDER: &str = "lock.pid";
const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "{dir} holds {parts} of {total} parts of an interrupted run of this same command: add --resume to \
         continue it, or --restart to discard it and start over"
    )]
    Unfinished { dir: PathBuf, parts: usize, total: usize },
    #[error(
        "{dir} holds parts of a run with another configuration, which must not be mixed with this one:\n{differences}\n\
         rerun with the original settings and --resume, pass --restart to discard those parts, or choose another --out"
    )]
    Mismatch { dir: PathBuf, differences: String },
    #[error("{path} is not a run manifest this version of stance can read; remove {dir} or pass --restart")]
    Manifest {
        path: PathBuf,
        dir: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("another stance process{} is writing {dir}; wait for it to finish or stop it first", holder(*.pid))]
    Busy { dir: PathBuf, pid: Option<u32> },
    #[error("cannot use the run folder {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(
        "not enough free space in {folder}: this run needs at least {needed} for its parts and the final table, \
         and {available} are free"
    )]
    NoSpace { folder: PathBuf, needed: String, available: String },
    #[error("--part-size must be at least 1")]
    ZeroPartSize,
    #[error("{}", interrupted(*saved, *total, dir.as_deref()))]
    Interrupted { saved: usize, total: usize, dir: Option<PathBuf> },
    #[error(
        "scoring stopped with {saved} of {total} parts saved in {dir}: fix the cause below, then run the same \
         command with --resume to continue"
    )]
    Stopped {
        saved: usize,
        total: usize,
        dir: PathBuf,
        #[source]
        source: Box<crate::Error>,
    },
}

fn holder(pid: Option<u32>) -> String {
    pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
}

fn interrupted(saved: usize, total: usize, dir: Option<&Path>) -> String {
    match dir {
        Some(dir) => format!(
            "interrupted: {saved} of {total} parts are saved in {}; run the same command with --resume to continue",
            dir.display()
        ),
        None => "interrupted before scoring finished; nothing was written (with the score cache on, a rerun \
                 reuses what was scored)"
            .into(),
    }
}

/// What to do with the parts of an earlier run found in the output's run folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// Stop with a message saying to pass `--resume` or `--restart`.
    #[default]
    Refuse,
    /// Continue from them when the configuration is the same; refuse otherwise.
    Resume,
    /// Discard them and start over.
    Restart,
}

/// How a run splits into parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLayout {
    pub statements: usize,
    pub targets: usize,
    pub part_size: usize,
}

impl RunLayout {
    pub fn parts(&self) -> usize {
        self.statements.div_ceil(self.part_size)
    }

    /// The statements of part `part`.
    pub fn rows(&self, part: usize) -> Range<usize> {
        let start = part * self.part_size;
        start..(start + self.part_size).min(self.statements)
    }
}

/// The configuration of a run: flat `key → value` facts, so that a mismatch can name what
/// differs. Its SHA-256 identifies the run in every part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunConfig(pub BTreeMap<String, String>);

impl RunConfig {
    pub fn set(&mut self, key: &str, value: impl ToString) {
        self.0.insert(key.to_owned(), value.to_string());
    }

    /// Adds each field of a serializable value's JSON, nested objects as `prefix.a.b`.
    pub fn set_flattened(&mut self, prefix: &str, value: &impl Serialize) {
        let json = serde_json::to_value(value).expect("run settings serialize to JSON");
        self.flatten(prefix, &json);
    }

    fn flatten(&mut self, key: &str, value: &serde_json::Value) {
        match value {
            serde_json::Value::Object(fields) if !fields.is_empty() => {
                for (name, field) in fields {
                    self.flatten(&format!("{key}.{name}"), field);
                }
            }
            serde_json::Value::String(s) => self.set(key, s),
            other => self.set(key, other),
        }
    }

    pub fn sha256(&self) -> String {
        sha256_bytes(serde_json::to_string(&self.0).expect("strings serialize").as_bytes())
    }

    /// `  key: theirs (saved) ≠ ours (now)` for every key that differs.
    fn differences(&self, saved: &RunConfig) -> String {
        saved.compare("saved", self, "now")
    }

    /// `  key: mine (label) ≠ theirs (other_label)` for every key whose values differ.
    pub fn compare(&self, label: &str, other: &RunConfig, other_label: &str) -> String {
        let mut keys: Vec<&String> = self.0.keys().chain(other.0.keys()).collect();
        keys.sort();
        keys.dedup();
        let show = |v: Option<&String>| match v {
            None => "(none)".to_owned(),
            Some(v) if v.chars().count() > 72 => format!("{}…", v.chars().take(71).collect::<String>()),
            Some(v) => v.clone(),
        };
        keys.into_iter()
            .filter(|k| self.0.get(*k) != other.0.get(*k))
            .map(|k| {
                format!("  {k}: {} ({label}) ≠ {} ({other_label})", show(self.0.get(k)), show(other.0.get(k)))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    output: String,
    config_sha256: String,
    statements: usize,
    targets: usize,
    part_size: usize,
    parts: usize,
    config: RunConfig,
}

/// The run folder of one output, locked while this process uses it.
#[derive(Debug)]
pub struct RunDir {
    dir: PathBuf,
    layout: RunLayout,
    config_sha256: String,
    // Held for the lock it carries; dropping it (or dying) releases the lock.
    _lock: File,
}

/// A run folder ready to take parts, and the scores of the parts already done.
#[derive(Debug)]
pub struct Opened {
    pub dir: RunDir,
    /// Complete parts kept from an earlier run, in order.
    pub parts_done: usize,
    /// Their scores, statement-major.
    pub scores: Vec<StanceScore>,
}

impl RunDir {
    /// The run folder of `out`: `<out>.parts`.
    pub fn path_for(out: &Path) -> PathBuf {
        let mut name = out.as_os_str().to_owned();
        name.push(".parts");
        PathBuf::from(name)
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn layout(&self) -> RunLayout {
        self.layout
    }

    /// Opens (or creates) the run folder of `out` for `config`, treating an earlier run's
    /// parts as `existing` says.
    pub fn open(
        out: &Path,
        config: &RunConfig,
        layout: RunLayout,
        existing: Existing,
        reporter: &dyn Reporter,
    ) -> Result<Opened, RunError> {
        if layout.part_size == 0 {
            return Err(RunError::ZeroPartSize);
        }
        let dir = Self::path_for(out);
        remove_abandoned(&dir)?;
        if dir.exists() && !dir.join(MANIFEST).exists() {
            // A run folder is created with its manifest (renamed into place) and removed after
            // being renamed away, so a folder without one is debris of a run killed by an older
            // version while cleaning up: nothing in it can be trusted.
            std::fs::remove_dir_all(&dir).map_err(|source| RunError::Io { path: dir.clone(), source })?;
            reporter.note(&format!("removed {}: a run folder without its manifest", dir.display()));
        }
        if dir.exists() && existing == Existing::Restart {
            let manifest = dir.join(MANIFEST);
            // Never pull the folder from under a run that still writes it. (The lock is let
            // go before removing: some platforms cannot delete an open file.)
            if manifest.exists() {
                drop(lock(&manifest, &dir)?);
            }
            std::fs::remove_dir_all(&dir).map_err(|source| RunError::Io { path: dir.clone(), source })?;
            reporter.note(&format!("discarded the earlier run's parts in {} (--restart)", dir.display()));
        }
        let config_sha256 = config.sha256();
        if !dir.exists() {
            let lock = create(&dir, out, config, &config_sha256, layout)?;
            let dir = RunDir { dir, layout, config_sha256, _lock: lock };
            return Ok(Opened { dir, parts_done: 0, scores: Vec::new() });
        }

        let manifest_path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&manifest_path)
            .map_err(|source| RunError::Io { path: manifest_path.clone(), source })?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|source| RunError::Manifest {
            path: manifest_path.clone(),
            dir: dir.clone(),
            source,
        })?;
        if manifest.format != FORMAT || manifest.config_sha256 != config_sha256 {
            let mut differences = config.differences(&manifest.config);
            if differences.is_empty() {
                differences = format!("  run folder format: {} (saved) ≠ {FORMAT} (now)", manifest.format);
            }
            return Err(RunError::Mismatch { dir, differences });
        }
        // A live run is reported as one, not as an interrupted run to resume.
        let lock = lock(&manifest_path, &dir)?;
        if existing == Existing::Refuse {
            let parts = (0..layout.parts()).take_while(|&p| part_path(&dir, p).exists()).count();
            return Err(RunError::Unfinished { dir, parts, total: layout.parts() });
        }
        let run = RunDir { dir, layout, config_sha256, _lock: lock };
        remove_temp_files(&run.dir)?;
        let (parts_done, scores) = run.complete_parts(reporter)?;
        if parts_done > 0 {
            reporter.note(&format!(
                "resuming: {parts_done} of {} parts already done in {}",
                layout.parts(),
                run.dir.display()
            ));
        }
        Ok(Opened { dir: run, parts_done, scores })
    }

    fn part_path(&self, part: usize) -> PathBuf {
        part_path(&self.dir, part)
    }

    /// Reads the leading run of intact parts; a damaged or missing part and every part after
    /// it are removed, to be scored again.
    fn complete_parts(&self, reporter: &dyn Reporter) -> Result<(usize, Vec<StanceScore>), RunError> {
        let mut scores = Vec::new();
        let mut done = 0;
        while done < self.layout.parts() {
            let path = self.part_path(done);
            if !path.exists() {
                break;
            }
            match self.read_part(done, &path) {
                Ok(part) => scores.extend(part),
                Err(problem) => {
                    reporter.note(&format!("{}: {problem}; scoring it again", path.display()));
                    break;
                }
            }
            done += 1;
        }
        for later in done..self.layout.parts() {
            let path = self.part_path(later);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(RunError::Io { path, source }),
            }
        }
        Ok((done, scores))
    }

    /// A part's scores, or why it cannot be used.
    fn read_part(&self, part: usize, path: &Path) -> Result<Vec<StanceScore>, String> {
        let (frame, provenance) = crate::corpus::read_table(path).map_err(|e| format!("unreadable ({e})"))?;
        if provenance.get("run.config_sha256") != Some(self.config_sha256.as_str())
            || provenance.get("run.part") != Some(part.to_string().as_str())
        {
            return Err("written by another run".into());
        }
        let rows = self.layout.rows(part);
        if frame.height() != rows.len() * self.layout.targets {
            return Err(format!(
                "{} rows where {} were expected",
                frame.height(),
                rows.len() * self.layout.targets
            ));
        }
        let scores = scores_from_frame(&frame).map_err(|e| format!("unexpected columns ({e})"))?;
        let statements =
            frame.column("statement").and_then(|c| c.u64().cloned()).map_err(|e| e.to_string())?;
        let targets = frame.column("target").and_then(|c| c.u32().cloned()).map_err(|e| e.to_string())?;
        let expected = rows.flat_map(|s| (0..self.layout.targets).map(move |t| (s as u64, t as u32)));
        let in_place = statements
            .iter()
            .zip(targets.iter())
            .zip(expected)
            .all(|((s, t), (want_s, want_t))| s == Some(want_s) && t == Some(want_t));
        if !in_place {
            return Err("statements out of place".into());
        }
        if provenance.get("run.part_sha256") != Some(digest(&scores).as_str()) {
            return Err("its scores do not match their checksum".into());
        }
        Ok(scores)
    }

    /// Writes part `part` (its statements' scores, statement-major) atomically.
    pub fn write_part(&self, part: usize, scores: &[StanceScore]) -> Result<(), RunError> {
        let rows = self.layout.rows(part);
        let targets = self.layout.targets;
        let statement: Vec<u64> = rows.flat_map(|s| std::iter::repeat_n(s as u64, targets)).collect();
        let target: Vec<u32> = (0..statement.len()).map(|i| (i % targets) as u32).collect();
        let probs = |k: usize| -> Vec<f32> { scores.iter().map(|s| s.probs[k]).collect() };
        let mut frame = DataFrame::new(
            statement.len(),
            vec![
                Column::new("statement".into(), statement),
                Column::new("target".into(), target),
                Column::new("p_favor".into(), probs(0)),
                Column::new("p_against".into(), probs(1)),
                Column::new("p_none".into(), probs(2)),
                Column::new("truncated".into(), scores.iter().map(|s| s.truncated).collect::<Vec<_>>()),
                Column::new("n_chunks".into(), scores.iter().map(|s| s.n_chunks).collect::<Vec<_>>()),
                Column::new("label_mass".into(), scores.iter().map(|s| s.label_mass).collect::<Vec<_>>()),
            ],
        )
        .expect("part columns have equal lengths");
        let mut provenance = Provenance::default();
        provenance.set("run.config_sha256", &self.config_sha256);
        provenance.set("run.part", part);
        provenance.set("run.part_sha256", digest(scores));
        write_table(&mut frame, &self.part_path(part), &provenance)?;
        Ok(())
    }

    /// Removes the run folder once the final table is written. The folder is first renamed to
    /// a name no run uses (one atomic step), then deleted: a kill at any point leaves either the
    /// complete folder, which `--resume` finishes at once, or debris the next run removes.
    pub fn remove(self) -> Result<(), RunError> {
        let RunDir { dir, _lock: lock, .. } = self;
        let trash = abandoned_name(&dir);
        std::fs::rename(&dir, &trash).map_err(|source| RunError::Io { path: dir.clone(), source })?;
        // Some platforms cannot delete a file that is still open.
        drop(lock);
        std::fs::remove_dir_all(&trash).map_err(|source| RunError::Io { path: trash, source })
    }
}

/// Where [`RunDir::remove`] moves a run folder before deleting it.
fn abandoned_name(dir: &Path) -> PathBuf {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dir.with_file_name(format!(".{name}.removing.{}", std::process::id()))
}

/// Deletes what killed cleanups of `dir` left: folders renamed for removal, and folders being
/// built whose process is gone.
fn remove_abandoned(dir: &Path) -> Result<(), RunError> {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(parent) else { return Ok(()) };
    let removing = format!(".{name}.removing.");
    let building = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let stale = if let Some(pid) = file_name.strip_prefix(&removing) {
            !pid.parse().is_ok_and(process_is_alive)
        } else if let Some(pid) = file_name.strip_prefix(&building).and_then(|rest| rest.strip_suffix(".tmp"))
        {
            pid.parse().is_ok_and(|pid| !process_is_alive(pid))
        } else {
            false
        };
        if stale && entry.path().is_dir() {
            std::fs::remove_dir_all(entry.path())
                .map_err(|source| RunError::Io { path: entry.path(), source })?;
        }
    }
    Ok(())
}

fn process_is_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        // SAFETY: signal 0 only checks that the process exists; nothing is sent.
        let alive = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
        alive || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        true
    }
}

fn part_path(dir: &Path, part: usize) -> PathBuf {
    dir.join(format!("part-{part:05}.parquet"))
}

/// Creates the run folder complete with its manifest: built under a temporary name and
/// renamed, so a run folder always has a manifest.
fn create(
    dir: &Path,
    out: &Path,
    config: &RunConfig,
    config_sha256: &str,
    layout: RunLayout,
) -> Result<File, RunError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| RunError::Io { path, source }
    };
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let building = dir.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    if building.exists() {
        std::fs::remove_dir_all(&building).map_err(io(&building))?;
    }
    std::fs::create_dir(&building).map_err(io(&building))?;
    let manifest = Manifest {
        format: FORMAT,
        output: out.display().to_string(),
        config_sha256: config_sha256.to_owned(),
        statements: layout.statements,
        targets: layout.targets,
        part_size: layout.part_size,
        parts: layout.parts(),
        config: config.clone(),
    };
    let path = building.join(MANIFEST);
    let mut json = serde_json::to_string_pretty(&manifest).expect("manifests serialize");
    json.push('\n');
    let written = std::fs::write(&path, json).and_then(|()| File::open(&path)?.sync_all());
    if let Err(source) = written {
        let _ = std::fs::remove_dir_all(&building);
        return Err(RunError::Io { path, source });
    }
    if let Err(source) = std::fs::rename(&building, dir) {
        let _ = std::fs::remove_dir_all(&building);
        return Err(RunError::Io { path: dir.to_owned(), source });
    }
    lock(&dir.join(MANIFEST), dir)
}

/// Takes the run folder's lock, held until the returned file is dropped.
fn lock(manifest: &Path, dir: &Path) -> Result<File, RunError> {
    let file = File::open(manifest).map_err(|source| RunError::Io { path: manifest.to_owned(), source })?;
    let holder = dir.join(LOCK_HOLDER);
    match try_lock(&file) {
        Ok(true) => {
            // Only a message depends on it: a failed write costs the pid in another run's error.
            let _ = crate::output::create_replacing(&holder).and_then(|mut file| {
                std::io::Write::write_all(&mut file, std::process::id().to_string().as_bytes())
            });
            Ok(file)
        }
        Ok(false) => {
            let pid = std::fs::read_to_string(&holder).ok().and_then(|text| text.trim().parse().ok());
            Err(RunError::Busy { dir: dir.to_owned(), pid })
        }
        Err(source) => Err(RunError::Io { path: manifest.to_owned(), source }),
    }
}

#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this process holds open; no memory is shared.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    if error.kind() == std::io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(error)
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

/// Removes the temporary files of part writes a killed run left in its folder.
fn remove_temp_files(dir: &Path) -> Result<(), RunError> {
    let entries = std::fs::read_dir(dir).map_err(|source| RunError::Io { path: dir.to_owned(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| RunError::Io { path: dir.to_owned(), source })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".tmp") {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|source| RunError::Io { path, source })?;
        }
    }
    Ok(())
}

fn scores_from_frame(frame: &DataFrame) -> PolarsResult<Vec<StanceScore>> {
    let f32s = |name: &str| frame.column(name).and_then(|c| c.f32().cloned());
    let (favor, against, none) = (f32s("p_favor")?, f32s("p_against")?, f32s("p_none")?);
    let truncated = frame.column("truncated")?.bool()?.clone();
    let n_chunks = frame.column("n_chunks")?.u32()?.clone();
    // Parts written before `label_mass` existed have no such column.
    let label_mass = match frame.column("label_mass") {
        Ok(column) => Some(column.f32()?.clone()),
        Err(_) => None,
    };
    let mut scores = Vec::with_capacity(frame.height());
    for i in 0..frame.height() {
        let value = |v: Option<f32>| v.ok_or_else(|| polars_err!(ComputeError: "null score in row {i}"));
        scores.push(StanceScore {
            probs: [value(favor.get(i))?, value(against.get(i))?, value(none.get(i))?],
            truncated: truncated.get(i).ok_or_else(|| polars_err!(ComputeError: "null flag in row {i}"))?,
            n_chunks: n_chunks.get(i).ok_or_else(|| polars_err!(ComputeError: "null count in row {i}"))?,
            label_mass: label_mass.as_ref().and_then(|m| m.get(i)),
        });
    }
    Ok(scores)
}

/// SHA-256 of scores' exact bits, to check a part on resume.
fn digest(scores: &[StanceScore]) -> String {
    let mut hasher = Sha256::new();
    for score in scores {
        for p in score.probs {
            hasher.update(p.to_le_bytes());
        }
        hasher.update(score.n_chunks.to_le_bytes());
        hasher.update([u8::from(score.truncated)]);
        if let Some(mass) = score.label_mass {
            hasher.update(mass.to_le_bytes());
        }
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes free for an unprivileged user in the file system holding `folder`, where the
/// platform can tell.
pub fn available_space(folder: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(folder.as_os_str().as_bytes()).ok()?;
        // SAFETY: statvfs writes only into the zeroed struct we own; the path is NUL-terminated.
        let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
            return None;
        }
        #[allow(clippy::unnecessary_cast)] // the field widths differ between platforms
        Some(stats.f_bavail as u64 * stats.f_frsize as u64)
    }
    #[cfg(not(unix))]
    {
        let _ = folder;
        None
    }
}

/// `1.5 MB`-style sizes for messages.
pub fn human_bytes(bytes: u64) -> String {
    let mut value = bytes as f64;
    for unit in ["B", "KB", "MB", "GB", "TB"] {
        if value < 1000.0 || unit == "TB" {
            return if unit == "B" { format!("{bytes} B") } else { format!("{value:.1} {unit}") };
        }
        value /= 1000.0;
    }
    unreachable!("the loop returns at TB")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    fn config(model: &str) -> RunConfig {
        let mut config = RunConfig::default();
        config.set("model.weights_sha256", model);
        config.set("targets", "[talks]");
        config
    }

    fn scores(n: usize, seed: f32) -> Vec<StanceScore> {
        (0..n)
            .map(|i| {
                let a = (i as f32 * 0.013 + seed).fract() * 0.5;
                StanceScore {
                    probs: [a, 0.6 - a, 0.4],
                    truncated: i % 3 == 0,
                    n_chunks: 1 + (i % 2) as u32,
                    label_mass: (i % 4 == 1).then_some(0.25 * a),
                }
            })
            .collect()
    }

    const LAYOUT: RunLayout = RunLayout { statements: 10, targets: 2, part_size: 4 };

    #[test]
    fn layout_splits_statements_in_order() {
        assert_eq!(LAYOUT.parts(), 3);
        assert_eq!(LAYOUT.rows(2), 8..10);
    }

    #[test]
    fn parts_survive_a_reopen_and_refusals_name_the_cause() {
        let folder = tempfile::tempdir().unwrap();
        let out = folder.path().join("scores.parquet");
        let opened = RunDir::open(&out, &config("a"), LAYOUT, Existing::Refuse, &Silent).unwrap();
        assert_eq!(opened.parts_done, 0);
        let first = scores(8, 0.1);
        opened.dir.write_part(0, &first).unwrap();
        // The lock is held while the folder is open.
        let busy = RunDir::open(&out, &config("a"), LAYOUT, Existing::Resume, &Silent).unwrap_err();
        assert!(matches!(busy, RunError::Busy { .. }), "{busy}");
        drop(opened);

        let refused = RunDir::open(&out, &config("a"), LAYOUT, Existing::Refuse, &Silent).unwrap_err();
        assert!(refused.to_string().contains("1 of 3 parts") && refused.to_string().contains("--resume"));
        let other = RunDir::open(&out, &config("b"), LAYOUT, Existing::Resume, &Silent).unwrap_err();
        assert!(other.to_string().contains("model.weights_sha256: a (saved) ≠ b (now)"), "{other}");

        let resumed = RunDir::open(&out, &config("a"), LAYOUT, Existing::Resume, &Silent).unwrap();
        assert_eq!(resumed.parts_done, 1);
        assert_eq!(resumed.scores, first);
        resumed.dir.remove().unwrap();
        assert!(!RunDir::path_for(&out).exists());
    }

    #[test]
    fn a_damaged_part_is_scored_again_with_those_after_it() {
        let folder = tempfile::tempdir().unwrap();
        let out = folder.path().join("scores.parquet");
        let opened = RunDir::open(&out, &config("a"), LAYOUT, Existing::Refuse, &Silent).unwrap();
        for part in 0..3 {
            opened.dir.write_part(part, &scores(LAYOUT.rows(part).len() * 2, part as f32)).unwrap();
        }
        let second = opened.dir.part_path(1);
        drop(opened);
        let mut bytes = std::fs::read(&second).unwrap();
        bytes.truncate(bytes.len() / 2);
        std::fs::write(&second, bytes).unwrap();
        std::fs::write(RunDir::path_for(&out).join(".part-00002.parquet.99.tmp"), b"partial").unwrap();

        let resumed = RunDir::open(&out, &config("a"), LAYOUT, Existing::Resume, &Silent).unwrap();
        assert_eq!(resumed.parts_done, 1);
        let left: Vec<String> = std::fs::read_dir(resumed.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left.len(), 3, "manifest, lock holder and part 0 only: {left:?}");
    }

    #[test]
    fn restart_discards_another_configuration() {
        let folder = tempfile::tempdir().unwrap();
        let out = folder.path().join("scores.parquet");
        let opened = RunDir::open(&out, &config("a"), LAYOUT, Existing::Refuse, &Silent).unwrap();
        opened.dir.write_part(0, &scores(8, 0.0)).unwrap();
        drop(opened);
        let fresh = RunDir::open(&out, &config("b"), LAYOUT, Existing::Restart, &Silent).unwrap();
        assert_eq!(fresh.parts_done, 0);
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
    }
}
