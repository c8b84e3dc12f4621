//! An article cut into paragraphs, sentences and tokens, with each quote one token.
//!
//! Sentences end at `.`, `!`, `?` or `…` followed by a space and a capital, a digit, a dash
//! or an opening mark, except after a known abbreviation or a single initial ("D. Peskov",
//! "U.S."), and at every line break (a line is a paragraph). A quote is never cut: a quote
//! of several sentences sits in one sentence, which ends after the quote when the quote ends
//! a sentence itself (`"We are ready." Peskov said …`).

use std::ops::Range;

use super::lexicon::{fold, is_combining};
use super::marks::QuoteSpan;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    Word,
    Punct(char),
    /// The quote at this index of the article's quotes, marks included.
    Quote(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// Code-point offsets into the article.
    pub span: Range<usize>,
    /// The word folded for lookups ([`fold`]); empty for punctuation and quotes.
    pub folded: String,
    /// The word starts with a capital letter.
    pub capitalized: bool,
}

impl Token {
    pub fn is_word(&self) -> bool {
        self.kind == TokenKind::Word
    }

    pub fn is_punct(&self, c: char) -> bool {
        self.kind == TokenKind::Punct(c)
    }

    pub fn quote(&self) -> Option<usize> {
        match self.kind {
            TokenKind::Quote(i) => Some(i),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Sentence {
    pub span: Range<usize>,
    pub paragraph: usize,
    pub tokens: Vec<Token>,
}

impl Sentence {
    /// Indices (into `tokens`) of the quote tokens.
    pub fn quote_positions(&self) -> Vec<usize> {
        self.tokens.iter().enumerate().filter(|(_, t)| t.quote().is_some()).map(|(i, _)| i).collect()
    }
}

const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "gen", "sen", "rep", "gov", "lt", "col", "st", "jr", "sr", "prof", "no", "vs",
    "etc", "inc", "ltd", "co", "corp", "maj", "capt", "sgt", "adm", "amb", "pres", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "т", "е", "г", "гг", "им", "ул", "д",
    "п", "тыс", "млн", "млрд", "руб", "грн", "см", "стр", "тис",
];

/// Cuts `chars` into sentences (see the module documentation).
pub fn sentences(chars: &[char], quotes: &[QuoteSpan]) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut paragraph = 0;
    let mut start = 0;
    let mut i = 0;
    let mut next_quote = 0;
    let push = |out: &mut Vec<Sentence>, start: usize, end: usize, paragraph: usize| {
        let tokens = tokenize(chars, start..end, quotes);
        if !tokens.is_empty() {
            let first = tokens[0].span.start;
            let last = tokens[tokens.len() - 1].span.end;
            out.push(Sentence { span: first..last, paragraph, tokens });
        }
    };
    while i < chars.len() {
        if next_quote < quotes.len() && i == quotes[next_quote].open {
            let quote = quotes[next_quote];
            next_quote += 1;
            i = quote.close.max(i + 1);
            let last = chars[quote.start..quote.end].iter().rev().find(|c| !is_mark_or_bracket(**c));
            // A part cut before an attribution inside its marks (`«… диалогу. — заявил
            // Песков. — Но …»`) keeps its attribution in its sentence.
            if !quote.continues && last.is_some_and(|c| is_terminal(*c)) && starts_sentence(chars, i) {
                push(&mut out, start, i, paragraph);
                start = i;
            }
            continue;
        }
        let c = chars[i];
        if c == '\n' {
            push(&mut out, start, i, paragraph);
            if chars[start..i].iter().any(|c| !c.is_whitespace()) {
                paragraph += 1;
            }
            start = i + 1;
        } else if is_terminal(c) && !(c == '.' && after_abbreviation(chars, start, i)) {
            let mut end = i + 1;
            while end < chars.len() && is_closing(chars[end]) && !quotes.iter().any(|q| q.open == end) {
                end += 1;
            }
            if starts_sentence(chars, end) {
                push(&mut out, start, end, paragraph);
                start = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    push(&mut out, start, chars.len(), paragraph);
    out
}

fn is_terminal(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

fn is_mark_or_bracket(c: char) -> bool {
    matches!(c, ')' | ']' | '"' | '\'' | '”' | '’' | '»' | '›' | '“' | '‘')
}

fn is_closing(c: char) -> bool {
    matches!(c, ')' | ']' | '"' | '\'' | '”' | '’' | '»' | '›' | '“' | '‘' | '.' | '!' | '?' | '…')
}

/// After `at`: whitespace (not a line break: that ends the sentence anyway), then a capital,
/// a digit, a dash or an opening mark.
fn starts_sentence(chars: &[char], at: usize) -> bool {
    let mut j = at;
    let mut spaced = false;
    while j < chars.len() && chars[j].is_whitespace() && chars[j] != '\n' {
        spaced = true;
        j += 1;
    }
    if j >= chars.len() || chars[j] == '\n' {
        return true;
    }
    spaced
        && (chars[j].is_uppercase()
            || chars[j].is_ascii_digit()
            || matches!(chars[j], '—' | '–' | '"' | '\'' | '“' | '„' | '«' | '‹' | '‘' | '‚' | '('))
}

/// The `.` at `dot` ends an abbreviation or an initial, not a sentence.
fn after_abbreviation(chars: &[char], start: usize, dot: usize) -> bool {
    let mut j = dot;
    while j > start && (chars[j - 1].is_alphabetic() || is_combining(chars[j - 1])) {
        j -= 1;
    }
    let word: String = chars[j..dot].iter().collect();
    let single_capital = word.chars().count() == 1 && word.chars().all(char::is_uppercase);
    single_capital || ABBREVIATIONS.contains(&fold(&word).as_str())
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining(c)
}

/// Hyphens and apostrophes join the letters on either side: "пресс-секретарь", "Kremlin's".
fn joins_words(c: char) -> bool {
    matches!(c, '-' | '\'' | '’' | 'ʼ' | '‐')
}

fn tokenize(chars: &[char], range: Range<usize>, quotes: &[QuoteSpan]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = range.start;
    while i < range.end {
        if let Some(q) = quotes.iter().position(|q| q.open == i) {
            let end = quotes[q].close.max(i + 1).min(range.end);
            tokens.push(Token {
                kind: TokenKind::Quote(q),
                span: i..end,
                folded: String::new(),
                capitalized: false,
            });
            i = end;
            continue;
        }
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if is_word_char(c) {
            let start = i;
            while i < range.end
                && (is_word_char(chars[i])
                    || (joins_words(chars[i])
                        && i + 1 < range.end
                        && is_word_char(chars[i + 1])
                        && i > start))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push(Token {
                kind: TokenKind::Word,
                span: start..i,
                folded: fold(&word),
                capitalized: c.is_uppercase(),
            });
        } else {
            tokens.push(Token {
                kind: TokenKind::Punct(c),
                span: i..i + 1,
                folded: String::new(),
                capitalized: false,
            });
            i += 1;
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::super::marks::find_quotes;
    use super::*;

    fn split(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let quotes = find_quotes(&chars);
        sentences(&chars, &quotes).iter().map(|s| chars[s.span.clone()].iter().collect()).collect()
    }

    #[test]
    fn sentences_end_at_terminal_punctuation_before_a_capital() {
        assert_eq!(
            split("Talks failed. Peskov said so. and more"),
            ["Talks failed.", "Peskov said so. and more"]
        );
    }

    #[test]
    fn abbreviations_and_initials_do_not_end_sentences() {
        assert_eq!(
            split("Mr. Peskov met U.S. envoys. D. Peskov left."),
            ["Mr. Peskov met U.S. envoys.", "D. Peskov left."]
        );
    }

    #[test]
    fn quotes_are_never_cut_and_may_end_a_sentence() {
        assert_eq!(
            split("“We are ready. We always were,” he said. “Talks now.” Peskov left."),
            ["“We are ready. We always were,” he said.", "“Talks now.”", "Peskov left."]
        );
        assert_eq!(
            split("«Мы готовы», — заявил Песков. Он ушёл."),
            ["«Мы готовы», — заявил Песков.", "Он ушёл."]
        );
    }

    #[test]
    fn lines_are_paragraphs() {
        let chars: Vec<char> = "One. Two\n\nThree".chars().collect();
        let found = sentences(&chars, &[]);
        assert_eq!(found.iter().map(|s| s.paragraph).collect::<Vec<_>>(), [0, 0, 1]);
    }

    #[test]
    fn words_keep_hyphens_apostrophes_and_combining_marks() {
        let chars: Vec<char> = "пресс-секретарь Kremlin’s Zelenske\u{301} — «x»".chars().collect();
        let quotes = find_quotes(&chars);
        let tokens = &sentences(&chars, &quotes)[0].tokens;
        let folded: Vec<&str> = tokens.iter().map(|t| t.folded.as_str()).collect();
        assert_eq!(folded, ["пресс-секретарь", "kremlin's", "zelenske", "", ""]);
        assert_eq!(tokens[4].kind, TokenKind::Quote(0));
    }
}
