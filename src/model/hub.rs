//! The Hugging Face hub cache (standard layout, shared with Python `huggingface_hub`) and
//! `stance models pull`, the only code path that uses the network.
//!
//! Layout: `<cache>/models--<org>--<name>/{refs/<revision>, snapshots/<commit>/<file>, blobs/}`.
//! The cache root is `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
//!
//! Whatever the hub sends is untrusted. Values that become paths (the revision asked for, the
//! commit, blob ids, file names) are checked before anything is written, and each download must
//! match the size and SHA-256 the hub's listing declares before it enters the cache.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hf_hub::api::sync::{Api, ApiBuilder, ApiError};
use hf_hub::{Cache, Repo, RepoType};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::ModelError;

/// Files a model folder needs besides its weights.
pub const REQUIRED_FILES: [&str; 2] = ["config.json", "tokenizer.json"];
/// Files pulled when the repository has them: the chat template of an LLM (`--method llm`) is
/// `tokenizer_config.json`'s `chat_template`, or a `chat_template.jinja` beside it.
pub const OPTIONAL_FILES: [&str; 2] = ["tokenizer_config.json", "chat_template.jinja"];
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const WEIGHTS_INDEX_FILE: &str = "model.safetensors.index.json";

/// The hub cache root, from the environment as `huggingface_hub` resolves it.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("HF_HUB_CACHE").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(home) = std::env::var_os("HF_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join("hub");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("huggingface").join("hub")
}

/// A hub model id with an optional revision: `org/name` or `org/name@revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubId {
    pub repo_id: String,
    pub revision: String,
}

impl HubId {
    /// Parses `org/name[@revision]`; `None` when the text is not shaped like a hub id.
    pub fn parse(text: &str) -> Option<Self> {
        let (repo_id, revision) = match text.split_once('@') {
            Some((id, rev)) if !rev.is_empty() => (id, rev),
            Some(_) => return None,
            None => (text, "main"),
        };
        let (org, name) = repo_id.split_once('/')?;
        let valid = |part: &str| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        (valid(org) && valid(name))
            .then(|| Self { repo_id: repo_id.to_owned(), revision: revision.to_owned() })
    }

    fn repo_dir(&self, cache: &Path) -> PathBuf {
        cache.join(format!("models--{}", self.repo_id.replace('/', "--")))
    }
}

impl std::fmt::Display for HubId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.repo_id, self.revision)
    }
}

/// A model snapshot found in the local cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub folder: PathBuf,
    pub commit: String,
}

fn is_lower_hex(text: &str, lengths: &[usize]) -> bool {
    lengths.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_commit_hash(text: &str) -> bool {
    is_lower_hex(text, &[40])
}

/// Blob names in the cache: git blob ids (SHA-1) for files kept in git, SHA-256 for LFS files.
fn is_blob_id(text: &str) -> bool {
    is_lower_hex(text, &[40, 64])
}

/// Revisions are branches, tags, refs such as `refs/pr/1` or `refs/convert/parquet`, and
/// commits. A revision names a file under `refs/` in the cache, so only `/`-separated parts of
/// ASCII letters, digits, `.`, `_` and `-` that do not start with `.` are accepted: no `..`, no
/// absolute path, no backslash. A branch named otherwise can still be pulled by its commit.
fn check_revision(revision: &str) -> Result<(), ModelError> {
    let valid = revision.split('/').all(|part| {
        !part.is_empty()
            && !part.starts_with('.')
            && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    });
    if valid {
        Ok(())
    } else {
        Err(ModelError::InvalidRevision { revision: revision.to_owned() })
    }
}

/// A repo file name that stays inside the snapshot folder joined to it: `/`-separated parts,
/// none empty, `.` or `..`, without backslashes (separators on Windows), colons (drives on
/// Windows) or control characters.
fn is_safe_file_name(name: &str) -> bool {
    name.split('/').all(|part| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && !part.chars().any(|c| c == '\\' || c == ':' || c.is_control())
    })
}

/// Finds `id` in the cache without touching the network.
pub fn find_snapshot(cache: &Path, id: &HubId) -> Result<Snapshot, ModelError> {
    check_revision(&id.revision)?;
    let not_cached = || ModelError::NotCached { id: id.to_string(), cache: cache.to_owned() };
    let repo_dir = id.repo_dir(cache);
    let commit = if is_commit_hash(&id.revision) {
        id.revision.clone()
    } else {
        // The ref's content becomes a path: anything but a commit id is no usable ref.
        match std::fs::read_to_string(repo_dir.join("refs").join(&id.revision)) {
            Ok(commit) if is_commit_hash(commit.trim()) => commit.trim().to_owned(),
            _ => return Err(not_cached()),
        }
    };
    let folder = repo_dir.join("snapshots").join(&commit);
    if !folder.is_dir() {
        return Err(not_cached());
    }
    Ok(Snapshot { folder, commit })
}

/// Where the user's files go and how the pull is shown.
pub struct PullOptions {
    pub cache: PathBuf,
    pub endpoint: Option<String>,
    pub show_progress: bool,
}

/// Downloads the files scoring needs (config, tokenizer, safetensors weights, sharded or not,
/// and the chat template's files where the repository has them)
/// of one commit into the cache and returns the snapshot.
pub fn pull(id: &HubId, options: &PullOptions) -> Result<Snapshot, ModelError> {
    check_revision(&id.revision)?;
    let remote = Remote::new(id, options);
    let info = remote.info()?;
    let commit = info.sha.as_str();
    if !is_commit_hash(commit) {
        return Err(remote.refuse("the commit", commit, "a 40-character lowercase hex commit id"));
    }
    if is_commit_hash(&id.revision) && id.revision != commit {
        return Err(remote.refuse("the commit", commit, &format!("the requested {}", id.revision)));
    }
    let listed = |file: &str| {
        let sibling = info
            .siblings
            .iter()
            .find(|s| s.rfilename == file)
            .ok_or_else(|| ModelError::MissingRemoteFile { id: id.to_string(), file: file.to_owned() })?;
        remote.expected(sibling)
    };
    let weights = if info.siblings.iter().any(|s| s.rfilename == WEIGHTS_FILE) {
        WEIGHTS_FILE
    } else if info.siblings.iter().any(|s| s.rfilename == WEIGHTS_INDEX_FILE) {
        WEIGHTS_INDEX_FILE
    } else {
        return Err(ModelError::NoSafetensors { id: id.to_string() });
    };
    // The listing's values for these files are checked before the first write; for shards,
    // which the index names, before theirs.
    let present = |file: &&str| info.siblings.iter().any(|s| s.rfilename == *file);
    // The weights come last: the loop below keeps the last path, the index's.
    let wanted = REQUIRED_FILES
        .into_iter()
        .chain(OPTIONAL_FILES.iter().copied().filter(present))
        .chain([weights])
        .map(|file| Ok((file, listed(file)?)))
        .collect::<Result<Vec<_>, ModelError>>()?;
    let mut last = None;
    for (file, expected) in &wanted {
        last = Some(remote.fetch(file, expected, commit)?);
    }
    if weights == WEIGHTS_INDEX_FILE {
        let index_path = last.expect("the index file was just downloaded");
        for shard in shard_files(&index_path)? {
            remote.fetch(&shard, &listed(&shard)?, commit)?;
        }
    }
    // Written last, so an interrupted pull leaves no ref to a partial snapshot.
    if id.revision != commit {
        let ref_path = id.repo_dir(&options.cache).join("refs").join(&id.revision);
        write_replacing(&ref_path, commit)?;
    }
    // Resolve through the cache so the returned folder is exactly what offline runs will use.
    find_snapshot(&options.cache, &HubId { repo_id: id.repo_id.clone(), revision: commit.to_owned() })
}

/// The shard file names listed in a `model.safetensors.index.json`: plain names of files beside
/// the index, as transformers writes them.
pub fn shard_files(index_path: &Path) -> Result<Vec<String>, ModelError> {
    #[derive(serde::Deserialize)]
    struct Index {
        weight_map: std::collections::BTreeMap<String, String>,
    }
    let text = std::fs::read_to_string(index_path)
        .map_err(|source| ModelError::Io { path: index_path.to_owned(), source })?;
    let index: Index = serde_json::from_str(&text)
        .map_err(|source| ModelError::WeightIndex { path: index_path.to_owned(), source })?;
    let mut files: Vec<String> = index.weight_map.into_values().collect();
    files.sort();
    files.dedup();
    if let Some(file) = files.iter().find(|f| f.contains('/') || !is_safe_file_name(f)) {
        return Err(ModelError::UnsafeShardName { path: index_path.to_owned(), file: file.clone() });
    }
    Ok(files)
}

/// The repo listing of `GET /api/models/<id>/revision/<revision>?blobs=true`.
#[derive(serde::Deserialize)]
struct RepoInfo {
    sha: String,
    siblings: Vec<Sibling>,
}

#[derive(serde::Deserialize)]
struct Sibling {
    rfilename: String,
    size: Option<u64>,
    #[serde(rename = "blobId")]
    blob_id: Option<String>,
    lfs: Option<Lfs>,
}

#[derive(serde::Deserialize)]
struct Lfs {
    sha256: String,
    size: u64,
}

/// What a download must match, from the listing.
struct Expected {
    size: Option<u64>,
    sha256: Option<String>,
    /// The blob's name in the cache, as huggingface_hub names it; `None` names it by the
    /// SHA-256 of the bytes.
    blob: Option<String>,
}

/// A file's body and the hub's own headers about it, which are `None` where a redirect (to the
/// CDN serving LFS files) answered instead of the hub.
struct Response {
    commit: Option<String>,
    etag: Option<String>,
    body: Box<dyn Read + Send + Sync>,
}

/// The hub for one pull.
struct Remote<'a> {
    id: &'a HubId,
    cache: &'a Path,
    endpoint: String,
    token: Option<String>,
    show_progress: bool,
}

impl<'a> Remote<'a> {
    fn new(id: &'a HubId, options: &'a PullOptions) -> Self {
        let endpoint = options
            .endpoint
            .clone()
            .or_else(|| std::env::var("HF_ENDPOINT").ok())
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "https://huggingface.co".to_owned());
        Self {
            id,
            cache: &options.cache,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            token: std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty()),
            show_progress: options.show_progress,
        }
    }

    fn download_error(&self, source: ApiError) -> ModelError {
        ModelError::Download { id: self.id.to_string(), source: Box::new(source) }
    }

    fn refuse(&self, what: &str, value: &str, expected: &str) -> ModelError {
        ModelError::UnsafeHubValue {
            id: self.id.to_string(),
            what: what.to_owned(),
            value: value.to_owned(),
            expected: expected.to_owned(),
        }
    }

    fn api(&self, endpoint: String) -> Result<Api, ModelError> {
        ApiBuilder::from_cache(Cache::new(self.cache.to_owned()))
            .with_progress(false)
            .with_token(self.token.clone())
            .with_endpoint(endpoint)
            .build()
            .map_err(|e| self.download_error(e))
    }

    fn info(&self) -> Result<RepoInfo, ModelError> {
        let repo = Repo::with_revision(self.id.repo_id.clone(), RepoType::Model, self.id.revision.clone());
        let response =
            self.api(self.endpoint.clone())?.repo(repo).info_request().query("blobs", "true").call();
        let response = response.map_err(|e| self.download_error(ApiError::RequestError(Box::new(e))))?;
        response.into_json().map_err(|e| self.download_error(ApiError::IoError(e)))
    }

    /// GETs `path` under the endpoint with hf-hub's HTTP client (its TLS, proxy, token and
    /// redirect settings) but none of its cache writes, which trust the server's headers.
    /// hf-hub 0.4 hands out requests only for `{endpoint}/api/...`; an endpoint rooted at the
    /// wanted URL and ending in `#` turns that suffix into a fragment, which is never sent.
    fn get(&self, path: &str) -> Result<Response, ModelError> {
        let api = self.api(format!("{}/{path}#", self.endpoint))?;
        // Uncompressed, so the bytes and the ETag are the stored file's, as the listing has them.
        let request =
            api.repo(Repo::model(self.id.repo_id.clone())).info_request().set("Accept-Encoding", "identity");
        let requested = request.request_url().map(|url| url.as_url().to_string()).ok();
        let response =
            request.call().map_err(|e| self.download_error(ApiError::RequestError(Box::new(e))))?;
        let direct = requested.as_deref() == Some(response.get_url());
        let header = |name| response.header(name).filter(|_| direct).map(str::to_owned);
        let commit = header("x-repo-commit");
        let etag = header("x-linked-etag").or_else(|| header("etag"));
        Ok(Response { commit, etag, body: response.into_reader() })
    }

    /// Checks the listing's values that name files in the cache.
    fn expected(&self, sibling: &Sibling) -> Result<Expected, ModelError> {
        let file = &sibling.rfilename;
        if let Some(lfs) = &sibling.lfs {
            if !is_lower_hex(&lfs.sha256, &[64]) {
                return Err(self.refuse(
                    &format!("the SHA-256 of {file}"),
                    &lfs.sha256,
                    "64 lowercase hex digits",
                ));
            }
            return Ok(Expected {
                size: Some(lfs.size),
                sha256: Some(lfs.sha256.clone()),
                blob: Some(lfs.sha256.clone()),
            });
        }
        if let Some(blob_id) = sibling.blob_id.as_deref().filter(|b| !is_blob_id(b)) {
            return Err(self.refuse(
                &format!("the blob id of {file}"),
                blob_id,
                "40 or 64 lowercase hex digits",
            ));
        }
        Ok(Expected { size: sibling.size, sha256: None, blob: sibling.blob_id.clone() })
    }

    /// Refuses a response whose headers contradict the listing; they name nothing here, but a
    /// hub that sends a path as a blob id or another commit is not to be trusted for the bytes.
    fn check_headers(
        &self,
        file: &str,
        response: &Response,
        expected: &Expected,
        commit: &str,
    ) -> Result<(), ModelError> {
        if let Some(sent) = response.commit.as_deref().filter(|sent| *sent != commit) {
            return Err(self.refuse(
                &format!("the X-Repo-Commit of {file}"),
                sent,
                &format!("the listed commit {commit}"),
            ));
        }
        if let Some(etag) = &response.etag {
            let blob = etag.trim().trim_start_matches("W/").trim_matches('"');
            if !is_blob_id(blob) {
                return Err(self.refuse(
                    &format!("the ETag of {file}"),
                    etag,
                    "a 40- or 64-digit hex blob id",
                ));
            }
            if let Some(listed) = expected.blob.as_deref().filter(|listed| *listed != blob) {
                return Err(self.refuse(
                    &format!("the ETag of {file}"),
                    etag,
                    &format!("the listed blob id {listed}"),
                ));
            }
        }
        Ok(())
    }

    /// Puts `file` (a name checked safe) at `snapshots/<commit>/<file>`, linked to its blob,
    /// which is downloaded unless the cache holds it intact already.
    fn fetch(&self, file: &str, expected: &Expected, commit: &str) -> Result<PathBuf, ModelError> {
        let repo_dir = self.id.repo_dir(self.cache);
        let blobs = repo_dir.join("blobs");
        let cached =
            expected.blob.as_ref().map(|blob| blobs.join(blob)).filter(|blob| is_intact(blob, expected));
        let blob = match cached {
            Some(blob) => blob,
            None => self.download(file, expected, commit, &blobs)?,
        };
        let pointer = repo_dir.join("snapshots").join(commit).join(file);
        link(&pointer, &blob, file)
            .map_err(|source| ModelError::CacheWrite { path: pointer.clone(), source })?;
        Ok(pointer)
    }

    /// Downloads `file` into `blobs`, verifying it as the bytes arrive; returns the blob.
    fn download(
        &self,
        file: &str,
        expected: &Expected,
        commit: &str,
        blobs: &Path,
    ) -> Result<PathBuf, ModelError> {
        let mut response = self.get(&format!("{}/resolve/{commit}/{}", self.id.repo_id, url_path(file)))?;
        self.check_headers(file, &response, expected, commit)?;
        let mismatch = |what, expected: String, actual: String| ModelError::DownloadMismatch {
            id: self.id.to_string(),
            file: file.to_owned(),
            what,
            expected,
            actual,
        };
        std::fs::create_dir_all(blobs)
            .map_err(|source| ModelError::CacheWrite { path: blobs.to_owned(), source })?;
        let partial = Partial(beside(&blobs.join(expected.blob.as_deref().unwrap_or("download"))));
        let write_error = |source| ModelError::CacheWrite { path: partial.0.clone(), source };
        let mut out = crate::output::create_replacing(&partial.0).map_err(write_error)?;
        let progress = self.progress_bar(file, expected.size);
        let mut hasher = Sha256::new();
        let mut received = 0u64;
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let n = response.body.read(&mut buffer).map_err(|e| self.download_error(ApiError::IoError(e)))?;
            if n == 0 {
                break;
            }
            received += n as u64;
            // Stop at the first excess byte rather than fill the disk.
            if let Some(size) = expected.size.filter(|size| received > *size) {
                return Err(mismatch("size", format!("{size} bytes"), format!("more than {size} bytes")));
            }
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n]).map_err(write_error)?;
            progress.inc(n as u64);
        }
        progress.finish_and_clear();
        if let Some(size) = expected.size.filter(|size| received != *size) {
            return Err(mismatch("size", format!("{size} bytes"), format!("{received} bytes")));
        }
        let sha256 = format!("{:x}", hasher.finalize());
        if let Some(listed) = expected.sha256.as_ref().filter(|listed| **listed != sha256) {
            return Err(mismatch("SHA-256", listed.clone(), sha256));
        }
        out.sync_all().map_err(write_error)?;
        let blob = blobs.join(expected.blob.as_deref().unwrap_or(&sha256));
        std::fs::rename(&partial.0, &blob).map_err(write_error)?;
        Ok(blob)
    }

    fn progress_bar(&self, file: &str, size: Option<u64>) -> ProgressBar {
        if !self.show_progress {
            return ProgressBar::hidden();
        }
        let bar = match size {
            Some(size) => ProgressBar::new(size).with_style(
                ProgressStyle::with_template(
                    "{msg} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} ({eta})",
                )
                .expect("valid template"),
            ),
            None => ProgressBar::new_spinner(),
        };
        bar.with_message(file.to_owned())
    }
}

/// Whether `blob` exists with the listed size and SHA-256; unreadable counts as not intact.
fn is_intact(blob: &Path, expected: &Expected) -> bool {
    let size_ok = match (std::fs::metadata(blob), expected.size) {
        (Ok(meta), Some(size)) => meta.is_file() && meta.len() == size,
        (Ok(meta), None) => meta.is_file(),
        (Err(_), _) => false,
    };
    size_ok
        && expected
            .sha256
            .as_ref()
            .is_none_or(|listed| crate::provenance::sha256_file(blob).is_ok_and(|actual| actual == *listed))
}

/// A file in progress, removed on drop; once renamed into place there is nothing to remove.
struct Partial(PathBuf);

impl Drop for Partial {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A hidden, per-process name next to `path`, for writing it and renaming it into place.
fn beside(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{}.incomplete", std::process::id()))
}

/// Writes `text` to `path`, replacing it whole.
fn write_replacing(path: &Path, text: &str) -> Result<(), ModelError> {
    let write_error = |source| ModelError::CacheWrite { path: path.to_owned(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(write_error)?;
    }
    let partial = Partial(beside(path));
    crate::output::create_replacing(&partial.0)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(write_error)?;
    std::fs::rename(&partial.0, path).map_err(write_error)
}

/// Points `pointer` at `blob` with a relative symlink, as huggingface_hub does (a hard link
/// where symlinks need privileges), replacing an older pointer whole.
fn link(pointer: &Path, blob: &Path, file: &str) -> std::io::Result<()> {
    if let Some(parent) = pointer.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let partial = Partial(beside(pointer));
    // One left by a process killed here under the same pid would block the symlink.
    let _ = std::fs::remove_file(&partial.0);
    #[cfg(unix)]
    {
        // From snapshots/<commit>/<file's folders> back up to the repo folder.
        let up = "../".repeat(2 + file.matches('/').count());
        let name = blob.file_name().unwrap_or_default().to_string_lossy();
        std::os::unix::fs::symlink(format!("{up}blobs/{name}"), &partial.0)?;
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        std::fs::hard_link(blob, &partial.0)?;
    }
    std::fs::rename(&partial.0, pointer)
}

/// `file` percent-encoded for a URL path, its `/` kept.
fn url_path(file: &str) -> String {
    file.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_ids_parse() {
        assert_eq!(
            HubId::parse("MoritzLaurer/deberta-v3-base-zeroshot-v2.0@abc"),
            Some(HubId {
                repo_id: "MoritzLaurer/deberta-v3-base-zeroshot-v2.0".into(),
                revision: "abc".into()
            })
        );
        assert_eq!(HubId::parse("org/name").unwrap().revision, "main");
        assert_eq!(HubId::parse("noslash"), None);
        assert_eq!(HubId::parse("org/name@"), None);
        assert_eq!(HubId::parse("./models/x"), None);
    }

    #[test]
    fn snapshot_resolves_by_ref_and_by_commit() {
        let cache = tempfile::tempdir().unwrap();
        let commit = "0123456789abcdef0123456789abcdef01234567";
        let repo = cache.path().join("models--org--name");
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::create_dir_all(repo.join("snapshots").join(commit)).unwrap();
        std::fs::write(repo.join("refs").join("main"), format!("{commit}\n")).unwrap();
        let by_ref = find_snapshot(cache.path(), &HubId::parse("org/name").unwrap()).unwrap();
        assert_eq!(by_ref.commit, commit);
        let by_commit = find_snapshot(cache.path(), &HubId::parse(&format!("org/name@{commit}")).unwrap());
        assert_eq!(by_commit.unwrap(), by_ref);
        let missing = find_snapshot(cache.path(), &HubId::parse("org/other").unwrap());
        assert!(matches!(missing, Err(ModelError::NotCached { .. })));
    }

    #[test]
    fn revisions_that_leave_the_refs_folder_are_refused() {
        for ok in ["main", "v1.0", "refs/pr/1", "refs/convert/parquet", "my_branch-2"] {
            assert!(check_revision(ok).is_ok(), "{ok}");
        }
        for bad in ["..", "../x", "a/../b", "/etc/x", "a//b", "a/", ".hidden", "a\\b", "a b", "a:b", ""] {
            assert!(matches!(check_revision(bad), Err(ModelError::InvalidRevision { .. })), "{bad}");
        }
        // find_snapshot reads refs/<revision>: the same rule keeps it inside the cache.
        let cache = tempfile::tempdir().unwrap();
        let outside = find_snapshot(cache.path(), &HubId::parse("org/name@../../x").unwrap());
        assert!(matches!(outside, Err(ModelError::InvalidRevision { .. })));
    }

    #[test]
    fn a_ref_that_is_no_commit_id_is_not_followed() {
        let cache = tempfile::tempdir().unwrap();
        let repo = cache.path().join("models--org--name");
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::create_dir_all(repo.join("snapshots")).unwrap();
        std::fs::write(repo.join("refs").join("main"), "..").unwrap();
        let found = find_snapshot(cache.path(), &HubId::parse("org/name").unwrap());
        assert!(matches!(found, Err(ModelError::NotCached { .. })), "{found:?}");
    }

    #[test]
    fn file_names_must_stay_inside_the_snapshot() {
        for ok in ["config.json", "onnx/model.onnx", "model-00001-of-00002.safetensors"] {
            assert!(is_safe_file_name(ok), "{ok}");
        }
        for bad in ["", "..", "../x", "a/../x", "./x", "/abs", "a//b", "a/", "a\\..\\b", "C:x", "a\nb"] {
            assert!(!is_safe_file_name(bad), "{bad}");
        }
    }

    #[test]
    fn shard_names_must_be_plain_names_beside_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join(WEIGHTS_INDEX_FILE);
        let write = |shard: &str| {
            let map = serde_json::json!({ "weight_map": { "a": "model-1.safetensors", "b": shard } });
            std::fs::write(&index, map.to_string()).unwrap();
        };
        write("model-2.safetensors");
        assert_eq!(shard_files(&index).unwrap(), ["model-1.safetensors", "model-2.safetensors"]);
        for bad in ["../../evil.safetensors", "/tmp/evil.safetensors", "sub/x.safetensors", "a\\b"] {
            write(bad);
            let refused = shard_files(&index);
            assert!(
                matches!(&refused, Err(ModelError::UnsafeShardName { file, .. }) if file == bad),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn file_names_are_percent_encoded_for_urls() {
        assert_eq!(url_path("onnx/model.onnx"), "onnx/model.onnx");
        assert_eq!(url_path("a b#c?.json"), "a%20b%23c%3F.json");
    }
}
