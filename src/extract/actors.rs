//! The actors file: which speaker phrases belong to which actor.
//!
//! ```toml
//! [[actor]]
//! name = "Kremlin"
//! aliases = ["Dmitry Peskov", "Peskov", "Kremlin spokesman", "Песков", "Кремль"]
//! ```
//!
//! A speaker phrase belongs to the actor with the longest alias it contains (the actor's
//! `name` counts as an alias). Aliases match whole words, case-insensitively, with English
//! possessives ("Peskov's") and Russian/Ukrainian case endings ("Пескова", "Зеленського",
//! "Кремле", "Білому домі") — write aliases in the nominative.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::lexicon::{fold, is_cyrillic};

#[derive(Debug, thiserror::Error)]
pub enum ActorsError {
    #[error("cannot read actors file {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid actors file")]
    Toml {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("{path}: actor #{index} has an empty name")]
    EmptyName { path: PathBuf, index: usize },
    #[error("{path}: actor `{name}` is listed twice")]
    Duplicate { path: PathBuf, name: String },
    #[error("{path}: actor `{name}` has an empty alias")]
    EmptyAlias { path: PathBuf, name: String },
    #[error("{path}: no actors (add [[actor]] tables with a name and aliases)")]
    NoActors { path: PathBuf },
    #[error(
        "{path}: alias {alias:?} belongs to both `{first}` and `{second}`; a speaker phrase \
         containing it could not be told apart (keep it in one actor)"
    )]
    SharedAlias { path: PathBuf, alias: String, first: String, second: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorsFile {
    #[serde(default)]
    actor: Vec<ActorEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorEntry {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Debug, Clone)]
struct Alias {
    /// Folded words.
    words: Vec<String>,
    /// Length in characters, for "longest alias wins".
    length: usize,
    actor: usize,
}

/// Actors and their aliases, ready to match speaker phrases.
#[derive(Debug, Clone)]
pub struct Actors {
    names: Vec<String>,
    aliases: Vec<Alias>,
    sha256: String,
}

/// The actor a phrase belongs to, or the two actors whose aliases tie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorMatch<'a> {
    None,
    Actor(&'a str),
    Tie { first: &'a str, second: &'a str },
}

impl Actors {
    pub fn from_toml_file(path: &Path) -> Result<Self, ActorsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ActorsError::Io { path: path.to_owned(), source })?;
        Self::from_toml_str(&text, path)
    }

    pub fn from_toml_str(text: &str, path: &Path) -> Result<Self, ActorsError> {
        let file: ActorsFile =
            toml::from_str(text).map_err(|source| ActorsError::Toml { path: path.to_owned(), source })?;
        if file.actor.is_empty() {
            return Err(ActorsError::NoActors { path: path.to_owned() });
        }
        let mut names: Vec<String> = Vec::new();
        let mut aliases: Vec<Alias> = Vec::new();
        for (index, entry) in file.actor.into_iter().enumerate() {
            let name = entry.name.trim().to_owned();
            if name.is_empty() {
                return Err(ActorsError::EmptyName { path: path.to_owned(), index: index + 1 });
            }
            if names.contains(&name) {
                return Err(ActorsError::Duplicate { path: path.to_owned(), name });
            }
            let actor = names.len();
            for alias in std::iter::once(&name).chain(&entry.aliases) {
                let words = alias_words(alias);
                if words.is_empty() {
                    return Err(ActorsError::EmptyAlias { path: path.to_owned(), name });
                }
                if let Some(other) = aliases.iter().find(|a| a.words == words && a.actor != actor) {
                    return Err(ActorsError::SharedAlias {
                        path: path.to_owned(),
                        alias: alias.clone(),
                        first: names[other.actor].clone(),
                        second: name,
                    });
                }
                let length = alias.trim().chars().count();
                aliases.push(Alias { words, length, actor });
            }
            names.push(name);
        }
        Ok(Self { names, aliases, sha256: crate::provenance::sha256_bytes(text.as_bytes()) })
    }

    /// SHA-256 of the TOML text the actors were read from.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The actor whose longest alias occurs in `words` (folded words of a speaker phrase).
    pub fn find(&self, words: &[&str]) -> ActorMatch<'_> {
        let mut best: Option<&Alias> = None;
        let mut tie: Option<&Alias> = None;
        for alias in &self.aliases {
            if !occurs_in(&alias.words, words) {
                continue;
            }
            match best {
                Some(b) if alias.length < b.length => {}
                Some(b) if alias.length == b.length => {
                    if b.actor != alias.actor {
                        tie = Some(alias);
                    }
                }
                _ => {
                    best = Some(alias);
                    tie = None;
                }
            }
        }
        match (best, tie) {
            (None, _) => ActorMatch::None,
            (Some(best), None) => ActorMatch::Actor(&self.names[best.actor]),
            (Some(best), Some(tie)) => {
                ActorMatch::Tie { first: &self.names[best.actor], second: &self.names[tie.actor] }
            }
        }
    }
}

/// An alias split into folded words the way article text is ([`super::text`]).
fn alias_words(alias: &str) -> Vec<String> {
    alias
        .split(|c: char| {
            c.is_whitespace() || matches!(c, ',' | '.' | ':' | ';' | '(' | ')' | '"' | '«' | '»')
        })
        .filter(|w| !w.is_empty())
        .map(fold)
        .collect()
}

fn occurs_in(alias: &[String], words: &[&str]) -> bool {
    words.len() >= alias.len()
        && words.windows(alias.len()).any(|window| alias.iter().zip(window).all(|(a, w)| word_matches(a, w)))
}

/// Case endings a Russian or Ukrainian nominative may lose before taking another ending.
const NOMINATIVE_ENDINGS: &[&str] = &[
    "ий", "ый", "ой", "ій", "ая", "яя", "ое", "ее", "ие", "ые", "ь", "й", "а", "я", "о", "е", "ы", "и", "у",
    "ю", "є", "і",
];

/// Whether the folded text word `word` is a form of the folded alias word `alias`.
///
/// English: the word itself or its possessive ("peskov's"). Russian/Ukrainian: the alias, or
/// its stem without a nominative ending, followed by at most four more Cyrillic letters
/// ("песков" → "пескова", "зеленський" → "зеленського", "кремль" → "кремле"); the Ukrainian
/// alternation of `і` with `о`/`е` in the last syllable ("дім" → "домі") is allowed.
pub fn word_matches(alias: &str, word: &str) -> bool {
    if alias == word {
        return true;
    }
    if let Some(rest) = word.strip_prefix(alias) {
        if rest == "'s" || rest == "'" {
            return true;
        }
    }
    if !alias.chars().next().is_some_and(is_cyrillic) {
        return false;
    }
    stems(alias).iter().any(|stem| {
        word.strip_prefix(stem.as_str()).is_some_and(|rest| {
            let letters = rest.chars().count();
            letters <= 4 && rest.chars().all(is_cyrillic)
        })
    })
}

fn stems(alias: &str) -> Vec<String> {
    let mut stems = vec![alias.to_owned()];
    if let Some(stem) = NOMINATIVE_ENDINGS.iter().find_map(|end| alias.strip_suffix(end)) {
        stems.push(stem.to_owned());
    }
    let alternated: Vec<String> = stems
        .iter()
        .filter_map(|stem| {
            let i = stem.rfind('і')?;
            let tail = &stem[i + 'і'.len_utf8()..];
            (!tail.chars().any(is_vowel))
                .then(|| [format!("{}о{tail}", &stem[..i]), format!("{}е{tail}", &stem[..i])])
        })
        .flatten()
        .collect();
    stems.extend(alternated);
    // A stem of one or two letters would match too many words.
    stems.retain(|stem| stem.chars().count() >= 3 || stem == alias);
    stems
}

fn is_vowel(c: char) -> bool {
    "аеёиоуыэюяіїєaeiouy".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actors(toml: &str) -> Result<Actors, ActorsError> {
        Actors::from_toml_str(toml, Path::new("actors.toml"))
    }

    fn words(text: &str) -> Vec<String> {
        alias_words(text)
    }

    fn find<'a>(actors: &'a Actors, phrase: &str) -> ActorMatch<'a> {
        let words = words(phrase);
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        actors.find(&refs)
    }

    const FILE: &str = r#"
[[actor]]
name = "Kremlin"
aliases = ["Dmitry Peskov", "Peskov", "Kremlin spokesman", "Песков", "Кремль"]

[[actor]]
name = "Ukrainian President's Office"
aliases = ["Zelensky", "Зеленський", "Зеленский", "Офіс президента"]

[[actor]]
name = "White House"
aliases = ["Білий дім", "Белый дом"]
"#;

    #[test]
    fn inflected_russian_and_ukrainian_names_match() {
        let actors = actors(FILE).unwrap();
        assert_eq!(find(&actors, "Пескова"), ActorMatch::Actor("Kremlin"));
        assert_eq!(find(&actors, "Пескову"), ActorMatch::Actor("Kremlin"));
        assert_eq!(find(&actors, "Зеленського"), ActorMatch::Actor("Ukrainian President's Office"));
        assert_eq!(find(&actors, "Зеленскому"), ActorMatch::Actor("Ukrainian President's Office"));
        assert_eq!(find(&actors, "в Кремле"), ActorMatch::Actor("Kremlin"));
        assert_eq!(find(&actors, "У Білому домі"), ActorMatch::Actor("White House"));
        assert_eq!(find(&actors, "в Белом доме"), ActorMatch::Actor("White House"));
        assert_eq!(find(&actors, "в Офісі президента"), ActorMatch::Actor("Ukrainian President's Office"));
        assert_eq!(find(&actors, "Peskov's office"), ActorMatch::Actor("Kremlin"));
        assert_eq!(find(&actors, "Peskovich"), ActorMatch::None);
        assert_eq!(find(&actors, "Песковский-Задунайский"), ActorMatch::None);
    }

    #[test]
    fn longest_alias_wins_and_equal_lengths_tie() {
        let file = r#"
[[actor]]
name = "Kremlin"
aliases = ["Kremlin spokesman"]
[[actor]]
name = "Peskov"
aliases = ["Dmitry Peskov"]
[[actor]]
name = "Lavrov"
aliases = ["Sergei Lavrov"]
"#;
        let actors = actors(file).unwrap();
        assert_eq!(find(&actors, "Kremlin spokesman Dmitry Peskov"), ActorMatch::Actor("Kremlin"));
        assert_eq!(
            find(&actors, "Dmitry Peskov and Sergei Lavrov"),
            ActorMatch::Tie { first: "Peskov", second: "Lavrov" }
        );
    }

    #[test]
    fn an_alias_in_two_actors_is_refused_naming_both() {
        let file = "[[actor]]\nname = \"A\"\naliases = [\"spokesman\"]\n[[actor]]\nname = \"B\"\naliases = [\"Spokesman\"]\n";
        let error = actors(file).unwrap_err().to_string();
        assert!(error.contains("`A`") && error.contains("`B`") && error.contains("Spokesman"), "{error}");
    }

    #[test]
    fn malformed_files_name_the_line_and_key() {
        let error = actors("[[actor]]\nname = \"A\"\nalias = [\"x\"]\n").unwrap_err();
        let chain = format!("{error}: {}", std::error::Error::source(&error).unwrap());
        assert!(chain.contains("line 3") && chain.contains("alias"), "{chain}");
        assert!(matches!(actors("").unwrap_err(), ActorsError::NoActors { .. }));
        assert!(matches!(actors("[[actor]]\nname = \" \"\n").unwrap_err(), ActorsError::EmptyName { .. }));
        assert!(matches!(
            actors("[[actor]]\nname = \"A\"\n[[actor]]\nname = \"A\"\n").unwrap_err(),
            ActorsError::Duplicate { .. }
        ));
    }
}
