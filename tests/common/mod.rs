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
    Model::load(resolved, "cpu").unwrap()
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
        targets: vec![Target { name: name.to_owned(), favor, against, none }],
    }
}

pub fn reference(name: &str) -> serde_json::Value {
    let path = repo().join("tests/fixtures/reference").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}
