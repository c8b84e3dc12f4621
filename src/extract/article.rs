//! One article's quotes: found, classified, attributed and resolved, in article order.
//!
//! 1. [`super::marks`] finds the outermost quotes; [`super::text`] cuts sentences around them.
//! 2. Inside each sentence the [`super::rules`] try, for each quote: a speech verb after it,
//!    `according to` after it, the second half of a quote broken by its attribution, a speech
//!    verb or a colon before it, `according to` before it; then quotes left over take the
//!    speaker of another quote of the sentence.
//! 3. [`Kind`]: a quote is `partial` (a scare quote, a title, a label) when a determiner, a
//!    possessive or a cue like "so-called" stands right before it, when it has fewer than four
//!    words and is not an attributed utterance ending in punctuation, or when no rule
//!    attributes it and it sits inside the writer's sentence. Partial quotes keep only an
//!    attribution found inside their sentence.
//! 4. Direct quotes still without a speaker look at their neighbours: a previous sentence
//!    ending in a colon, an attributed quote in the previous sentence (or the last sentence of
//!    the previous paragraph, for a quote that opens its paragraph), a next sentence that opens
//!    with a speaker and a speech verb, a previous sentence that reports speech.
//! 5. Pronouns (he, she, он, она, він, вона, "по его словам") take the most recent named
//!    speaker of a compatible gender; a role without a name ("the spokesman") takes the most
//!    recent named speaker with that role. Named speakers are remembered from every attributed
//!    quote and every sentence that reports speech, in article order.

use std::ops::Range;

use super::actors::{ActorMatch, Actors};
use super::lexicon::{self, is_determiner, is_role_word, is_scare_cue, Gender};
use super::marks::{find_quotes, split_inner_attributions, QuoteSpan};
use super::rules::{self, Found, Phrase, Rule};
use super::text::{sentences, Sentence, Token};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Direct,
    Partial,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Direct => "direct",
            Kind::Partial => "partial",
        }
    }
}

/// How the speaker phrase was turned into the speaker it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The phrase names the speaker.
    Named,
    /// A pronoun, resolved to the most recent named speaker.
    Pronoun,
    /// A role without a name ("the spokesman"), resolved to the most recent speaker with it.
    Anaphor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub rule: Rule,
    pub resolution: Resolution,
    /// The speaker phrase as written next to the quote.
    pub speaker: String,
    /// The actor: from the actors file, or without one the named speaker's phrase. `None`
    /// when the phrase matches no actor, or a pronoun has no antecedent.
    pub actor: Option<String>,
}

impl Attribution {
    /// The `attribution` column: the rule, and how a pronoun or role was resolved.
    pub fn label(&self) -> String {
        match self.resolution {
            Resolution::Named => self.rule.as_str().to_owned(),
            Resolution::Pronoun => format!("{}+pronoun", self.rule.as_str()),
            Resolution::Anaphor => format!("{}+anaphor", self.rule.as_str()),
        }
    }
}

/// One quote of an article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// Code-point offsets of the quote's text (without its marks).
    pub span: Range<usize>,
    pub kind: Kind,
    /// Words in the quote.
    pub words: usize,
    pub attribution: Option<Attribution>,
    /// Code-point offsets of the sentence around the quote.
    pub sentence: Range<usize>,
    /// Index (in this article's quotes) of the first quote of its group: the parts of a quote
    /// broken by its attribution, or continued across paragraphs, share it.
    pub group: usize,
}

/// Two actors' aliases of the same length in one speaker phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasTie {
    pub speaker: String,
    pub quote: String,
    pub first: String,
    pub second: String,
}

/// A speaker named earlier in the article, for pronouns.
#[derive(Debug, Clone)]
struct Named {
    words: Vec<String>,
    gender: Option<Gender>,
    actor: Option<String>,
}

struct Article<'a> {
    chars: &'a [char],
    spans: Vec<QuoteSpan>,
    sentences: Vec<Sentence>,
    /// For each quote: its sentence and its token position there.
    places: Vec<(usize, usize)>,
    actors: Option<&'a Actors>,
}

/// Every quote of `text`, in order.
pub fn quotes(text: &str, actors: Option<&Actors>) -> Result<Vec<Quote>, AliasTie> {
    let chars: Vec<char> = text.chars().collect();
    let spans = split_inner_attributions(&chars, find_quotes(&chars));
    let sentences = sentences(&chars, &spans);
    let mut places = vec![(0, 0); spans.len()];
    for (s, sentence) in sentences.iter().enumerate() {
        for p in sentence.quote_positions() {
            if let Some(q) = sentence.tokens[p].quote() {
                places[q] = (s, p);
            }
        }
    }
    let article = Article { chars: &chars, spans, sentences, places, actors };
    article.quotes()
}

impl Article<'_> {
    fn text(&self, range: Range<usize>) -> String {
        self.chars[range].iter().collect()
    }

    fn quotes(&self) -> Result<Vec<Quote>, AliasTie> {
        let mut found = self.in_sentence();
        let kinds: Vec<Kind> = (0..self.spans.len()).map(|q| self.kind(q, found[q].as_ref())).collect();
        for (q, kind) in kinds.iter().enumerate() {
            if *kind == Kind::Partial && found[q].as_ref().is_some_and(|f| f.rule == Rule::SameSentence) {
                found[q] = None;
            }
        }
        let groups = self.groups(&found);
        self.fill_continued_parts(&mut found);

        let mut registry: Vec<Named> = Vec::new();
        let mut attributions: Vec<Option<Attribution>> = vec![None; self.spans.len()];
        for (s, sentence) in self.sentences.iter().enumerate() {
            let in_sentence: Vec<usize> = self.quotes_of(s);
            for &q in &in_sentence {
                if found[q].is_none() && kinds[q] == Kind::Direct {
                    match self.from_neighbours(q, &kinds, &attributions) {
                        Some(Neighbour::Found(f)) => found[q] = Some(f),
                        Some(Neighbour::Copied(a)) => {
                            attributions[q] = Some(a);
                            continue;
                        }
                        None => {}
                    }
                }
                if let Some(f) = &found[q] {
                    attributions[q] = Some(self.resolve(f, q, &mut registry)?);
                }
            }
            if !in_sentence.iter().any(|&q| kinds[q] == Kind::Direct) {
                if let Some(clause) = rules::speech_clause(&sentence.tokens) {
                    // Only remembers the speaker; a tie here names no actor for any quote.
                    let _ = self.resolve(&clause, usize::MAX, &mut registry);
                } else if let Some(name) = rules::opening_name(&sentence.tokens) {
                    self.remember_mention(name, &mut registry);
                }
            }
        }
        Ok((0..self.spans.len())
            .map(|q| Quote {
                span: self.spans[q].start..self.spans[q].end,
                kind: kinds[q],
                words: count_words(&self.chars[self.spans[q].start..self.spans[q].end]),
                attribution: attributions[q].clone(),
                sentence: self.sentences[self.places[q].0].span.clone(),
                group: groups[q],
            })
            .collect())
    }

    fn quotes_of(&self, sentence: usize) -> Vec<usize> {
        (0..self.spans.len()).filter(|&q| self.places[q].0 == sentence).collect()
    }

    /// Step 2: the rules inside each sentence.
    fn in_sentence(&self) -> Vec<Option<Found>> {
        let mut found: Vec<Option<Found>> = vec![None; self.spans.len()];
        for sentence in &self.sentences {
            let positions = sentence.quote_positions();
            let tokens = &sentence.tokens;
            let segment = |j: usize| -> &[Token] {
                let start = if j == 0 { 0 } else { positions[j - 1] + 1 };
                let end = positions.get(j).copied().unwrap_or(tokens.len());
                &tokens[start..end]
            };
            let quote_at = |j: usize| tokens[positions[j]].quote().unwrap_or_default();
            let mut split_from: Option<Found> = None;
            for j in 0..positions.len() {
                let (left, right) = (segment(j), segment(j + 1));
                let after = rules::verb_after(right).or_else(|| rules::according_to(right, true));
                // A colon introduction of its own (`"…," the ministry said, while Sybiha
                // insisted: "…"`) comes before the attribution of a quote broken by it.
                let introduced = || rules::verb_before(left).or_else(|| rules::named_colon(left));
                let split = || split_from.clone().map(|f| Found { rule: Rule::SplitQuote, ..f });
                let before = if rules::ends_with_colon(left) {
                    introduced().or_else(split)
                } else {
                    split().or_else(introduced)
                };
                let result = after
                    .clone()
                    .or(before)
                    .or_else(|| rules::according_to(left, false))
                    .or_else(|| rules::subject_earlier(tokens, left));
                split_from = after.filter(|f| f.rule == Rule::VerbAfter);
                found[quote_at(j)] = result;
            }
            // Quotes left over take the speaker of the nearest attributed quote of the sentence.
            for j in 0..positions.len() {
                if found[quote_at(j)].is_some() {
                    continue;
                }
                let nearest = (0..positions.len())
                    .filter(|&k| found[quote_at(k)].as_ref().is_some_and(|f| f.rule != Rule::SameSentence))
                    .min_by_key(|&k| (k.abs_diff(j), k < j));
                if let Some(k) = nearest {
                    found[quote_at(j)] =
                        found[quote_at(k)].clone().map(|f| Found { rule: Rule::SameSentence, ..f });
                }
            }
        }
        found
    }

    /// Step 3.
    fn kind(&self, q: usize, found: Option<&Found>) -> Kind {
        let (s, p) = self.places[q];
        let tokens = &self.sentences[s].tokens;
        let span = self.spans[q];
        let text = &self.chars[span.start..span.end];
        let words = count_words(text);
        let before = p.checked_sub(1).map(|i| &tokens[i]).filter(|t| t.is_word());
        if before
            .is_some_and(|t| is_scare_cue(&t.folded) || is_determiner(&t.folded) || is_possessive(&t.folded))
        {
            return Kind::Partial;
        }
        let attributed = found.is_some_and(|f| f.rule != Rule::SameSentence);
        let is_stop = |c: char| matches!(c, ',' | '.' | '!' | '?' | '…' | ';');
        let ends_utterance = text.last().is_some_and(|&c| is_stop(c));
        // «Мы готовы», — …: Russian and Ukrainian put the comma after the closing mark.
        let stop_after = tokens
            .get(p + 1)
            .is_some_and(|t| matches!(t.kind, super::text::TokenKind::Punct(c) if is_stop(c)));
        // A quote that goes on from the writer's own words (`was "in close contact"`, `что «мы
        // готовы»`, `газете «Вечерние ведомости»`) is woven into their sentence: a fragment
        // when it opens in lower case or is short, whatever verb stands near it.
        let woven = before.is_some();
        let opens_lower = text.iter().find(|c| c.is_alphanumeric()).is_some_and(|c| c.is_lowercase());
        if woven && (opens_lower || words < 4) {
            return Kind::Partial;
        }
        if words < 4 && !(attributed && (ends_utterance || stop_after)) {
            return Kind::Partial;
        }
        if is_title(text) && !ends_utterance {
            return Kind::Partial;
        }
        let words_left = tokens[..p].iter().rev().take_while(|t| t.quote().is_none()).any(Token::is_word);
        let words_right = tokens[p + 1..].iter().take_while(|t| t.quote().is_none()).any(Token::is_word);
        if found.is_none() && words_left && words_right && !ends_utterance {
            return Kind::Partial;
        }
        Kind::Direct
    }

    /// Step 4, for a direct quote without a speaker in its sentence.
    fn from_neighbours(&self, q: usize, kinds: &[Kind], done: &[Option<Attribution>]) -> Option<Neighbour> {
        let (s, p) = self.places[q];
        let sentence = &self.sentences[s];
        let opens_paragraph = p == 0 && (s == 0 || self.sentences[s - 1].paragraph != sentence.paragraph);
        let previous = s
            .checked_sub(1)
            .filter(|&r| self.sentences[r].paragraph == sentence.paragraph || opens_paragraph);
        if let Some(r) = previous {
            let tokens = &self.sentences[r].tokens;
            let tail_start = tokens.iter().rposition(|t| t.quote().is_some()).map_or(0, |i| i + 1);
            let tail = &tokens[tail_start..];
            if tail.last().is_some_and(|t| t.is_punct(':')) {
                if let Some(f) = rules::verb_before(tail).or_else(|| rules::named_colon(tail)) {
                    return Some(Neighbour::Found(Found { rule: Rule::PreviousSentence, ..f }));
                }
            }
            let attributed = self.quotes_of(r).into_iter().rev().find(|&o| {
                kinds[o] == Kind::Direct
                    && done[o].as_ref().is_some_and(|a| a.actor.is_some() || !a.speaker.is_empty())
            });
            if let Some(o) = attributed {
                let copied = done[o].clone().map(|a| Attribution { rule: Rule::Continuation, ..a });
                return copied.map(Neighbour::Copied);
            }
        }
        let same_paragraph = |r: usize| self.sentences[r].paragraph == sentence.paragraph;
        let without_direct = |r: usize| !self.quotes_of(r).iter().any(|&o| kinds[o] == Kind::Direct);
        let next = s + 1;
        if next < self.sentences.len() && same_paragraph(next) && self.quotes_of(next).is_empty() {
            if let Some(f) = rules::verb_after(&self.sentences[next].tokens) {
                return Some(Neighbour::Found(Found { rule: Rule::NextSentence, ..f }));
            }
        }
        let previous = s.checked_sub(1).filter(|&r| same_paragraph(r) && without_direct(r))?;
        rules::speech_clause(&self.sentences[previous].tokens).map(Neighbour::Found)
    }

    /// The quote parts of a quote broken by its attribution share a group, as do the
    /// paragraphs of a quote that runs on.
    fn groups(&self, found: &[Option<Found>]) -> Vec<usize> {
        let mut groups: Vec<usize> = (0..self.spans.len()).collect();
        for q in 1..self.spans.len() {
            let split = found[q].as_ref().is_some_and(|f| f.rule == Rule::SplitQuote);
            if split || self.spans[q - 1].continues {
                groups[q] = groups[q - 1];
            }
        }
        groups
    }

    /// The parts of a quote that runs over several paragraphs take the attribution one part has.
    fn fill_continued_parts(&self, found: &mut [Option<Found>]) {
        let mut q = 0;
        while q < self.spans.len() {
            let mut end = q;
            while end < self.spans.len() - 1 && self.spans[end].continues {
                end += 1;
            }
            if end > q {
                if let Some(f) = (q..=end).find_map(|k| found[k].clone()) {
                    for slot in &mut found[q..=end] {
                        if slot.is_none() {
                            *slot = Some(Found { rule: Rule::SplitQuote, ..f.clone() });
                        }
                    }
                }
            }
            q = end + 1;
        }
    }

    /// Step 5: the phrase's speaker and actor; named speakers are remembered.
    fn resolve(&self, found: &Found, q: usize, registry: &mut Vec<Named>) -> Result<Attribution, AliasTie> {
        let speaker = self.text(found.speaker.span.clone());
        let antecedent = if found.speaker.pronoun {
            registry
                .iter()
                .rev()
                .find(|n| compatible(n.gender, found.speaker.gender))
                .map(|n| (n, Resolution::Pronoun))
        } else if is_role_only(&found.speaker) {
            let role_words: Vec<&String> = found.speaker.words.iter().filter(|w| is_role_word(w)).collect();
            let same_role = registry.iter().rev().find(|n| n.words.iter().any(|nw| role_words.contains(&nw)));
            // "The minister added", "— пояснил помощник президента": an office without a
            // name is, in news copy, the official quoted last (of the verb's gender).
            let last_official = || {
                (!found.speaker.indefinite)
                    .then(|| registry.iter().rev().find(|n| compatible(n.gender, found.speaker.gender)))
                    .flatten()
            };
            same_role.or_else(last_official).map(|n| (n, Resolution::Anaphor))
        } else {
            None
        };
        if let Some((named, resolution)) = antecedent {
            return Ok(Attribution { rule: found.rule, resolution, speaker, actor: named.actor.clone() });
        }
        if found.speaker.pronoun {
            return Ok(Attribution {
                rule: found.rule,
                resolution: Resolution::Pronoun,
                speaker,
                actor: None,
            });
        }
        let actor = match self.actors {
            None => Some(speaker.clone()),
            Some(actors) => {
                let mut actor = None;
                for phrase in std::iter::once(&found.speaker).chain(&found.alternatives) {
                    let words: Vec<&str> = phrase.words.iter().map(String::as_str).collect();
                    match actors.find(&words) {
                        ActorMatch::Actor(name) => {
                            actor = Some(name.to_owned());
                            break;
                        }
                        ActorMatch::Tie { first, second } => {
                            let quote =
                                self.spans.get(q).map(|s| self.text(s.start..s.end)).unwrap_or_default();
                            return Err(AliasTie {
                                speaker,
                                quote,
                                first: first.to_owned(),
                                second: second.to_owned(),
                            });
                        }
                        ActorMatch::None => {}
                    }
                }
                actor
            }
        };
        // A surname alone ("Брюс" after "Тэмми Брюс") is the person named in full before;
        // their gender carries over too.
        let surname = found.speaker.words.last();
        let earlier = registry.iter().rev().find(|n| n.words.last() == surname && n.actor.is_some());
        let (actor, resolution) = match (actor, earlier) {
            (None, Some(named)) if self.actors.is_some() => (named.actor.clone(), Resolution::Anaphor),
            (actor, _) => (actor, Resolution::Named),
        };
        let gender = found
            .speaker
            .gender
            .or_else(|| registry.iter().rev().find(|n| n.words.last() == surname).and_then(|n| n.gender));
        // The apposition's words too (`Maria Zakharova, the Foreign Ministry spokeswoman`), so
        // that "the ministry" or "the spokeswoman" later finds her.
        let words = std::iter::once(&found.speaker)
            .chain(&found.alternatives)
            .flat_map(|phrase| phrase.words.iter().cloned())
            .collect();
        registry.push(Named { words, gender, actor: actor.clone() });
        Ok(Attribution { rule: found.rule, resolution, speaker, actor })
    }
}

impl Article<'_> {
    /// A person the sentence opens with, remembered for pronouns only when the actors file
    /// knows them or a given name shows a person (not "Several MEPs", "The talks").
    fn remember_mention(&self, name: Phrase, registry: &mut Vec<Named>) {
        let words: Vec<&str> = name.words.iter().map(String::as_str).collect();
        let actor = match self.actors.map(|actors| actors.find(&words)) {
            Some(ActorMatch::Actor(actor)) => Some(actor.to_owned()),
            Some(_) => None,
            None => Some(self.text(name.span.clone())),
        };
        let person = name.words.iter().any(|w| lexicon::given_name_gender(w).is_some());
        let known = self.actors.is_some() && actor.is_some();
        if known || person {
            registry.push(Named { words: name.words, gender: name.gender, actor });
        }
    }
}

enum Neighbour {
    /// A rule found the speaker in a neighbouring sentence.
    Found(Found),
    /// The quote continues an attributed one: same speaker, already resolved.
    Copied(Attribution),
}

fn compatible(named: Option<Gender>, pronoun: Option<Gender>) -> bool {
    named.is_none() || pronoun.is_none() || named == pronoun
}

/// A phrase of offices only, no name: "the spokesman", "пресс-секретарь".
fn is_role_only(phrase: &Phrase) -> bool {
    phrase.words.iter().any(|w| is_role_word(w))
        && phrase.words.iter().all(|w| is_role_word(w) || lexicon::is_name_connector(w))
}

fn is_possessive(folded: &str) -> bool {
    folded.ends_with("'s") || (folded.ends_with("s'") && folded.len() > 2)
}

/// Title Case of two or more words: a name of something ("Peace Through Strength").
fn is_title(text: &[char]) -> bool {
    let text: String = text.iter().collect();
    let words: Vec<&str> = text.split_whitespace().filter(|w| w.chars().count() > 3).collect();
    words.len() >= 2
        && text.split_whitespace().count() <= 8
        && words.iter().all(|w| w.chars().next().is_some_and(|c| c.is_uppercase() && c.is_ascii()))
}

fn count_words(text: &[char]) -> usize {
    let mut count = 0;
    let mut in_word = false;
    for &c in text {
        let is_word = c.is_alphanumeric() || lexicon::is_combining(c);
        if is_word && !in_word {
            count += 1;
        }
        in_word = is_word || (in_word && matches!(c, '-' | '\'' | '’'));
    }
    count
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const ACTORS: &str = r#"
[[actor]]
name = "Kremlin"
aliases = ["Dmitry Peskov", "Peskov", "Kremlin spokesman", "Песков", "Кремль"]
[[actor]]
name = "Russian MFA"
aliases = ["Maria Zakharova", "Zakharova", "Захарова", "МИД России"]
[[actor]]
name = "Ukrainian President's Office"
aliases = ["Zelensky", "Зеленський", "Зеленский"]
[[actor]]
name = "White House"
aliases = ["White House", "Білий дім"]
"#;

    fn actors() -> Actors {
        Actors::from_toml_str(ACTORS, Path::new("actors.toml")).unwrap()
    }

    /// (text, kind, actor, attribution) of each quote.
    fn extract(text: &str) -> Vec<(String, &'static str, Option<String>, String)> {
        let chars: Vec<char> = text.chars().collect();
        quotes(text, Some(&actors()))
            .unwrap()
            .into_iter()
            .map(|q| {
                let label = q.attribution.as_ref().map_or("none".to_owned(), Attribution::label);
                let actor = q.attribution.and_then(|a| a.actor);
                (chars[q.span].iter().collect(), q.kind.as_str(), actor, label)
            })
            .collect()
    }

    fn actor_of(text: &str) -> Vec<Option<String>> {
        extract(text).into_iter().filter(|q| q.1 == "direct").map(|q| q.2).collect()
    }

    fn some(name: &str) -> Option<String> {
        Some(name.to_owned())
    }

    #[test]
    fn quotes_woven_into_the_writers_sentence_are_partial() {
        let found = extract(
            "Bruce said the department was “in close contact with our allies every day.” \
             Песков заявил, что «мы готовы к переговорам». Кравцов дал интервью газете «Вечерние ведомости».",
        );
        assert!(found.iter().all(|q| q.1 == "partial"), "{found:?}");
        // A whole sentence after "that" is still someone's words.
        assert_eq!(
            actor_of("Peskov stated that “Russia is always open to peace negotiations”."),
            [some("Kremlin")]
        );
    }

    #[test]
    fn an_attribution_inside_the_marks_gives_two_rows_of_one_group() {
        let text = "«Мы готовы, — сказал Песков, — но не на любых условиях».";
        let found = quotes(text, Some(&actors())).unwrap();
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|q| q.kind == Kind::Direct && q.group == 0), "{found:?}");
        assert_eq!(actor_of(text), [some("Kremlin"), some("Kremlin")]);
        // Sentences inside: the first part keeps the attribution that follows it.
        let text =
            "Ушаков говорил о сроках.\n«Мы готовы к диалогу. — заявил Песков. — Но не к ультиматумам».";
        let found = quotes(text, Some(&actors())).unwrap();
        let labels: Vec<String> = found.iter().map(|q| q.attribution.as_ref().unwrap().label()).collect();
        assert_eq!(labels, ["verb_after", "split_quote"]);
        assert_eq!(found[0].group, found[1].group);
        assert_eq!(actor_of(text), [some("Kremlin"), some("Kremlin")]);
    }

    #[test]
    fn offices_without_a_name_are_the_official_quoted_last() {
        let text = "«Мы готовы», — сказала Захарова.\n«Это не так», — добавила дипломат.\n\
                    «Мы подождём», — подчеркнул министр.";
        // The minister is masculine: not Zakharova, and no man was quoted before.
        assert_eq!(actor_of(text), [some("Russian MFA"), some("Russian MFA"), None]);
        // Someone new is not someone named before.
        assert_eq!(
            actor_of("“We are ready,” Zakharova said.\n“It is too early,” one official said."),
            [some("Russian MFA"), None]
        );
    }

    #[test]
    fn an_office_finds_the_speaker_whose_apposition_named_it() {
        let text = "“We will not accept this,” said Maria Zakharova, the Foreign Ministry spokeswoman.\n\
                    In a statement, the White House said: “The president is committed to peace.”\n\
                    “This is unacceptable,” the ministry said.";
        assert_eq!(actor_of(text), [some("Russian MFA"), some("White House"), some("Russian MFA")]);
    }

    #[test]
    fn a_surname_alone_is_the_person_named_in_full_before() {
        let text =
            "«Мы готовы», — сказала представитель МИД России Елена Брюс.\n«Это не так», — добавила Брюс.";
        assert_eq!(actor_of(text), [some("Russian MFA"), some("Russian MFA")]);
    }

    #[test]
    fn a_sentence_opening_with_a_known_person_is_remembered_for_pronouns() {
        let text = "Maria Zakharova struck a similar tone at the briefing. “We are not going to negotiate in public,” she said.\n\
                    Political analyst Anna Petrenko was less sure. “It is too early,” she said.";
        assert_eq!(actor_of(text), [some("Russian MFA"), None]);
    }

    #[test]
    fn the_example_articles_peskov_quote() {
        let text = "Although Russia has not yet officially confirmed the meeting, Russian President Vladimir Putin’s press secretary, Dmitry Peskov, stated that “Russia is always open to peace negotiations”, a statement seen as a softening.";
        let found = extract(text);
        assert_eq!(
            found,
            [(
                "Russia is always open to peace negotiations".to_owned(),
                "direct",
                some("Kremlin"),
                "verb_before".to_owned()
            )]
        );
    }

    #[test]
    fn scare_quotes_and_titles_are_partial_and_unattributed() {
        let found = extract(
            "The White House called the meeting “highly constructive”. Trump’s “two-track approach” seeks pressure. \
             Kyiv rejected the so-called \"peace formula\" as a \"gift to the Kremlin\". He read “Peace Through Strength” twice.",
        );
        assert!(found.iter().all(|q| q.1 == "partial" && q.2.is_none()), "{found:?}");
        assert_eq!(found.len(), 5);
    }

    #[test]
    fn a_quote_broken_by_its_attribution_shares_a_group() {
        let text = "“We are ready,” Peskov said, “but not at any price.”";
        let found = quotes(text, Some(&actors())).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].group, found[1].group);
        assert_eq!(found[1].attribution.as_ref().unwrap().rule, Rule::SplitQuote);
        assert!(found.iter().all(|q| q.attribution.as_ref().unwrap().actor.as_deref() == Some("Kremlin")));
    }

    #[test]
    fn pronouns_take_the_most_recent_named_speaker_of_their_gender() {
        let text = "“Talks are possible,” Peskov said. “We disagree,” Zakharova said. “Nothing has changed,” he added. “Nothing at all,” she said.";
        assert_eq!(
            actor_of(text),
            [some("Kremlin"), some("Russian MFA"), some("Kremlin"), some("Russian MFA")]
        );
        let text = "Песков выступил в понедельник. «Переговоры возможны», — сказал он.";
        assert_eq!(actor_of(text), [some("Kremlin")]);
        let text = "«Ми готові», — зазначила Захарова. «Ми теж», — заявив Зеленський. «Але не зараз», — додала вона.";
        assert_eq!(
            actor_of(text),
            [some("Russian MFA"), some("Ukrainian President's Office"), some("Russian MFA")]
        );
        let text = "Zelensky spoke in Kyiv. «Переговори можливі», — за його словами.";
        assert_eq!(actor_of(text), [some("Ukrainian President's Office")]);
    }

    #[test]
    fn a_pronoun_with_nobody_before_it_has_no_actor() {
        let found = extract("“We are ready for talks,” he said.");
        assert_eq!(found[0].2, None);
        assert_eq!(found[0].3, "verb_after+pronoun");
    }

    #[test]
    fn a_quote_naming_another_actor_goes_to_its_speaker() {
        assert_eq!(actor_of("“We will never trust Zelensky again,” Peskov said."), [some("Kremlin")]);
    }

    #[test]
    fn speakers_in_neighbouring_sentences() {
        let colon = "Peskov told reporters on Monday:\n“We are ready for talks at any time.”";
        assert_eq!(extract(colon)[0].3, "previous_sentence");
        assert_eq!(actor_of(colon), [some("Kremlin")]);
        let continued = "“We are ready for talks,” Peskov said. “The ball is in Kyiv’s court now.”";
        assert_eq!(extract(continued)[1].3, "continuation");
        assert_eq!(actor_of(continued), [some("Kremlin"), some("Kremlin")]);
        let next = "“The ball is in Kyiv’s court now.” Peskov said this on Tuesday.";
        assert_eq!(extract(next)[0].3, "next_sentence");
        let previous = "Zakharova spoke to reporters on Monday. “The ball is in Kyiv’s court now.”";
        assert_eq!(actor_of(previous), [some("Russian MFA")]);
    }

    #[test]
    fn institutions_speak() {
        assert_eq!(
            actor_of("“We welcome the talks,” the White House said in a statement."),
            [some("White House")]
        );
        assert_eq!(
            actor_of("В МИД России добавили: «Мы готовы к диалогу с Вашингтоном»."),
            [some("Russian MFA")]
        );
        assert_eq!(
            actor_of("«Ми готові до діалогу з Москвою», — заявили у Білому домі."),
            [some("White House")]
        );
    }

    #[test]
    fn role_only_phrases_refer_back() {
        let text =
            "“Talks are possible,” Kremlin spokesman Dmitry Peskov said. “Not today,” the spokesman added.";
        let found = extract(text);
        assert_eq!(found[1].2, some("Kremlin"));
        assert_eq!(found[1].3, "verb_after+anaphor");
    }

    #[test]
    fn unknown_speakers_keep_their_phrase_without_an_actor() {
        let found = quotes("“The talks will fail,” analyst Ivan Petrov said.", Some(&actors())).unwrap();
        let attribution = found[0].attribution.as_ref().unwrap();
        assert_eq!(attribution.speaker, "Ivan Petrov");
        assert_eq!(attribution.actor, None);
        let without_actors = quotes("“The talks will fail,” analyst Ivan Petrov said.", None).unwrap();
        assert_eq!(without_actors[0].attribution.as_ref().unwrap().actor.as_deref(), Some("Ivan Petrov"));
    }

    #[test]
    fn an_alias_tie_in_a_phrase_is_an_error() {
        let file = "[[actor]]\nname = \"A\"\naliases = [\"Petrov\"]\n[[actor]]\nname = \"B\"\naliases = [\"Ivanov\"]\n";
        let actors = Actors::from_toml_str(file, Path::new("a.toml")).unwrap();
        let tie = quotes("“The talks will fail,” Petrov and Ivanov said.", Some(&actors)).unwrap_err();
        assert_eq!((tie.first.as_str(), tie.second.as_str()), ("A", "B"));
    }

    #[test]
    fn word_counts() {
        let chars: Vec<char> = "Kyiv’s so-called plan, 2025 🙏".chars().collect();
        assert_eq!(count_words(&chars), 4);
    }
}
