//! What every architecture's `config.json` shares: the architecture name and the labels.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::ModelError;

/// The fields of `config.json` that scoring needs regardless of architecture.
#[derive(Debug, Clone, Deserialize)]
pub struct CommonConfig {
    pub model_type: String,
    #[serde(default)]
    pub architectures: Vec<String>,
    /// Label names by output index. JSON object keys are strings ("0"), parsed to indices.
    /// Absent, they are transformers' defaults ([`CommonConfig::from_file`]).
    #[serde(default, deserialize_with = "deserialize_id2label")]
    pub id2label: BTreeMap<usize, String>,
    /// Outputs of the head, where `id2label` does not give them.
    #[serde(default)]
    num_labels: Option<usize>,
}

fn deserialize_id2label<'de, D>(deserializer: D) -> Result<BTreeMap<usize, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let raw = BTreeMap::<String, String>::deserialize(deserializer)?;
    raw.into_iter()
        .map(|(k, v)| {
            k.trim()
                .parse::<usize>()
                .map(|k| (k, v))
                .map_err(|_| serde::de::Error::custom(format!("id2label key {k:?} is not an index")))
        })
        .collect()
}

impl CommonConfig {
    pub fn from_file(path: &Path) -> Result<(Self, serde_json::Value), ModelError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ModelError::Io { path: path.to_owned(), source })?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|source| ModelError::Config { path: path.to_owned(), source })?;
        let mut common: Self = serde_json::from_value(value.clone())
            .map_err(|source| ModelError::Config { path: path.to_owned(), source })?;
        // `save_pretrained` leaves default label names out of config.json (any 2-label head
        // trained without names); transformers then reads `LABEL_0`… for `num_labels`
        // (default 2), and so must we, for `--label-map LABEL_0=favor` to find them.
        if common.id2label.is_empty() {
            common.id2label =
                (0..common.num_labels.unwrap_or(2)).map(|i| (i, format!("LABEL_{i}"))).collect();
        }
        // The transformers zero-shot pipeline finds entailment through label2id; we through
        // id2label, which names the outputs. Where the two disagree, results differ.
        if let Some(label2id) = value.get("label2id").and_then(serde_json::Value::as_object) {
            let disagrees = label2id.iter().any(|(name, index)| {
                let index = index.as_u64().and_then(|i| usize::try_from(i).ok());
                index.is_some_and(|i| common.id2label.get(&i).is_some_and(|named| named != name))
            });
            if disagrees {
                tracing::warn!(
                    "{}: label2id {} disagrees with id2label {:?}; stance follows id2label, the transformers \
                     pipeline label2id",
                    path.display(),
                    serde_json::Value::Object(label2id.clone()),
                    common.id2label
                );
            }
        }
        Ok((common, value))
    }

    /// Number of classification outputs.
    pub fn num_labels(&self) -> usize {
        self.id2label.keys().next_back().map_or(0, |k| k + 1)
    }

    /// The index whose label name matches `wanted` (case-insensitive; prefixes allowed, so
    /// `ENTAILMENT` and `entailment` both match `entail`).
    pub fn label_index(&self, wanted: &str) -> Option<usize> {
        let wanted = wanted.to_ascii_lowercase();
        self.id2label.iter().find(|(_, name)| name.to_ascii_lowercase().starts_with(&wanted)).map(|(&i, _)| i)
    }

    /// Whether the labels look like an NLI head (entailment and contradiction present).
    pub fn is_nli(&self) -> bool {
        self.label_index("entail").is_some() && self.label_index("contradict").is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_found_by_name_not_position() {
        let config: CommonConfig = serde_json::from_str(
            r#"{"model_type":"deberta-v2","id2label":{"0":"entailment","1":"neutral","2":"contradiction"}}"#,
        )
        .unwrap();
        assert_eq!(config.label_index("entail"), Some(0));
        assert_eq!(config.label_index("contradict"), Some(2));
        assert!(config.is_nli());
        let swapped: CommonConfig = serde_json::from_str(
            r#"{"model_type":"bert","id2label":{"0":"CONTRADICTION","1":"NEUTRAL","2":"ENTAILMENT"}}"#,
        )
        .unwrap();
        assert_eq!(swapped.label_index("entail"), Some(2));
        assert_eq!(swapped.num_labels(), 3);
    }

    #[test]
    fn labels_left_out_are_transformers_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        for (json, labels) in [
            (r#"{"model_type":"bert"}"#, &["LABEL_0", "LABEL_1"][..]),
            (r#"{"model_type":"bert","num_labels":3}"#, &["LABEL_0", "LABEL_1", "LABEL_2"]),
            (r#"{"model_type":"bert","num_labels":3,"id2label":{"0":"no","1":"yes"}}"#, &["no", "yes"]),
        ] {
            std::fs::write(&path, json).unwrap();
            let (config, _) = CommonConfig::from_file(&path).unwrap();
            assert_eq!(config.id2label.values().collect::<Vec<_>>(), labels, "{json}");
        }
    }
}
