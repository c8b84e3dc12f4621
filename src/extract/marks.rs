//! Finding quoted text: pairs of quotation marks of every common convention, with nesting.
//!
//! The scanner walks the article once, keeping a stack of open marks. A closing mark closes
//! the innermost open quote that accepts it; marks opened above that one and never closed
//! (an apostrophe taken for an opening `'`) are dropped. Only outermost quotes are returned:
//! a quote inside a quote stays part of the outer one's text. Quotes do not cross paragraph
//! breaks, with the one convention of print: a paragraph that ends inside a quote and is
//! followed by a paragraph opening with the same mark continues the quote, and each
//! paragraph's part is returned (marked `continues`).
//!
//! Offsets are indices into the article's `char`s (Unicode code points).

/// One outermost quote: `chars[start..end]` is its text without the marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuoteSpan {
    /// The opening mark.
    pub open: usize,
    pub start: usize,
    pub end: usize,
    /// One past the closing mark, or `end` where the quote runs on into the next paragraph.
    pub close: usize,
    /// The quote goes on in the next span: in the next paragraph (no closing mark here), or
    /// after an attribution set inside its marks (`«Мы готовы, — сказал он, — но …»`).
    pub continues: bool,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    mark: char,
    at: usize,
}

/// The marks that close a quote opened by `open`.
fn closers(open: char) -> &'static [char] {
    match open {
        '“' => &['”'],
        '„' => &['“', '”'],
        '«' => &['»'],
        '‹' => &['›'],
        '‘' => &['’'],
        '‚' => &['‘', '’'],
        '"' => &['"'],
        '\'' => &['\''],
        '「' => &['」'],
        '『' => &['』'],
        _ => &[],
    }
}

fn is_opener(c: char) -> bool {
    matches!(c, '“' | '„' | '«' | '‹' | '‘' | '‚' | '「' | '『')
}

fn is_word_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || super::lexicon::is_combining(c))
}

/// Whether the mark at `i` may close a quote opened with `open`. Apostrophes share their
/// glyph with single quotes: `’`/`'` between two letters (Ukraine’s, don't) close nothing.
fn can_close(open: char, chars: &[char], i: usize) -> bool {
    let c = chars[i];
    if !closers(open).contains(&c) {
        return false;
    }
    let prev = i.checked_sub(1).map(|p| chars[p]);
    let next = chars.get(i + 1).copied();
    match c {
        '’' | '\'' => !is_word_char(next) && prev.is_some_and(|p| !p.is_whitespace()),
        '"' => prev.is_some_and(|p| !p.is_whitespace()) || !is_word_char(next),
        _ => true,
    }
}

/// Whether the mark at `i` may open a quote: typographic openers always do, except `‘`
/// after a letter; straight marks only after a space, a bracket or punctuation and before
/// the quoted text begins.
fn can_open(chars: &[char], i: usize) -> bool {
    let c = chars[i];
    let prev = i.checked_sub(1).map(|p| chars[p]);
    let next = chars.get(i + 1).copied();
    match c {
        '"' | '\'' | '‘' => !is_word_char(prev) && next.is_some_and(|n| !n.is_whitespace()),
        // French and some Ukrainian typesetting put a space inside « » and ‹ ›.
        c => is_opener(c),
    }
}

/// The paragraph after the break at `newline` opens with `mark`.
fn next_paragraph_opens_with(chars: &[char], newline: usize, mark: char) -> bool {
    chars[newline..].iter().find(|c| !c.is_whitespace()) == Some(&mark)
}

/// Every outermost quote of `chars`, in order.
pub fn find_quotes(chars: &[char]) -> Vec<QuoteSpan> {
    let mut quotes = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '\n' {
            if let Some(outer) = stack.first() {
                if next_paragraph_opens_with(chars, i, outer.mark) && has_text(&chars[outer.at + 1..i]) {
                    let (start, end) = trim(chars, outer.at + 1, i);
                    quotes.push(QuoteSpan { open: outer.at, start, end, close: end, continues: true });
                }
            }
            stack.clear();
            continue;
        }
        if let Some(depth) = stack.iter().rposition(|open| can_close(open.mark, chars, i)) {
            let open = stack[depth];
            stack.truncate(depth);
            if depth == 0 && has_text(&chars[open.at + 1..i]) {
                let (start, end) = trim(chars, open.at + 1, i);
                quotes.push(QuoteSpan { open: open.at, start, end, close: i + 1, continues: false });
            }
            continue;
        }
        if can_open(chars, i) {
            stack.push(Open { mark: c, at: i });
        }
    }
    quotes
}

/// Russian and Ukrainian print set the attribution inside the marks, between dashes:
/// `«Мы готовы, — сказал Песков, — но не на любых условиях»`, `«… відкриті. — заявив він. —
/// Але …»`. Each such quote is cut into its two parts, the first marked `continues`, so that
/// the words between them are read as the attribution they are.
pub fn split_inner_attributions(chars: &[char], quotes: Vec<QuoteSpan>) -> Vec<QuoteSpan> {
    let mut out = Vec::with_capacity(quotes.len());
    for quote in quotes {
        let mut rest = quote;
        while let Some((first_end, second_start)) = inner_attribution(chars, rest.start, rest.end) {
            out.push(QuoteSpan { end: first_end, close: first_end, continues: true, ..rest });
            rest = QuoteSpan { open: second_start, start: second_start, ..rest };
        }
        out.push(rest);
    }
    out
}

/// Longest attribution set between dashes inside a quote, in characters.
const MAX_INNER_ATTRIBUTION: usize = 120;

/// Where the first part of `chars[start..end]` ends and the second starts, around an
/// attribution between dashes whose first words hold a speech verb.
fn inner_attribution(chars: &[char], start: usize, end: usize) -> Option<(usize, usize)> {
    let after_dash = |p: usize| -> Option<usize> {
        let mut i = p + 1;
        let spaces = |i: &mut usize| {
            let before = *i;
            while *i < end && chars[*i].is_whitespace() && chars[*i] != '\n' {
                *i += 1;
            }
            *i > before
        };
        (spaces(&mut i) && i < end && matches!(chars[i], '—' | '–' | '-')).then_some(())?;
        i += 1;
        spaces(&mut i).then_some(i)
    };
    (start..end).find_map(|p| {
        if !matches!(chars[p], ',' | '.' | '!' | '?' | '…') {
            return None;
        }
        let clause = after_dash(p)?;
        let words: Vec<String> = chars[clause..end.min(clause + 40)]
            .split(|c| !(c.is_alphanumeric() || matches!(c, '-' | '\'' | '’' | 'ʼ')))
            .filter(|w| !w.is_empty())
            .take(3)
            .map(|w| super::lexicon::fold(&w.iter().collect::<String>()))
            .collect();
        if !words.iter().any(|w| super::lexicon::is_speech_verb(w)) {
            return None;
        }
        let limit = end.min(clause + MAX_INNER_ATTRIBUTION);
        let close = (clause..limit).find(|&q| matches!(chars[q], ',' | '.') && after_dash(q).is_some())?;
        let second = after_dash(close)?;
        (second < end && has_text(&chars[second..end])).then_some((p + 1, second))
    })
}

fn has_text(chars: &[char]) -> bool {
    chars.iter().any(|c| c.is_alphanumeric())
}

/// The quote's text without the spaces some typesetting puts inside the marks.
fn trim(chars: &[char], mut start: usize, mut end: usize) -> (usize, usize) {
    while start < end && chars[start].is_whitespace() {
        start += 1;
    }
    while end > start && chars[end - 1].is_whitespace() {
        end -= 1;
    }
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotes(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        find_quotes(&chars).iter().map(|q| chars[q.start..q.end].iter().collect()).collect()
    }

    #[test]
    fn every_convention_pairs_its_marks() {
        assert_eq!(quotes("He said “we are ready” today."), ["we are ready"]);
        assert_eq!(quotes("He said \"we are ready\" today."), ["we are ready"]);
        assert_eq!(quotes("Песков: «Мы готовы»."), ["Мы готовы"]);
        assert_eq!(quotes("Він сказав: „Ми готові“."), ["Ми готові"]);
        assert_eq!(quotes("Er sagte: ‚Wir sind bereit‘."), ["Wir sind bereit"]);
        assert_eq!(quotes("Il a dit ‹ nous sommes prêts ›."), ["nous sommes prêts"]);
        assert_eq!(quotes("Il a dit ‹nous sommes prêts›."), ["nous sommes prêts"]);
        assert_eq!(quotes("She said ‘we are ready’."), ["we are ready"]);
        assert_eq!(quotes("She said 'we are ready'."), ["we are ready"]);
    }

    #[test]
    fn apostrophes_are_not_quotes() {
        assert_eq!(
            quotes("The Kremlin's view: 'We don't accept Kyiv's terms,' he said."),
            ["We don't accept Kyiv's terms,"]
        );
        assert_eq!(quotes("Ukraine’s ‘position hasn’t changed’, she said."), ["position hasn’t changed"]);
        assert!(quotes("In the '90s the talks failed. O'Brien's team didn't comment.").is_empty());
        // An apostrophe taken for an opening mark does not swallow the real quote around it.
        assert_eq!(quotes("“Since the '90s we have talked,” he said."), ["Since the '90s we have talked,"]);
    }

    fn split(text: &str) -> Vec<(String, bool)> {
        let chars: Vec<char> = text.chars().collect();
        split_inner_attributions(&chars, find_quotes(&chars))
            .iter()
            .map(|q| (chars[q.start..q.end].iter().collect(), q.continues))
            .collect()
    }

    #[test]
    fn an_attribution_inside_the_marks_cuts_the_quote_in_two() {
        assert_eq!(
            split("«Мы готовы, — сказал Песков, — но не на любых условиях»."),
            [("Мы готовы,".into(), true), ("но не на любых условиях".into(), false)]
        );
        assert_eq!(
            split("«Ми відкриті до діалогу. — заявив він. — Але не до ультиматумів»."),
            [("Ми відкриті до діалогу.".into(), true), ("Але не до ультиматумів".into(), false)]
        );
        // A dash inside the quote's own words is no attribution.
        assert_eq!(
            split("«Удар по об'єкту — це злочин, — і ми це доведемо»."),
            [("Удар по об'єкту — це злочин, — і ми це доведемо".into(), false)]
        );
    }

    #[test]
    fn nested_quotes_stay_inside_the_outer_one() {
        assert_eq!(quotes("«Он сказал „нет“ дважды», — заявил Песков."), ["Он сказал „нет“ дважды"]);
        assert_eq!(quotes("“They call it ‘peace’,” he said."), ["They call it ‘peace’,"]);
        assert_eq!(quotes("\"They said 'no' twice,\" he said."), ["They said 'no' twice,"]);
        assert_eq!(
            quotes("“Nobody believes the \"plan\" any more,” he said."),
            ["Nobody believes the \"plan\" any more,"]
        );
    }

    #[test]
    fn quotes_span_sentences_but_not_paragraphs() {
        assert_eq!(quotes("“We are ready. We always were.” He paused."), ["We are ready. We always were."]);
        assert!(quotes("“Unclosed at the end of the paragraph\nNext paragraph.” Text.").is_empty());
    }

    #[test]
    fn a_quote_running_on_into_the_next_paragraph_gives_each_part() {
        let text = "“We are ready.\n“But not at any price,” he said.";
        let chars: Vec<char> = text.chars().collect();
        let found = find_quotes(&chars);
        assert_eq!(found.len(), 2);
        assert!(found[0].continues);
        assert!(!found[1].continues);
        assert_eq!(quotes(text), ["We are ready.", "But not at any price,"]);
    }

    #[test]
    fn offsets_are_code_points() {
        let text = "🇺🇦 Zelensky: «Слава Україні 🙏».";
        let chars: Vec<char> = text.chars().collect();
        let found = find_quotes(&chars);
        assert_eq!(found[0].start, chars.iter().position(|&c| c == '«').unwrap() + 1);
        assert_eq!(quotes(text), ["Слава Україні 🙏"]);
    }

    #[test]
    fn empty_and_markless_quotes_are_skipped() {
        assert!(quotes("He said “” and “ … ”.").is_empty());
        assert!(quotes("A 12\" screen and a 5' board.").is_empty());
    }
}
