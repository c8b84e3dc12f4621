//! `stance models pull` against a local stand-in for the Hugging Face hub: the real download
//! code (hf-hub over HTTP) fills the standard cache layout, and scoring then resolves the hub
//! id offline, recording the resolved commit and the weights' hash.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use assert_cmd::Command;

const REPO_ID: &str = "stance-fixtures/tiny-bert";
const COMMIT: &str = "4f1c0a7e9b2d3c5a6e8f0b1d2c3a4e5f6a7b8c9d";

/// Serves the files of `folder` the way the hub's HTTP API does, for `requests` requests.
fn serve(folder: PathBuf, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            respond(stream.unwrap(), &folder);
        }
    });
    address
}

fn respond(mut stream: TcpStream, folder: &Path) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut range_start = 0usize;
    let mut range_end = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some(range) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
            let (start, end) = range.trim().split_once('-').unwrap();
            range_start = start.parse().unwrap();
            range_end = end.parse::<usize>().ok();
        }
    }
    let info_path = format!("/api/models/{REPO_ID}/revision/main");
    let resolve_prefix = format!("/{REPO_ID}/resolve/main/");
    let (status, headers, body) = if path == info_path {
        let siblings: Vec<serde_json::Value> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| serde_json::json!({ "rfilename": e.unwrap().file_name().to_string_lossy() }))
            .collect();
        let body = serde_json::json!({ "sha": COMMIT, "siblings": siblings }).to_string().into_bytes();
        ("200 OK", vec![("Content-Type".to_owned(), "application/json".to_owned())], body)
    } else if let Some(file) = path.strip_prefix(&resolve_prefix) {
        let bytes = std::fs::read(folder.join(file)).unwrap();
        let end = range_end.unwrap_or(bytes.len() - 1).min(bytes.len() - 1);
        let headers = vec![
            ("X-Repo-Commit".to_owned(), COMMIT.to_owned()),
            ("ETag".to_owned(), format!("\"{}\"", stance::provenance::sha256_bytes(&bytes))),
            ("Content-Range".to_owned(), format!("bytes {range_start}-{end}/{}", bytes.len())),
        ];
        ("206 Partial Content", headers, bytes[range_start..=end].to_vec())
    } else {
        ("404 Not Found", Vec::new(), b"not found".to_vec())
    };
    let mut response =
        format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    stream.write_all(response.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
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

#[test]
fn pull_fills_the_standard_cache_and_scoring_resolves_it_offline() {
    let folder = common::fixture_model_dir("bert");
    let files = std::fs::read_dir(&folder).unwrap().count();
    // One info request, then per needed file a metadata request and a download.
    let endpoint = serve(folder.clone(), 1 + 2 * 3);
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
    assert_eq!(pulled, ["config.json", "model.safetensors", "tokenizer.json"]);
    let weights_sha = stance::provenance::sha256_file(&folder.join("model.safetensors")).unwrap();
    assert!(repo.join("blobs").join(&weights_sha).is_file(), "blobs are named by their SHA-256");

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
