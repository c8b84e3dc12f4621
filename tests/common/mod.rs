//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use stance::model::{self, Model};
use stance::targets::{Target, TargetSet, Templates};

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture_model_dir(name: &str) -> PathBuf {
    repo().join("tests/fixtures/models").join(name)
}

/// Loads a committed tiny model by folder name.
pub fn fixture_model(name: &str) -> Model {
    let folder = fixture_model_dir(name);
    let resolved = model::resolve(folder.to_str().unwrap(), Path::new("/nonexistent-cache")).unwrap();
    Model::load(resolved, "cpu", stance::model::Dtype::F32).unwrap()
}

/// The real all-MiniLM-L6-v2 folder that `scripts/fetch-minilm.sh` puts in place.
pub fn minilm_dir() -> PathBuf {
    let dir = repo().join(".cache/models/all-MiniLM-L6-v2");
    assert!(
        dir.join("model.safetensors").is_file(),
        "{} is missing: run scripts/fetch-minilm.sh (scripts/test.sh does)",
        dir.display()
    );
    dir
}

/// One target whose three hypotheses are given verbatim.
pub fn single_target(name: &str, hypotheses: [String; 3]) -> TargetSet {
    let [favor, against, none] = hypotheses;
    TargetSet {
        templates: Templates::default(),
        targets: vec![Target {
            name: name.to_owned(),
            favor,
            against,
            none,
            keywords: Vec::new(),
            prompt: None,
        }],
    }
}

pub fn reference(name: &str) -> serde_json::Value {
    let path = repo().join("tests/fixtures/reference").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// What a `stance` invocation printed, with machine-specific parts redacted.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn transcript(&self) -> String {
        format!("exit: {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs `stance` in `dir` with empty hub and score caches, and redacts the binary's path,
/// `dir`, the repository, the version and durations, so snapshots hold on any machine.
pub fn stance(dir: &Path, args: &[&str]) -> Output {
    let output = assert_cmd::Command::cargo_bin("stance")
        .unwrap()
        .current_dir(dir)
        .env("HF_HUB_CACHE", dir.join("hub-cache"))
        .env("STANCE_CACHE_DIR", dir.join("score-cache"))
        .env_remove("RUST_LOG")
        .args(args)
        .output()
        .unwrap();
    let binary = assert_cmd::cargo::cargo_bin("stance");
    let redact = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes)
            .replace(&binary.display().to_string(), "stance")
            .replace(&dir.display().to_string(), "[TMP]")
            .replace(&repo().display().to_string(), "[REPO]")
            .replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
        redact_durations(&text)
    };
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: redact(&output.stdout),
        stderr: redact(&output.stderr),
    }
}

/// Replaces durations such as `in 12.3s` with `in [TIME]`.
fn redact_durations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" in ") {
        let (before, after) = rest.split_at(at + 4);
        out.push_str(before);
        let number = after.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(after.len());
        if number > 0 && after[number..].starts_with('s') {
            out.push_str("[TIME]");
            rest = &after[number + 1..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The names of the files in `dir`, temporary ones included, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
