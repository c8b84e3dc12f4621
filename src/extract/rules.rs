//! The attribution rules: each looks at the words around one quote inside its sentence (a
//! *segment*: the tokens between two quotes, or between a quote and the sentence's edge) and
//! returns the speaker phrase it finds.
//!
//! - [`verb_after`]: `"…," Peskov said` / `"…," said Peskov` / `«…», — заявил Песков`
//! - [`verb_before`]: `Peskov said that "…"` / `Песков заявил: «…»` (a colon intro)
//! - [`named_colon`]: `Peskov: "…"`
//! - [`according_to`]: `according to Peskov, "…"` / `По словам Пескова, «…»` / `«…», — за його
//!   словами`
//! - [`speech_clause`]: a sentence without a quote that reports speech (`Peskov spoke to
//!   reporters on Monday.`), for quotes in the next or previous sentence.

use std::ops::Range;

use super::lexicon::{
    self, is_name_connector, is_not_name, is_role_word, is_speech_verb, is_subject_pronoun, may_follow_verb,
    may_stand_before_verb, Gender, ACCORDING_TO, ACCORDING_TO_PRONOUN,
};
use super::text::Token;

/// Which rule attributed a quote; written to the `attribution` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    VerbAfter,
    VerbBefore,
    ColonIntro,
    AccordingTo,
    /// The second part of a quote broken by its attribution (`"…," he said, "…"`), or a
    /// quote's part in another paragraph.
    SplitQuote,
    /// Another quote of the same sentence was attributed.
    SameSentence,
    /// The previous sentence introduces the quote (`Peskov told reporters:` / `Peskov spoke on
    /// Monday.`).
    PreviousSentence,
    /// The next sentence names the speaker (`"…." Peskov said this on Tuesday.`).
    NextSentence,
    /// The quote goes on from an attributed quote in the previous sentence or paragraph.
    Continuation,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::VerbAfter => "verb_after",
            Rule::VerbBefore => "verb_before",
            Rule::ColonIntro => "colon_intro",
            Rule::AccordingTo => "according_to",
            Rule::SplitQuote => "split_quote",
            Rule::SameSentence => "same_sentence",
            Rule::PreviousSentence => "previous_sentence",
            Rule::NextSentence => "next_sentence",
            Rule::Continuation => "continuation",
        }
    }
}

/// A speaker phrase: the tokens that name the speaker, with alternatives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    /// Code-point offsets into the article.
    pub span: Range<usize>,
    /// Folded words.
    pub words: Vec<String>,
    pub pronoun: bool,
    /// The gender the phrase or its verb shows.
    pub gender: Option<Gender>,
    /// Introduced as someone new: "one official", "a diplomat", "один из дипломатов".
    pub indefinite: bool,
}

/// What a rule found: the rule, the speaker phrase, and wider phrases to try against the
/// actors when the nearest one matches none (`Putin's press secretary, Dmitry Peskov,`
/// gives "Dmitry Peskov", then "Putin's press secretary").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub rule: Rule,
    pub speaker: Phrase,
    pub alternatives: Vec<Phrase>,
}

fn word(tokens: &[Token], i: usize) -> Option<&str> {
    tokens.get(i).filter(|t| t.is_word()).map(|t| t.folded.as_str())
}

/// A word that can be part of a name or title: capitalised (and not a sentence adverb,
/// weekday, …), or a word of office.
fn is_name_word(token: &Token) -> bool {
    token.is_word() && ((token.capitalized && !is_not_name(&token.folded)) || is_role_word(&token.folded))
}

fn is_initial(tokens: &[Token], dot: usize) -> bool {
    tokens[dot].is_punct('.')
        && dot > 0
        && tokens[dot - 1].capitalized
        && tokens[dot - 1].folded.chars().count() == 1
        && tokens.get(dot + 1).is_some_and(|t| t.capitalized)
}

fn phrase(tokens: &[Token], range: Range<usize>, verb: Option<&Token>) -> Phrase {
    let words: Vec<String> =
        tokens[range.clone()].iter().filter(|t| t.is_word()).map(|t| t.folded.clone()).collect();
    let pronoun = words.len() == 1 && lexicon::pronoun_gender(&words[0]).is_some();
    let gender = if pronoun {
        lexicon::pronoun_gender(&words[0])
    } else {
        verb.and_then(|v| lexicon::verb_gender(&v.folded))
            .or_else(|| title_gender(&words))
            .or_else(|| words.iter().find_map(|w| lexicon::given_name_gender(w)))
            .or_else(|| words.last().filter(|w| w.is_ascii()).and_then(|w| lexicon::name_gender(w)))
    };
    let indefinite =
        range.start.checked_sub(1).and_then(|i| word(tokens, i)).is_some_and(lexicon::is_indefinite)
            || words.first().is_some_and(|w| lexicon::is_indefinite(w));
    let span = tokens[range.start].span.start..tokens[range.end - 1].span.end;
    Phrase { span, words, pronoun, gender, indefinite }
}

fn title_gender(words: &[String]) -> Option<Gender> {
    words.iter().find_map(|w| match w.as_str() {
        "mr" => Some(Gender::Male),
        "ms" | "mrs" | "madam" => Some(Gender::Female),
        _ => None,
    })
}

/// Drops connectors at the edges of a name run (a leading "the" stays) and checks that a
/// name or office word is left.
fn trimmed(tokens: &[Token], mut range: Range<usize>) -> Option<Range<usize>> {
    while range.end > range.start && !is_name_word(&tokens[range.end - 1]) {
        range.end -= 1;
    }
    while range.start < range.end
        && !is_name_word(&tokens[range.start])
        && !(tokens[range.start].folded == "the" && range.end - range.start > 1)
        && !(lexicon::is_name_particle(&tokens[range.start].folded)
            && tokens
                .get(range.start + 1)
                .is_some_and(|t| is_name_word(t) || t.folded == "der" || t.folded == "дер"))
    {
        range.start += 1;
    }
    (range.start < range.end).then_some(range)
}

/// The name run that ends at `end` (exclusive), not reaching below `floor`.
fn run_before(tokens: &[Token], end: usize, floor: usize) -> Option<Range<usize>> {
    let mut start = end;
    while start > floor {
        let t = &tokens[start - 1];
        let joins = t.is_word() && (is_name_word(t) || is_name_connector(&t.folded));
        if joins || is_initial(tokens, start - 1) {
            start -= 1;
        } else {
            break;
        }
    }
    trimmed(tokens, start..end)
}

/// The name run that starts at `start`, not reaching `ceiling`.
fn run_from(tokens: &[Token], start: usize, ceiling: usize) -> Option<Range<usize>> {
    let mut end = start;
    while end < ceiling {
        let t = &tokens[end];
        let joins = t.is_word() && (is_name_word(t) || is_name_connector(&t.folded));
        if joins || is_initial(tokens, end) {
            end += 1;
        } else {
            break;
        }
    }
    trimmed(tokens, start..end)
}

/// The speaker standing before the verb at `verb`: a pronoun, a name run, a name with an
/// apposition (`Dmitry Peskov, the Kremlin spokesman, said` / `Putin's press secretary, Dmitry
/// Peskov, said`), a name before a clause (`Leavitt, speaking in Washington, said`, `Рубіо,
/// який також був присутній, додав`), or a name before a few words of circumstance (`Песков
/// накануне заявил`, `Zelensky in his nightly address said`).
fn speaker_before(tokens: &[Token], verb: usize, floor: usize) -> Option<(Phrase, Vec<Phrase>)> {
    let verb_token = &tokens[verb];
    let mut end = verb;
    while end > floor && word(tokens, end - 1).is_some_and(may_stand_before_verb) {
        end -= 1;
    }
    if end > floor && word(tokens, end - 1).is_some_and(is_subject_pronoun) {
        return Some((phrase(tokens, end - 1..end, Some(verb_token)), Vec::new()));
    }
    if end > floor && tokens[end - 1].is_punct(',') {
        return before_comma(tokens, end - 1, floor, verb_token);
    }
    if let Some(run) = run_before(tokens, end, floor) {
        return Some((phrase(tokens, run, Some(verb_token)), Vec::new()));
    }
    // Words of circumstance between the subject and its verb: lower-case, no verb, no comma.
    let mut start = end;
    while start > floor && end - start < MAX_CIRCUMSTANCE_WORDS {
        let t = &tokens[start - 1];
        if !t.is_word() || t.capitalized || is_speech_verb(&t.folded) {
            break;
        }
        start -= 1;
        if let Some(run) = run_before(tokens, start, floor).filter(|r| ends_in_name(tokens, r)) {
            return Some((phrase(tokens, run, Some(verb_token)), Vec::new()));
        }
    }
    None
}

/// Words of circumstance allowed between a subject and its verb.
const MAX_CIRCUMSTANCE_WORDS: usize = 5;

fn ends_in_name(tokens: &[Token], run: &Range<usize>) -> bool {
    tokens[run.end - 1].capitalized
}

/// The speaker of a verb preceded by a comma at `comma`: the part between it and the comma
/// before is an apposition or a clause.
fn before_comma(tokens: &[Token], comma: usize, floor: usize, verb: &Token) -> Option<(Phrase, Vec<Phrase>)> {
    let opening = (floor..comma).rev().find(|&i| tokens[i].is_punct(','));
    let inner = run_before(tokens, comma, floor);
    let outer = opening.and_then(|o| run_before(tokens, o, floor).map(|r| (o, r)));
    let inner_is_whole = match (&inner, opening) {
        (Some(run), Some(o)) => {
            tokens[o + 1..run.start].iter().all(|t| t.is_word() && is_name_connector(&t.folded))
        }
        (Some(_), None) => true,
        (None, _) => false,
    };
    let whole_phrase = |run: Range<usize>| phrase(tokens, run, Some(verb));
    match (inner, outer) {
        // `Putin's press secretary, Dmitry Peskov, said`: the name in the middle speaks.
        (Some(inner), Some((_, outer))) if inner_is_whole && tokens[inner.start].capitalized => {
            Some((whole_phrase(inner), vec![whole_phrase(outer)]))
        }
        // `Andriy Yermak, the head of Zelensky's office, wrote`: the name before it.
        (Some(inner), Some((_, outer))) if inner_is_whole => {
            Some((whole_phrase(outer), vec![whole_phrase(inner)]))
        }
        // `Leavitt, speaking in Washington, said`: a clause between the name and its verb.
        (_, Some((_, outer))) => Some((whole_phrase(outer), Vec::new())),
        (Some(inner), None) => Some((whole_phrase(inner), Vec::new())),
        // `Один из членов американской делегации, пожелавший остаться неназванным, сказал`:
        // a subject described in lower-case words, up to the clause.
        (None, None) => {
            let end = opening?;
            let described = &tokens[floor..end];
            let words = described.iter().filter(|t| t.is_word()).count();
            (words > 0 && words <= MAX_DESCRIBED_SPEAKER_WORDS + 2 && described.iter().all(Token::is_word))
                .then(|| (whole_phrase(floor..end), Vec::new()))
        }
    }
}

/// The speaker after the verb at `verb` (inverted order: `said Peskov`, `заявил журналистам
/// Песков`, `сказав він`, `said one diplomat`, `— сказал эксперт`), and where the phrase ends.
fn speaker_after(tokens: &[Token], verb: usize, ceiling: usize) -> Option<(Phrase, usize)> {
    let mut start = verb + 1;
    let mut skipped = 0;
    while start < ceiling
        && skipped < 4
        && word(tokens, start).is_some_and(|w| may_follow_verb(w) && !is_subject_pronoun(w))
        && !is_name_word(&tokens[start])
    {
        start += 1;
        skipped += 1;
    }
    if word(tokens, start).is_some_and(is_subject_pronoun) {
        return Some((phrase(tokens, start..start + 1, Some(&tokens[verb])), start + 1));
    }
    if let Some(run) = run_from(tokens, start, ceiling) {
        // An office in the genitive runs on to the name: `заявил министр иностранных дел
        // Украины Андрей Сибига`.
        let clause_end = (run.end..ceiling)
            .find(|&i| !tokens[i].is_word() || is_speech_verb(&tokens[i].folded))
            .unwrap_or(ceiling)
            .min(run.end + MAX_DESCRIBED_SPEAKER_WORDS);
        let name_end = (run.end..clause_end).rev().find(|&i| tokens[i].capitalized).map(|i| i + 1);
        let end = match name_end {
            Some(end) if is_role_word(&tokens[run.end - 1].folded) => end,
            _ => run.end,
        };
        return Some((phrase(tokens, run.start..end, Some(&tokens[verb])), end));
    }
    // A speaker described in lower case (`one diplomat`, `эксперт`, `экономист Павел
    // Рудаков`): the words up to the clause's end, through its last name if it has one.
    let clause_end = (start..ceiling)
        .find(|&i| !tokens[i].is_word() || is_speech_verb(&tokens[i].folded))
        .unwrap_or(ceiling)
        .min(start + MAX_DESCRIBED_SPEAKER_WORDS);
    if clause_end == start {
        return None;
    }
    let end = (start..clause_end).rev().find(|&i| is_name_word(&tokens[i])).map_or(clause_end, |i| i + 1);
    Some((phrase(tokens, start..end, Some(&tokens[verb])), end))
}

/// Words of a speaker described without a name.
const MAX_DESCRIBED_SPEAKER_WORDS: usize = 6;

fn is_verb(tokens: &[Token], i: usize, first: usize) -> bool {
    let t = &tokens[i];
    t.is_word() && is_speech_verb(&t.folded) && (!t.capitalized || i == first)
}

fn is_leading_punct(token: &Token) -> bool {
    [',', '—', '–', '-', ')', ';'].iter().any(|&c| token.is_punct(c))
}

/// `"…," Peskov said.` — the segment after a quote opens with a speaker and a speech verb
/// (in either order) among its first words.
pub fn verb_after(segment: &[Token]) -> Option<Found> {
    let first = segment.iter().position(|t| !is_leading_punct(t))?;
    let limit = segment.len().min(first + 10);
    // A descriptor or two before the name: "analyst Ivan Petrov said".
    let mut descriptors = 0;
    for v in first..limit {
        if is_verb(segment, v, first) {
            if let Some((speaker, alternatives)) = speaker_before(segment, v, first) {
                let before: Vec<&Token> =
                    segment[first..].iter().take_while(|t| t.span.start < speaker.span.start).collect();
                if before.len() <= 2 && before.iter().all(|t| t.is_word()) {
                    return Some(Found { rule: Rule::VerbAfter, speaker, alternatives });
                }
            }
            if v == first {
                let (speaker, end) = speaker_after(segment, v, segment.len())?;
                // `said Maria Zakharova, the Foreign Ministry spokeswoman`: the apposition is
                // a wider phrase for the actors and for "the ministry" later on.
                let apposition = segment
                    .get(end)
                    .filter(|t| t.is_punct(','))
                    .and_then(|_| run_from(segment, end + 1, segment.len()))
                    .map(|run| phrase(segment, run, Some(&segment[v])));
                let alternatives = apposition.into_iter().collect();
                return Some(Found { rule: Rule::VerbAfter, speaker, alternatives });
            }
            return None;
        }
        let t = &segment[v];
        let speakerish = is_name_word(t)
            || (t.is_word() && (is_name_connector(&t.folded) || may_stand_before_verb(&t.folded)))
            || word(segment, v).is_some_and(is_subject_pronoun)
            || t.is_punct(',')
            || is_initial(segment, v);
        if !speakerish {
            descriptors += 1;
            if descriptors > 2 || !t.is_word() {
                return None;
            }
        }
    }
    None
}

/// Words allowed between a speech verb and the quote it introduces: `that`, `reporters`,
/// `on Monday`, `что`.
fn may_stand_before_quote(folded: &str) -> bool {
    may_follow_verb(folded)
        || is_not_name(folded)
        || matches!(
            folded,
            "that" | "what" | "it" | "this" | "later" | "again" | "also" | "earlier" | "что" | "що"
        )
        || folded.chars().all(|c| c.is_ascii_digit())
}

/// `Peskov said that "…"` / `Песков заявил: «…»` — the segment before a quote ends with a
/// speech verb, its speaker, and at most a few words like "that" or "reporters".
pub fn verb_before(segment: &[Token]) -> Option<Found> {
    let colon = ends_with_colon(segment);
    let v = (0..segment.len()).rev().find(|&i| is_verb(segment, i, 0))?;
    let mut tail_start = v + 1;
    let before = speaker_before(segment, v, 0);
    let after = if before.is_none() {
        let found = speaker_after(segment, v, segment.len());
        if let Some((_, end)) = &found {
            tail_start = *end;
        }
        found
    } else {
        None
    };
    let tail = &segment[tail_start..];
    let tail_words = tail.iter().filter(|t| t.is_word()).count();
    // A colon closes the introduction, whatever stands between (`told the daily briefing:`,
    // `said in a statement late on Thursday:`, `відреагував у X:`); without one, the quote
    // must follow the verb closely, or it is the writer's sentence that goes on.
    let tail_ok = if colon {
        tail_words <= MAX_COLON_TAIL_WORDS
    } else {
        tail_words <= 6 && tail.iter().all(|t| !t.is_word() || may_stand_before_quote(&t.folded))
    };
    if !tail_ok {
        return None;
    }
    let rule = if colon { Rule::ColonIntro } else { Rule::VerbBefore };
    match (before, after) {
        (Some((speaker, alternatives)), _) => Some(Found { rule, speaker, alternatives }),
        (None, Some((speaker, _))) => Some(Found { rule, speaker, alternatives: Vec::new() }),
        _ => None,
    }
}

/// Words allowed between a speech verb (with its speaker) and the colon that introduces a quote.
const MAX_COLON_TAIL_WORDS: usize = 12;

pub fn ends_with_colon(segment: &[Token]) -> bool {
    segment.iter().rev().find(|t| !(t.is_punct('—') || t.is_punct('–'))).is_some_and(|t| t.is_punct(':'))
}

/// `The Kremlin said in a statement that the call was "businesslike", and added: "…"` — a
/// speech verb without a subject (`and added:`, `adding:`, `додавши:`) right before the quote
/// takes the speaker of the sentence's first clause that reports speech. `segment` is a slice
/// of `sentence`.
pub fn subject_earlier(sentence: &[Token], segment: &[Token]) -> Option<Found> {
    let verb = segment.iter().rposition(|t| t.is_word() && is_speech_verb(&t.folded))?;
    let tail = &segment[verb + 1..];
    if tail.iter().any(Token::is_word) && !ends_with_colon(segment) {
        return None;
    }
    let start = segment.first()?.span.start;
    let earlier = sentence.iter().position(|t| t.span.start >= start)?;
    speech_clause(&sentence[..earlier]).map(|f| Found { rule: Rule::SameSentence, ..f })
}

/// `Peskov: "…"` — a name and a colon right before the quote.
pub fn named_colon(segment: &[Token]) -> Option<Found> {
    if !ends_with_colon(segment) {
        return None;
    }
    let colon = segment.iter().rposition(|t| t.is_punct(':'))?;
    let run = run_before(segment, colon, 0)?;
    // The name must open its clause: `Peskov:`, not `Peskov spoke about it at length:`.
    if run.start > 0 && segment[run.start - 1].is_word() {
        return None;
    }
    Some(Found { rule: Rule::ColonIntro, speaker: phrase(segment, run, None), alternatives: Vec::new() })
}

fn marker_at(segment: &[Token], at: usize, marker: &[&str]) -> bool {
    marker.iter().enumerate().all(|(k, m)| word(segment, at + k) == Some(m))
}

/// `according to Peskov, "…"` / `По словам Пескова, «…»` before the quote, or `«…», — по его
/// словам` / `"…", according to Peskov` after it.
pub fn according_to(segment: &[Token], after_quote: bool) -> Option<Found> {
    let first = segment.iter().position(|t| !is_leading_punct(t))?;
    let starts = if after_quote { first..first + 1 } else { 0..segment.len() };
    for at in starts {
        if let Some(marker) = ACCORDING_TO_PRONOUN.iter().find(|m| marker_at(segment, at, m)) {
            let pronoun = at + marker.iter().position(|w| lexicon::pronoun_gender(w).is_some())?;
            let end = at + marker.len();
            if !after_quote && segment[end..].iter().any(|t| t.is_word()) {
                continue;
            }
            let speaker = phrase(segment, pronoun..pronoun + 1, None);
            return Some(Found { rule: Rule::AccordingTo, speaker, alternatives: Vec::new() });
        }
        if let Some(marker) = ACCORDING_TO.iter().find(|m| marker_at(segment, at, m)) {
            let run = run_from(segment, at + marker.len(), segment.len())?;
            if !after_quote && segment[run.end..].iter().any(|t| t.is_word()) {
                continue;
            }
            return Some(Found {
                rule: Rule::AccordingTo,
                speaker: phrase(segment, run, None),
                alternatives: Vec::new(),
            });
        }
    }
    None
}

/// The name a sentence opens with (`State Department spokeswoman Tammy Bruce struck a similar
/// tone.`): a person who may speak next, for the pronouns that follow.
pub fn opening_name(tokens: &[Token]) -> Option<Phrase> {
    // A person's name may follow a description (`Political analyst Anna Petrenko`, `Депутатка
    // облради Ірина Левченко`); otherwise the opening words themselves.
    let opening = tokens.iter().take_while(|t| t.is_word()).count().min(OPENING_WORDS);
    let person = (0..opening).find_map(|start| {
        run_from(tokens, start, tokens.len())
            .filter(|run| tokens[run.clone()].iter().any(|t| lexicon::given_name_gender(&t.folded).is_some()))
    });
    let run = person.or_else(|| run_from(tokens, 0, tokens.len()))?;
    Some(phrase(tokens, run, None))
}

/// How far into a sentence its subject's name is looked for.
const OPENING_WORDS: usize = 5;

/// The speaker of a sentence that reports speech without quoting it (`Peskov spoke to
/// reporters on Monday.`, `He added that …`): the first speech verb with a speaker next to it.
pub fn speech_clause(tokens: &[Token]) -> Option<Found> {
    (0..tokens.len()).filter(|&v| is_verb(tokens, v, 0)).find_map(|v| {
        let floor = tokens[..v].iter().rposition(|t| t.quote().is_some()).map_or(0, |q| q + 1);
        if let Some((speaker, alternatives)) = speaker_before(tokens, v, floor) {
            return Some(Found { rule: Rule::PreviousSentence, speaker, alternatives });
        }
        let ceiling = tokens[v..].iter().position(|t| t.quote().is_some()).map_or(tokens.len(), |q| v + q);
        speaker_after(tokens, v, ceiling).map(|(speaker, _)| Found {
            rule: Rule::PreviousSentence,
            speaker,
            alternatives: Vec::new(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::super::marks::find_quotes;
    use super::super::text::{sentences, Sentence};
    use super::*;

    /// The sentence of `text` and its segments around quotes.
    fn sentence(text: &str) -> (Vec<char>, Sentence) {
        let chars: Vec<char> = text.chars().collect();
        let quotes = find_quotes(&chars);
        let sentence = sentences(&chars, &quotes).remove(0);
        (chars, sentence)
    }

    fn left_of_first_quote(sentence: &Sentence) -> &[Token] {
        &sentence.tokens[..sentence.quote_positions()[0]]
    }

    fn right_of_first_quote(sentence: &Sentence) -> &[Token] {
        let positions = sentence.quote_positions();
        let end = positions.get(1).copied().unwrap_or(sentence.tokens.len());
        &sentence.tokens[positions[0] + 1..end]
    }

    fn speaker_text(chars: &[char], found: &Found) -> String {
        chars[found.speaker.span.clone()].iter().collect()
    }

    fn after(text: &str) -> Option<String> {
        let (chars, s) = sentence(text);
        verb_after(right_of_first_quote(&s)).map(|f| speaker_text(&chars, &f))
    }

    fn before(text: &str) -> Option<(String, Rule)> {
        let (chars, s) = sentence(text);
        verb_before(left_of_first_quote(&s)).map(|f| (speaker_text(&chars, &f), f.rule))
    }

    #[test]
    fn verb_after_the_quote_in_each_language() {
        assert_eq!(after("“We are ready,” Peskov said.").as_deref(), Some("Peskov"));
        assert_eq!(
            after("“We are ready,” said Kremlin spokesman Dmitry Peskov.").as_deref(),
            Some("Kremlin spokesman Dmitry Peskov")
        );
        assert_eq!(after("“We are ready,” he told reporters.").as_deref(), Some("he"));
        assert_eq!(
            after("“We are ready,” the White House said in a statement.").as_deref(),
            Some("the White House")
        );
        assert_eq!(
            after("«Мы готовы», — заявил журналистам пресс-секретарь президента Дмитрий Песков.").as_deref(),
            Some("пресс-секретарь президента Дмитрий Песков")
        );
        assert_eq!(after("«Ми готові», — сказав він.").as_deref(), Some("він"));
        assert_eq!(after("«Ми готові», — зазначила Захарова.").as_deref(), Some("Захарова"));
        assert_eq!(after("«Мы готовы», — добавили в МИД России.").as_deref(), Some("МИД России"));
        assert_eq!(after("«Ми готові», — заявив Зеленський.").as_deref(), Some("Зеленський"));
        assert_eq!(after("“We are ready,” Peskov has also said.").as_deref(), Some("Peskov"));
    }

    #[test]
    fn verb_after_needs_the_attribution_to_open_the_segment() {
        assert_eq!(
            after("Peskov stated that “Russia is open”, a statement seen as a softening, analysts said."),
            None
        );
        assert_eq!(after("“We are ready,” and the talks went on, officials said."), None);
    }

    #[test]
    fn verb_before_the_quote_and_colon_introductions() {
        assert_eq!(
            before("Peskov stated that “Russia is always open to peace negotiations”."),
            Some(("Peskov".into(), Rule::VerbBefore))
        );
        assert_eq!(
            before("Russian President Vladimir Putin’s press secretary, Dmitry Peskov, stated that “Russia is open”."),
            Some(("Dmitry Peskov".into(), Rule::VerbBefore))
        );
        assert_eq!(
            before("Peskov told reporters on Monday: “We are ready.”"),
            Some(("Peskov".into(), Rule::ColonIntro))
        );
        assert_eq!(before("Песков заявил: «Мы готовы»."), Some(("Песков".into(), Rule::ColonIntro)));
        assert_eq!(before("Как заявил Песков, «мы готовы»."), Some(("Песков".into(), Rule::VerbBefore)));
        assert_eq!(
            before("Зеленський наголосив: «Ми готові»."),
            Some(("Зеленський".into(), Rule::ColonIntro))
        );
        assert_eq!(
            before("В МИД России добавили: «Мы готовы»."),
            Some(("МИД России".into(), Rule::ColonIntro))
        );
        assert_eq!(
            before("У Білому домі заявили: «Ми готові»."),
            Some(("Білому домі".into(), Rule::ColonIntro))
        );
        // The verb reports something else; the quote is a label in the writer's sentence.
        assert_eq!(
            before(
                "Peskov said talks were possible but called the plan “unrealistic and dangerous for all”."
            ),
            None
        );
    }

    #[test]
    fn a_colon_closes_an_introduction_whatever_stands_before_it() {
        for (text, speaker) in [
            (
                "White House press secretary Karoline Leavitt told the daily briefing: “We are ready.”",
                "White House press secretary Karoline Leavitt",
            ),
            ("The Kremlin said in a statement late on Thursday: “We are ready.”", "The Kremlin"),
            ("Сибіга відреагував у X: «Ми готові».", "Сибіга"),
        ] {
            assert_eq!(before(text), Some((speaker.into(), Rule::ColonIntro)), "{text}");
        }
        // Without a colon the quote must follow the verb closely.
        assert_eq!(before("Peskov said the talks on the plan had been called “a waste of time”."), None);
    }

    #[test]
    fn clauses_appositions_and_circumstances_between_speaker_and_verb() {
        for (text, speaker) in [
            ("Leavitt, speaking in Washington, said: “We are ready.”", "Leavitt"),
            ("Andriy Yermak, the head of Zelensky's office, wrote: “We are ready.”", "Andriy Yermak"),
            (
                "Держсекретар Марко Рубіо, який також був присутній на брифінгу, додав: «Ми готові».",
                "Держсекретар Марко Рубіо",
            ),
            ("Песков накануне заявил журналистам: «Мы готовы».", "Песков"),
            ("Лавров на это ответил: «Мы готовы».", "Лавров"),
            ("Ursula von der Leyen in an interview said: “We are ready.”", "Ursula von der Leyen"),
            ("Отвечая на вопрос, фон дер Ляйен сказала: «Мы готовы».", "фон дер Ляйен"),
            (
                "Один из членов делегации, пожелавший остаться неназванным, сказал: «Мы готовы».",
                "Один из членов делегации",
            ),
        ] {
            assert_eq!(before(text).map(|f| f.0), Some(speaker.into()), "{text}");
        }
    }

    #[test]
    fn speakers_after_the_verb_described_or_with_their_office() {
        assert_eq!(
            after("“We are ready,” said one diplomat, who asked not to be named.").as_deref(),
            Some("one diplomat")
        );
        assert_eq!(after("«Мы готовы», — сказал эксперт.").as_deref(), Some("эксперт"));
        assert_eq!(
            after("«Мы готовы», — заявил министр иностранных дел Украины Андрей Сибига.").as_deref(),
            Some("министр иностранных дел Украины Андрей Сибига")
        );
        assert_eq!(after("«Мы готовы», — говорится в заявлении Еврокомиссии.").as_deref(), None);
        let (chars, s) = sentence("«Мы готовы», — говорится в заявлении Еврокомиссии.");
        let found = according_to(right_of_first_quote(&s), true).unwrap();
        assert_eq!(speaker_text(&chars, &found), "Еврокомиссии");
    }

    #[test]
    fn a_verb_without_subject_takes_the_sentences_speaker() {
        let (chars, s) = sentence(
            "The Kremlin said the call had been “detailed and businesslike”, and added: “We are ready.”",
        );
        let positions = s.quote_positions();
        let segment = &s.tokens[positions[0] + 1..positions[1]];
        let found = subject_earlier(&s.tokens, segment).unwrap();
        assert_eq!((speaker_text(&chars, &found).as_str(), found.rule), ("The Kremlin", Rule::SameSentence));
        let (_, s) = sentence("Talks went on, and then: “We are ready.”");
        assert_eq!(subject_earlier(&s.tokens, left_of_first_quote(&s)), None);
    }

    #[test]
    fn apposition_offers_the_wider_phrase_as_an_alternative() {
        let (chars, s) = sentence("Putin’s press secretary, Dmitry Peskov, said that “talks are possible”.");
        let found = verb_before(left_of_first_quote(&s)).unwrap();
        let wider: String = chars[found.alternatives[0].span.clone()].iter().collect();
        assert_eq!(wider, "Putin’s press secretary");
    }

    #[test]
    fn a_name_and_a_colon() {
        let (chars, s) = sentence("Peskov: «Мы готовы».");
        let found = named_colon(left_of_first_quote(&s)).unwrap();
        assert_eq!(speaker_text(&chars, &found), "Peskov");
        let (_, s) = sentence("The talks went on for a long time: «Мы готовы».");
        assert_eq!(named_colon(left_of_first_quote(&s)), None);
    }

    #[test]
    fn according_to_in_each_language_and_with_pronouns() {
        for (text, speaker) in [
            ("According to Peskov, “talks are possible”.", "Peskov"),
            ("По словам Пескова, «переговоры возможны».", "Пескова"),
            ("За словами Зеленського, «переговори можливі».", "Зеленського"),
        ] {
            let (chars, s) = sentence(text);
            let found = according_to(left_of_first_quote(&s), false).unwrap();
            assert_eq!(speaker_text(&chars, &found), speaker, "{text}");
        }
        for (text, speaker) in [
            ("«Переговоры возможны», — по его словам.", "его"),
            ("«Переговори можливі», — за його словами.", "його"),
            ("“Talks are possible,” according to Peskov.", "Peskov"),
        ] {
            let (chars, s) = sentence(text);
            let found = according_to(right_of_first_quote(&s), true).unwrap();
            assert_eq!(speaker_text(&chars, &found), speaker, "{text}");
            assert_eq!(found.speaker.pronoun, speaker != "Peskov");
        }
    }

    #[test]
    fn speech_clauses_without_quotes() {
        let (chars, s) = sentence("Peskov spoke to reporters on Monday.");
        assert_eq!(speaker_text(&chars, &speech_clause(&s.tokens).unwrap()), "Peskov");
        let (_, s) = sentence("The talks were held on Monday.");
        assert_eq!(speech_clause(&s.tokens), None);
    }

    #[test]
    fn verbs_show_the_speakers_gender() {
        let (_, s) = sentence("«Ми готові», — зазначила Захарова.");
        assert_eq!(verb_after(right_of_first_quote(&s)).unwrap().speaker.gender, Some(Gender::Female));
        let (_, s) = sentence("“We are ready,” Zakharova said.");
        assert_eq!(verb_after(right_of_first_quote(&s)).unwrap().speaker.gender, Some(Gender::Female));
        let (_, s) = sentence("“We are ready,” she said.");
        let found = verb_after(right_of_first_quote(&s)).unwrap();
        assert!(found.speaker.pronoun);
        assert_eq!(found.speaker.gender, Some(Gender::Female));
    }
}
