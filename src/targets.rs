//! Targets and their stance hypotheses: `--target NAME` flags or a `targets.toml` file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The three stances every method scores, in the column order of the scores table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stance {
    Favor,
    Against,
    None,
}

impl Stance {
    pub const ALL: [Stance; 3] = [Stance::Favor, Stance::Against, Stance::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Stance::Favor => "favor",
            Stance::Against => "against",
            Stance::None => "none",
        }
    }

    /// Reads a stance name, accepting the common spellings of gold sets and model labels.
    pub fn parse(name: &str) -> Option<Stance> {
        match name.trim().to_ascii_lowercase().as_str() {
            "favor" | "favour" | "pro" | "support" | "supports" | "for" => Some(Stance::Favor),
            "against" | "con" | "oppose" | "opposes" => Some(Stance::Against),
            "none" | "neutral" | "neither" | "neu" => Some(Stance::None),
            _ => None,
        }
    }
}

impl std::fmt::Display for Stance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The built-in user message of `--method llm` (see [`TargetSet::prompt`]): names the target and
/// the three stances and asks for one word. The statement comes last, so the prompts of one
/// target share everything before it (computed once per target).
pub const DEFAULT_PROMPT: &str = "What is the stance of the following statement toward {target}? \
                                  Answer with one word: favor, against or none.\n\nStatement: {statement}";

/// The placeholder of the statement in an LLM prompt.
pub const STATEMENT_PLACEHOLDER: &str = "{statement}";

/// Hypothesis templates; `{target}` is replaced by the target's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    pub favor: String,
    pub against: String,
    pub none: String,
    /// `--method llm`: the user message for every target without its own (`{target}`,
    /// `{statement}`); `None` uses [`DEFAULT_PROMPT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

impl Default for Templates {
    fn default() -> Self {
        Self {
            favor: "The author of this text supports {target}.".into(),
            against: "The author of this text opposes {target}.".into(),
            none: "The author of this text is neutral towards {target}.".into(),
            prompt: None,
        }
    }
}

impl Templates {
    fn get(&self, stance: Stance) -> &str {
        match stance {
            Stance::Favor => &self.favor,
            Stance::Against => &self.against,
            Stance::None => &self.none,
        }
    }
}

/// A target with its three hypotheses fully resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub name: String,
    pub favor: String,
    pub against: String,
    pub none: String,
    /// Words or phrases that mention the target, for `--relevance-filter`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// `--method llm`: this target's own user message, overriding the file's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

impl Target {
    /// Whether `text` mentions one of the keywords: case-insensitively, starting at a word
    /// boundary, so `sanction` finds "Sanctions" but not "unsanctioned".
    pub fn is_mentioned_in(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        self.keywords.iter().any(|keyword| {
            let keyword = keyword.to_lowercase();
            text.match_indices(&keyword)
                .any(|(at, _)| !text[..at].chars().next_back().is_some_and(char::is_alphanumeric))
        })
    }

    pub fn hypothesis(&self, stance: Stance) -> &str {
        match stance {
            Stance::Favor => &self.favor,
            Stance::Against => &self.against,
            Stance::None => &self.none,
        }
    }
}

/// The targets of one run, with the templates that filled them (kept for provenance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetSet {
    pub templates: Templates,
    pub targets: Vec<Target>,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    #[error("cannot read targets file {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid targets file")]
    Toml {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("{origin}: template `{stance}` must contain `{{target}}` (got {template:?})")]
    TemplateWithoutPlaceholder { origin: String, stance: Stance, template: String },
    #[error("{origin}: target #{index} has an empty name")]
    EmptyName { origin: String, index: usize },
    #[error("{origin}: target `{name}` is listed twice")]
    Duplicate { origin: String, name: String },
    #[error("{origin}: no targets given (use --target NAME or a [[target]] table)")]
    NoTargets { origin: String },
    #[error("{origin}: target `{name}` has an empty `{stance}` hypothesis")]
    EmptyHypothesis { origin: String, name: String, stance: Stance },
    #[error("{origin}: target `{name}` has an empty keyword")]
    EmptyKeyword { origin: String, name: String },
    #[error("{origin}: the LLM prompt {field} must contain `{{statement}}` exactly once (got {prompt:?})")]
    PromptPlaceholder { origin: String, field: String, prompt: String },
    #[error(
        "--relevance-filter needs keywords for every target; `{name}` has none \
         (add `keywords = [\"…\"]` to its [[target]] table in a targets file)"
    )]
    NoKeywords { name: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsFile {
    #[serde(default)]
    templates: Option<PartialTemplates>,
    #[serde(default, rename = "target")]
    targets: Vec<TargetEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialTemplates {
    favor: Option<String>,
    against: Option<String>,
    none: Option<String>,
    prompt: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetEntry {
    name: String,
    favor: Option<String>,
    against: Option<String>,
    none: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
    prompt: Option<String>,
}

impl TargetSet {
    /// Targets named on the command line, with `templates` (or the defaults).
    pub fn from_names(names: &[String], templates: Templates) -> Result<Self, TargetsError> {
        let entries = names
            .iter()
            .map(|name| TargetEntry {
                name: name.clone(),
                favor: None,
                against: None,
                none: None,
                keywords: Vec::new(),
                prompt: None,
            })
            .collect();
        Self::build("--target", templates, entries, true)
    }

    /// Reads a `targets.toml` (see DESIGN.md): optional `[templates]`, then `[[target]]`
    /// tables with a `name` and optional per-stance hypotheses that override the templates.
    pub fn from_toml_file(path: &Path) -> Result<Self, TargetsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TargetsError::Io { path: path.to_owned(), source })?;
        Self::from_toml_str(&text, path)
    }

    pub fn from_toml_str(text: &str, path: &Path) -> Result<Self, TargetsError> {
        Self::parse(text, path, true)
    }

    /// Reads a targets file for a labelled set that names its own targets (`stance eval`):
    /// a file with only `[templates]` is accepted, and its templates apply to every target.
    pub fn from_toml_file_for_gold(path: &Path) -> Result<Self, TargetsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TargetsError::Io { path: path.to_owned(), source })?;
        Self::parse(&text, path, false)
    }

    fn parse(text: &str, path: &Path, targets_required: bool) -> Result<Self, TargetsError> {
        let file: TargetsFile =
            toml::from_str(text).map_err(|source| TargetsError::Toml { path: path.to_owned(), source })?;
        let defaults = Templates::default();
        let partial = file.templates.unwrap_or_default();
        let templates = Templates {
            favor: partial.favor.unwrap_or(defaults.favor),
            against: partial.against.unwrap_or(defaults.against),
            none: partial.none.unwrap_or(defaults.none),
            prompt: partial.prompt,
        };
        Self::build(&path.display().to_string(), templates, file.targets, targets_required)
    }

    fn build(
        origin: &str,
        templates: Templates,
        entries: Vec<TargetEntry>,
        targets_required: bool,
    ) -> Result<Self, TargetsError> {
        for stance in Stance::ALL {
            let template = templates.get(stance);
            if !template.contains("{target}") {
                return Err(TargetsError::TemplateWithoutPlaceholder {
                    origin: origin.to_owned(),
                    stance,
                    template: template.to_owned(),
                });
            }
        }
        check_prompt(origin, "`[templates] prompt`", templates.prompt.as_deref())?;
        if entries.is_empty() && targets_required {
            return Err(TargetsError::NoTargets { origin: origin.to_owned() });
        }
        let mut targets: Vec<Target> = Vec::with_capacity(entries.len());
        for (index, entry) in entries.into_iter().enumerate() {
            let name = entry.name.trim().to_owned();
            if name.is_empty() {
                return Err(TargetsError::EmptyName { origin: origin.to_owned(), index: index + 1 });
            }
            if targets.iter().any(|t| t.name == name) {
                return Err(TargetsError::Duplicate { origin: origin.to_owned(), name });
            }
            let fill = |stance: Stance, own: Option<String>| {
                own.unwrap_or_else(|| templates.get(stance).replace("{target}", &name))
            };
            check_prompt(origin, &format!("of target `{name}`"), entry.prompt.as_deref())?;
            if entry.keywords.iter().any(|k| k.trim().is_empty()) {
                return Err(TargetsError::EmptyKeyword { origin: origin.to_owned(), name });
            }
            let target = Target {
                favor: fill(Stance::Favor, entry.favor),
                against: fill(Stance::Against, entry.against),
                none: fill(Stance::None, entry.none),
                name,
                keywords: entry.keywords.iter().map(|k| k.trim().to_owned()).collect(),
                prompt: entry.prompt,
            };
            // Found by fuzzing: an empty override would be scored as a hypothesis.
            if let Some(stance) = Stance::ALL.into_iter().find(|&s| target.hypothesis(s).trim().is_empty()) {
                return Err(TargetsError::EmptyHypothesis {
                    origin: origin.to_owned(),
                    name: target.name,
                    stance,
                });
            }
            targets.push(target);
        }
        Ok(Self { templates, targets })
    }

    /// The user message `--method llm` asks about target `index` with: its own prompt, else the
    /// file's `[templates] prompt`, else [`DEFAULT_PROMPT`].
    pub fn prompt(&self, index: usize) -> &str {
        let own = self.targets[index].prompt.as_deref();
        own.or(self.templates.prompt.as_deref()).unwrap_or(DEFAULT_PROMPT)
    }

    /// Fails, naming the first, when a target has no keywords (`--relevance-filter`).
    pub fn check_keywords(&self) -> Result<(), TargetsError> {
        match self.targets.iter().find(|t| t.keywords.is_empty()) {
            Some(target) => Err(TargetsError::NoKeywords { name: target.name.clone() }),
            None => Ok(()),
        }
    }
}

/// An LLM prompt must place the statement exactly once: everything before it is what the
/// prompts of a target share.
fn check_prompt(origin: &str, field: &str, prompt: Option<&str>) -> Result<(), TargetsError> {
    match prompt {
        Some(prompt) if prompt.matches(STATEMENT_PLACEHOLDER).count() != 1 => {
            Err(TargetsError::PromptPlaceholder {
                origin: origin.to_owned(),
                field: field.to_owned(),
                prompt: prompt.to_owned(),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[templates]
favor   = "The author of this text supports {target}."
against = "The author of this text opposes {target}."
none    = "The author of this text is neutral towards {target}."

[[target]]
name = "peace negotiations"

[[target]]
name = "sanctions on Russia"
against = "The author of this text calls for lifting sanctions on Russia."
"#;

    #[test]
    fn keywords_match_whole_word_starts_in_any_case() {
        let text = r#"
[[target]]
name = "sanctions on Russia"
keywords = ["sanction", " price cap ", "ЕС"]
"#;
        let set = TargetSet::from_toml_str(text, Path::new("t.toml")).unwrap();
        let target = &set.targets[0];
        assert_eq!(target.keywords, vec!["sanction", "price cap", "ЕС"]);
        assert!(target.is_mentioned_in("New SANCTIONS were announced."));
        assert!(target.is_mentioned_in("(sanction) relief"));
        assert!(target.is_mentioned_in("The oil Price Cap stays."));
        assert!(target.is_mentioned_in("Решение ес о пошлинах"));
        assert!(!target.is_mentioned_in("An unsanctioned meeting."));
        assert!(!target.is_mentioned_in("Prices capped."));
        assert!(set.check_keywords().is_ok());

        let bare = TargetSet::from_names(&["peace talks".into()], Templates::default()).unwrap();
        assert!(!bare.targets[0].is_mentioned_in("peace talks"));
        let error = bare.check_keywords().unwrap_err().to_string();
        assert!(error.contains("`peace talks` has none"), "{error}");

        let empty = "[[target]]\nname = \"x\"\nkeywords = [\" \"]\n";
        let error = TargetSet::from_toml_str(empty, Path::new("t.toml")).unwrap_err().to_string();
        assert_eq!(error, "t.toml: target `x` has an empty keyword");
    }

    #[test]
    fn design_example_resolves_overrides_and_templates() {
        let set = TargetSet::from_toml_str(EXAMPLE, Path::new("targets.toml")).unwrap();
        assert_eq!(set.targets.len(), 2);
        assert_eq!(set.targets[0].favor, "The author of this text supports peace negotiations.");
        assert_eq!(set.targets[1].against, "The author of this text calls for lifting sanctions on Russia.");
        assert_eq!(set.targets[1].none, "The author of this text is neutral towards sanctions on Russia.");
    }

    #[test]
    fn partial_templates_fall_back_to_defaults() {
        let text = "[templates]\nfavor = \"Pro {target}.\"\n[[target]]\nname = \"x\"\n";
        let set = TargetSet::from_toml_str(text, Path::new("t.toml")).unwrap();
        assert_eq!(set.targets[0].favor, "Pro x.");
        assert_eq!(set.targets[0].against, "The author of this text opposes x.");
    }

    #[test]
    fn rejects_bad_files() {
        let p = Path::new("t.toml");
        assert!(matches!(TargetSet::from_toml_str("", p), Err(TargetsError::NoTargets { .. })));
        assert!(matches!(
            TargetSet::from_toml_str("[[target]]\nname = \" \"\n", p),
            Err(TargetsError::EmptyName { index: 1, .. })
        ));
        assert!(matches!(
            TargetSet::from_toml_str("[[target]]\nname = \"a\"\n[[target]]\nname = \"a\"\n", p),
            Err(TargetsError::Duplicate { .. })
        ));
        assert!(matches!(
            TargetSet::from_toml_str(
                "[templates]\nfavor = \"no placeholder\"\n[[target]]\nname = \"a\"\n",
                p
            ),
            Err(TargetsError::TemplateWithoutPlaceholder { .. })
        ));
        assert!(matches!(
            TargetSet::from_toml_str("[[target]]\nnam = \"a\"\n", p),
            Err(TargetsError::Toml { .. })
        ));
    }

    #[test]
    fn llm_prompts_resolve_per_target_then_file_then_default() {
        let text = "[templates]\nprompt = \"About {target}: {statement}\"\n\
                    [[target]]\nname = \"a\"\n[[target]]\nname = \"b\"\nprompt = \"{statement} (b)\"\n";
        let set = TargetSet::from_toml_str(text, Path::new("t.toml")).unwrap();
        assert_eq!(set.prompt(0), "About {target}: {statement}");
        assert_eq!(set.prompt(1), "{statement} (b)");
        let bare = TargetSet::from_names(&["c".into()], Templates::default()).unwrap();
        assert_eq!(bare.prompt(0), DEFAULT_PROMPT);
        for bad in [
            "[templates]\nprompt = \"no statement\"\n[[target]]\nname = \"a\"\n",
            "[[target]]\nname = \"a\"\nprompt = \"{statement} {statement}\"\n",
        ] {
            let error = TargetSet::from_toml_str(bad, Path::new("t.toml")).unwrap_err().to_string();
            assert!(error.starts_with("t.toml: the LLM prompt") && error.contains("exactly once"), "{error}");
        }
    }

    #[test]
    fn stance_names_parse() {
        assert_eq!(Stance::parse("FAVOR"), Some(Stance::Favor));
        assert_eq!(Stance::parse("Neutral"), Some(Stance::None));
        assert_eq!(Stance::parse("entailment"), None);
    }
}
