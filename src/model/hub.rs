//! The Hugging Face hub cache (standard layout, shared with Python `huggingface_hub`) and
//! `stance models pull`, the only code path that uses the network.
//!
//! Layout: `<cache>/models--<org>--<name>/{refs/<revision>, snapshots/<commit>/<file>, blobs/}`.
//! The cache root is `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.

use std::path::{Path, PathBuf};

use hf_hub::api::sync::ApiBuilder;
use hf_hub::{Cache, Repo, RepoType};

use super::ModelError;

/// Files a model folder needs besides its weights.
pub const REQUIRED_FILES: [&str; 2] = ["config.json", "tokenizer.json"];
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

fn is_commit_hash(revision: &str) -> bool {
    revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit())
}

/// Finds `id` in the cache without touching the network.
pub fn find_snapshot(cache: &Path, id: &HubId) -> Result<Snapshot, ModelError> {
    let repo_dir = id.repo_dir(cache);
    let commit = if is_commit_hash(&id.revision) {
        id.revision.clone()
    } else {
        let ref_path = repo_dir.join("refs").join(&id.revision);
        match std::fs::read_to_string(&ref_path) {
            Ok(commit) => commit.trim().to_owned(),
            Err(_) => return Err(ModelError::NotCached { id: id.to_string(), cache: cache.to_owned() }),
        }
    };
    let folder = repo_dir.join("snapshots").join(&commit);
    if !folder.is_dir() {
        return Err(ModelError::NotCached { id: id.to_string(), cache: cache.to_owned() });
    }
    Ok(Snapshot { folder, commit })
}

/// Where the user's files go and how the pull is shown.
pub struct PullOptions {
    pub cache: PathBuf,
    pub endpoint: Option<String>,
    pub show_progress: bool,
}

/// Downloads the files scoring needs (config, tokenizer, safetensors weights, sharded or not)
/// into the cache and returns the snapshot.
pub fn pull(id: &HubId, options: &PullOptions) -> Result<Snapshot, ModelError> {
    let download_error = |source| ModelError::Download { id: id.to_string(), source: Box::new(source) };
    let mut builder = ApiBuilder::from_cache(Cache::new(options.cache.clone()))
        .with_progress(options.show_progress)
        .with_token(std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty()));
    if let Some(endpoint) = options.endpoint.clone().or_else(|| std::env::var("HF_ENDPOINT").ok()) {
        builder = builder.with_endpoint(endpoint);
    }
    let api = builder.build().map_err(download_error)?;
    let repo = api.repo(Repo::with_revision(id.repo_id.clone(), RepoType::Model, id.revision.clone()));
    let info = repo.info().map_err(download_error)?;
    let available: Vec<&str> = info.siblings.iter().map(|s| s.rfilename.as_str()).collect();
    let mut wanted: Vec<String> = REQUIRED_FILES.iter().map(|f| f.to_string()).collect();
    if available.contains(&WEIGHTS_FILE) {
        wanted.push(WEIGHTS_FILE.to_owned());
    } else if available.contains(&WEIGHTS_INDEX_FILE) {
        wanted.push(WEIGHTS_INDEX_FILE.to_owned());
    } else {
        return Err(ModelError::NoSafetensors { id: id.to_string() });
    }
    for file in &wanted {
        if !available.contains(&file.as_str()) {
            return Err(ModelError::MissingRemoteFile { id: id.to_string(), file: file.clone() });
        }
    }
    let mut last = None;
    for file in &wanted {
        last = Some(repo.get(file).map_err(download_error)?);
    }
    if wanted.last().map(String::as_str) == Some(WEIGHTS_INDEX_FILE) {
        let index_path = last.expect("the index file was just downloaded");
        for shard in shard_files(&index_path)? {
            repo.get(&shard).map_err(download_error)?;
        }
    }
    let commit = info.sha;
    // Resolve through the cache so the returned folder is exactly what offline runs will use.
    find_snapshot(&options.cache, &HubId { repo_id: id.repo_id.clone(), revision: commit })
}

/// The shard file names listed in a `model.safetensors.index.json`.
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
    Ok(files)
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
}
