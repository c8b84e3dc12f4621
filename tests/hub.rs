//! `stance models pull` against a local stand-in for the Hugging Face hub: the real download
//! code fills the standard cache layout, and scoring then resolves the hub id offline,
//! recording the resolved commit and the weights' hash. The stand-in can also lie the ways a
//! hostile hub could; each lie must be refused with nothing written beside the cache.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use assert_cmd::Command;

const REPO_ID: &str = "stance-fixtures/tiny-bert";
const COMMIT: &str = "4f1c0a7e9b2d3c5a6e8f0b1d2c3a4e5f6a7b8c9d";

/// How the stand-in changes the bytes of a file it serves.
type Change = fn(&mut Vec<u8>);

/// What the stand-in says instead of the truth.
#[derive(Clone, Default)]
enum Lie {
    #[default]
    None,
    /// The repo listing names this commit.
    ListedCommit(String),
    /// Downloads carry this `X-Repo-Commit`.
    RepoCommit(String),
    /// Downloads carry this `ETag`.
    Etag(String),
    /// `model.safetensors` is served changed from what the listing declares.
    Weights(Change),
}

/// Serves the files of `folder` the way the hub's HTTP API does, for `requests` requests.
fn serve(folder: PathBuf, requests: usize, lie: Lie) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            respond(stream.unwrap(), &folder, &lie);
        }
    });
    address
}

/// The hub's listing entry for a file: LFS (size and SHA-256) for weights, git otherwise.
fn sibling(name: &str, bytes: &[u8]) -> serde_json::Value {
    let sha256 = stance::provenance::sha256_bytes(bytes);
    // Stands in for the git blob id (a SHA-1), which pull cannot recompute and does not.
    let blob_id = &sha256[..40];
    if name.ends_with(".safetensors") {
        serde_json::json!({
            "rfilename": name, "size": bytes.len(), "blobId": blob_id,
            "lfs": { "sha256": sha256, "size": bytes.len(), "pointerSize": 134 },
        })
    } else {
        serde_json::json!({ "rfilename": name, "size": bytes.len(), "blobId": blob_id })
    }
}

/// The blob id the hub names a file by: its `lfs.sha256`, else its `blobId`.
fn blob_id(listed: &serde_json::Value) -> String {
    listed["lfs"]["sha256"].as_str().or(listed["blobId"].as_str()).unwrap().to_owned()
}

fn respond(mut stream: TcpStream, folder: &Path, lie: &Lie) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let target = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let path = target.split('?').next().unwrap();
    // Ranges as the hub serves them: hf-hub's own client asks for them.
    let mut range = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some(bytes) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
            let (start, end) = bytes.trim().split_once('-').unwrap();
            range = Some((start.parse::<usize>().unwrap(), end.parse::<usize>().ok()));
        }
    }
    // Any revision is answered, and any file by its last path segment (URLs normalise `..`
    // away), as a hostile hub would.
    let file = match path.split_once("/resolve/") {
        Some((_, rest)) => rest.split_once('/').map_or(rest, |(_, file)| file),
        None => path.rsplit('/').next().unwrap(),
    };
    let (status, headers, body) = if path.starts_with(&format!("/api/models/{REPO_ID}/revision/")) {
        let siblings: Vec<serde_json::Value> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| sibling(&e.file_name().to_string_lossy(), &std::fs::read(e.path()).unwrap()))
            .collect();
        let sha = match lie {
            Lie::ListedCommit(commit) => commit.as_str(),
            _ => COMMIT,
        };
        let body = serde_json::json!({ "sha": sha, "siblings": siblings }).to_string().into_bytes();
        ("200 OK", vec![("Content-Type".to_owned(), "application/json".to_owned())], body)
    } else if let Ok(mut bytes) = std::fs::read(folder.join(file)) {
        let listed = sibling(file, &bytes);
        if let (Lie::Weights(change), "model.safetensors") = (lie, file) {
            change(&mut bytes);
        }
        let commit = match lie {
            Lie::RepoCommit(commit) => commit.clone(),
            _ => COMMIT.to_owned(),
        };
        let etag = match lie {
            Lie::Etag(etag) => etag.clone(),
            _ => blob_id(&listed),
        };
        let mut headers =
            vec![("X-Repo-Commit".to_owned(), commit), ("ETag".to_owned(), format!("\"{etag}\""))];
        match range {
            Some((start, end)) => {
                let end = end.unwrap_or(bytes.len() - 1).min(bytes.len() - 1);
                headers.push(("Content-Range".to_owned(), format!("bytes {start}-{end}/{}", bytes.len())));
                ("206 Partial Content", headers, bytes[start..=end].to_vec())
            }
            None => ("200 OK", headers, bytes),
        }
    } else {
        ("404 Not Found", Vec::new(), b"not found".to_vec())
    };
    let mut response =
        format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    // pull hangs up early on a body longer than listed.
    let _ = stream.write_all(response.as_bytes()).and_then(|()| stream.write_all(&body));
    let _ = reader.read_to_end(&mut Vec::new());
}

fn stance(cache: &Path, args: &[&str]) -> std::process::Output {
    let mut command = Command::cargo_bin("stance").unwrap();
    command.env("HF_HUB_CACHE", cache).env("STANCE_CACHE_DIR", cache.join("score-cache"));
    command.env_remove("HF_ENDPOINT").env_remove("HF_TOKEN");
    for proxy in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
        command.env_remove(proxy);
    }
    command.args(args).output().unwrap()
}

/// Everything under `root` except the `hub` cache: paths with file contents or link targets.
fn beside_cache(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut found = BTreeMap::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path == root.join("hub") {
                continue;
            }
            let kind = std::fs::symlink_metadata(&path).unwrap().file_type();
            let seen = if kind.is_symlink() {
                format!("link to {}", std::fs::read_link(&path).unwrap().display())
            } else if kind.is_dir() {
                folders.push(path.clone());
                "folder".to_owned()
            } else {
                String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned()
            };
            found.insert(path, seen);
        }
    }
    found
}

/// Pulls `spec` into `root/hub` from a stand-in serving `folder` that tells `lie`, and checks
/// the pull fails with exit code 2, says `message`, and leaves everything beside the cache as it
/// was, including a file `F` that a ref written outside it would overwrite.
fn assert_refused(root: &Path, folder: &Path, spec: &str, lie: Lie, message: &str) {
    std::fs::write(root.join("F"), "not to be overwritten").unwrap();
    let before = beside_cache(root);
    let endpoint = serve(folder.to_owned(), usize::MAX, lie);
    let pull = stance(&root.join("hub"), &["-q", "models", "pull", spec, "--endpoint", &endpoint]);
    let stderr = String::from_utf8_lossy(&pull.stderr);
    assert_eq!(pull.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: ") && stderr.contains(message), "expected `{message}` in:\n{stderr}");
    assert_eq!(beside_cache(root), before, "the pull wrote beside the cache");
}

fn repo_dir(root: &Path) -> PathBuf {
    root.join("hub/models--stance-fixtures--tiny-bert")
}

#[test]
fn pull_fills_the_standard_cache_and_scoring_resolves_it_offline() {
    let folder = common::fixture_model_dir("bert");
    let files = std::fs::read_dir(&folder).unwrap().count();
    // One listing request, then one download per needed file.
    let endpoint = serve(folder.clone(), 1 + 4, Lie::None);
    let cache = tempfile::tempdir().unwrap();

    let pull = stance(cache.path(), &["-q", "models", "pull", REPO_ID, "--endpoint", &endpoint]);
    assert!(pull.status.success(), "{}", String::from_utf8_lossy(&pull.stderr));
    assert!(files > 3, "the stand-in serves more files than scoring needs");

    let repo = cache.path().join("models--stance-fixtures--tiny-bert");
    assert_eq!(std::fs::read_to_string(repo.join("refs/main")).unwrap().trim(), COMMIT);
    let snapshot = repo.join("snapshots").join(COMMIT);
    let mut pulled: Vec<String> = std::fs::read_dir(&snapshot)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pulled.sort();
    assert_eq!(pulled, ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
    let weights_sha = stance::provenance::sha256_file(&folder.join("model.safetensors")).unwrap();
    assert!(repo.join("blobs").join(&weights_sha).is_file(), "LFS blobs are named by their SHA-256");
    assert_eq!(std::fs::read_dir(repo.join("blobs")).unwrap().count(), 4, "no partial downloads are left");

    // Intact blobs are not downloaded again: the stand-in answers only the listing.
    let endpoint = serve(folder.clone(), 1, Lie::None);
    let again = stance(cache.path(), &["-q", "models", "pull", REPO_ID, "--endpoint", &endpoint]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));

    // Offline from here on: the stand-in has answered all it will.
    let corpus = cache.path().join("c.csv");
    std::fs::write(&corpus, "actor,date,text\nA,2025-01-01,We welcome the talks.\n").unwrap();
    let out = cache.path().join("s.parquet");
    let score = stance(
        cache.path(),
        &[
            "score",
            corpus.to_str().unwrap(),
            "--target",
            "talks",
            "--model",
            REPO_ID,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(score.status.success(), "{}", String::from_utf8_lossy(&score.stderr));
    let show = stance(cache.path(), &["show", out.to_str().unwrap(), "--metadata"]);
    let metadata = String::from_utf8_lossy(&show.stdout);
    assert!(metadata.contains(&format!("model.id: {REPO_ID}")), "{metadata}");
    assert!(metadata.contains(&format!("model.revision: {COMMIT}")), "{metadata}");
    assert!(metadata.contains(&format!("model.weights_sha256: {weights_sha}")), "{metadata}");
}

#[test]
fn pull_reports_an_unreachable_hub() {
    let cache = tempfile::tempdir().unwrap();
    // A port nothing listens on: bind, read the port, close.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let pull = stance(cache.path(), &["-q", "models", "pull", REPO_ID, "--endpoint", &endpoint]);
    assert_eq!(pull.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&pull.stderr);
    assert!(stderr.starts_with(&format!("error: downloading {REPO_ID}@main failed")), "{stderr}");
}

#[test]
fn pull_refuses_a_revision_that_leaves_the_refs_folder() {
    let folder = common::fixture_model_dir("bert");
    let root = tempfile::tempdir().unwrap();
    // refs/../../../F is root/F; an absolute revision replaces the refs folder altogether.
    let absolute = root.path().join("F");
    for revision in ["../../../F", absolute.to_str().unwrap()] {
        let spec = format!("{REPO_ID}@{revision}");
        assert_refused(root.path(), &folder, &spec, Lie::None, "is not a revision stance accepts");
    }
}

#[test]
fn pull_refuses_an_etag_that_is_not_a_blob_id() {
    let folder = common::fixture_model_dir("bert");
    let root = tempfile::tempdir().unwrap();
    // blobs/../../../evil is root/evil.
    let absolute = root.path().join("evil");
    for etag in ["../../../evil", absolute.to_str().unwrap()] {
        let lie = Lie::Etag(etag.to_owned());
        assert_refused(root.path(), &folder, REPO_ID, lie, "refusing the ETag of config.json");
    }
}

#[test]
fn pull_refuses_a_commit_that_is_not_a_commit_id() {
    let folder = common::fixture_model_dir("bert");
    let root = tempfile::tempdir().unwrap();
    // snapshots/../../../x is root/x.
    let lie = Lie::RepoCommit("../../../x".to_owned());
    assert_refused(root.path(), &folder, REPO_ID, lie, "refusing the X-Repo-Commit of config.json");
    let lie = Lie::ListedCommit("../../../x".to_owned());
    assert_refused(root.path(), &folder, REPO_ID, lie, "refusing the commit \"../../../x\"");
    assert!(!repo_dir(root.path()).join("snapshots").exists(), "nothing was downloaded");
}

#[test]
fn pull_refuses_shard_names_outside_the_snapshot() {
    let bert = common::fixture_model_dir("bert");
    let root = tempfile::tempdir().unwrap();
    // snapshots/<commit>/../../../../evil.safetensors is root/evil.safetensors.
    let absolute = root.path().join("evil.safetensors");
    for shard in ["../../../../evil.safetensors", absolute.to_str().unwrap()] {
        let folder = tempfile::tempdir().unwrap();
        for file in ["config.json", "tokenizer.json"] {
            std::fs::copy(bert.join(file), folder.path().join(file)).unwrap();
        }
        std::fs::copy(bert.join("model.safetensors"), folder.path().join("evil.safetensors")).unwrap();
        let index = serde_json::json!({ "weight_map": { "bert.embeddings.word_embeddings.weight": shard } });
        std::fs::write(folder.path().join("model.safetensors.index.json"), index.to_string()).unwrap();
        let message = format!("lists the shard {shard:?}, which is not a plain file name");
        assert_refused(root.path(), folder.path(), REPO_ID, Lie::None, &message);
    }
}

#[test]
fn pull_discards_weights_that_do_not_match_the_listing() {
    let folder = common::fixture_model_dir("bert");
    let root = tempfile::tempdir().unwrap();
    let changes: [(Change, &str); 3] = [
        (|bytes| bytes[100] ^= 1, "SHA-256"),
        (|bytes| bytes.truncate(bytes.len() - 1), "size"),
        (|bytes| bytes.push(0), "size"),
    ];
    for (change, what) in changes {
        let message =
            format!("model.safetensors from {REPO_ID}@main does not match the hub's listing ({what}");
        assert_refused(root.path(), &folder, REPO_ID, Lie::Weights(change), &message);
        let repo = repo_dir(root.path());
        assert!(!repo.join("snapshots").join(COMMIT).join("model.safetensors").exists());
        let blobs: Vec<_> =
            std::fs::read_dir(repo.join("blobs")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(
            blobs.len(),
            3,
            "only config.json, tokenizer.json and tokenizer_config.json are kept: {blobs:?}"
        );
        assert!(!repo.join("refs/main").exists(), "no ref points at the incomplete snapshot");
    }
}

/// A decoder LLM as the hub keeps 7B models: weights in shards listed by an index, and the chat
/// template in tokenizer_config.json. All of it is pulled, and scoring with the llm method then
/// runs offline with the same numbers as the one-file folder.
#[test]
fn pull_brings_an_llm_with_sharded_weights_and_its_chat_template() {
    let qwen2 = common::fixture_model_dir("qwen2");
    let folder = tempfile::tempdir().unwrap();
    for file in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(qwen2.join(file), folder.path().join(file)).unwrap();
    }
    let bytes = std::fs::read(qwen2.join("model.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = tensors.names().into_iter().map(str::to_owned).collect();
    names.sort();
    let mut weight_map = serde_json::Map::new();
    for (i, part) in names.chunks(names.len().div_ceil(2)).enumerate() {
        let file = format!("model-0000{}-of-00002.safetensors", i + 1);
        let views: Vec<(String, safetensors::tensor::TensorView)> =
            part.iter().map(|name| (name.clone(), tensors.tensor(name).unwrap())).collect();
        std::fs::write(folder.path().join(&file), safetensors::serialize(views, None).unwrap()).unwrap();
        for name in part {
            weight_map.insert(name.clone(), file.clone().into());
        }
    }
    let index = serde_json::json!({ "metadata": {}, "weight_map": weight_map });
    std::fs::write(folder.path().join("model.safetensors.index.json"), index.to_string()).unwrap();

    // The listing, config, tokenizer, tokenizer config, index and two shards.
    let endpoint = serve(folder.path().to_owned(), 1 + 6, Lie::None);
    let cache = tempfile::tempdir().unwrap();
    let pull = stance(cache.path(), &["-q", "models", "pull", REPO_ID, "--endpoint", &endpoint]);
    assert!(pull.status.success(), "{}", String::from_utf8_lossy(&pull.stderr));

    let corpus = cache.path().join("c.csv");
    std::fs::write(&corpus, "actor,date,text\nA,2025-01-01,We welcome the talks.\nB,2025-01-02,No talks.\n")
        .unwrap();
    let score = |model: &str, out: &str| {
        let out = cache.path().join(out);
        let args = ["score", corpus.to_str().unwrap(), "--target", "talks", "--model", model, "--no-cache"];
        let run = stance(cache.path(), &[&args[..], &["--out", out.to_str().unwrap()]].concat());
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let (table, provenance) = stance::corpus::read_table(&out).unwrap();
        assert_eq!(provenance.get("method"), Some("llm"));
        let column =
            |name: &str| -> Vec<Option<f64>> { table.column(name).unwrap().f64().unwrap().iter().collect() };
        (column("p_favor"), column("label_mass"))
    };
    assert_eq!(score(REPO_ID, "pulled.csv"), score(qwen2.to_str().unwrap(), "local.csv"));
}
