//! Named presets for well-known models (`models/*.toml`, compiled into the binary so that
//! `--model deberta-zeroshot` works from any directory).

use serde::{Deserialize, Serialize};

use crate::score::Method;

/// A preset: which hub model a short name stands for, and how to use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    pub name: String,
    pub hub_id: String,
    pub revision: String,
    pub architecture: String,
    pub method: Method,
    /// False for models whose architecture no backend implements yet.
    pub supported: bool,
    pub description: String,
}

const SOURCES: [(&str, &str); 5] = [
    ("deberta-zeroshot.toml", include_str!("../../models/deberta-zeroshot.toml")),
    ("mdeberta-xnli.toml", include_str!("../../models/mdeberta-xnli.toml")),
    ("nli-deberta-base.toml", include_str!("../../models/nli-deberta-base.toml")),
    ("bart-mnli.toml", include_str!("../../models/bart-mnli.toml")),
    ("minilm.toml", include_str!("../../models/minilm.toml")),
];

/// All presets, in a fixed order.
pub fn all() -> Vec<Preset> {
    SOURCES
        .iter()
        .map(|(file, text)| {
            // The presets are compiled in and covered by a test, so a parse failure is a
            // build defect, not a user error.
            toml::from_str(text).unwrap_or_else(|e| panic!("models/{file} is invalid: {e}"))
        })
        .collect()
}

/// The preset called `name`, if any.
pub fn find(name: &str) -> Option<Preset> {
    all().into_iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_names_are_unique() {
        let presets = all();
        assert_eq!(presets.len(), SOURCES.len());
        for (i, p) in presets.iter().enumerate() {
            assert!(presets[..i].iter().all(|q| q.name != p.name), "duplicate preset {}", p.name);
            assert!(p.hub_id.contains('/'), "{} has no org in its hub id", p.name);
        }
        // A preset is marked supported exactly when the backend loads its architecture.
        for p in &presets {
            let implemented = crate::model::candle::SUPPORTED_MODEL_TYPES.contains(&p.architecture.as_str());
            assert_eq!(p.supported, implemented, "{} ({})", p.name, p.architecture);
        }
        assert!(find("bart-mnli").unwrap().supported);
        assert_eq!(find("minilm").unwrap().method, Method::Embedding);
    }
}
