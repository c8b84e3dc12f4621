//! From news articles to attributed statements: direct quotes found in article text, each
//! attributed to a speaker and an actor, as a corpus `stance score` reads as it is.
//!
//! The stages follow the text: [`marks`] (quotation marks of every convention) → [`text`]
//! (sentences and tokens, quotes kept whole) → [`rules`] (one small rule per attribution
//! pattern) → [`article`] (kinds, neighbours, pronouns) → [`actors`] (speaker phrase → actor)
//! → this module (the statements table, syndication) → [`eval`] (precision and recall
//! against a gold set).
//!
//! The statements table has, in order: `id` (`<article id>:<char_start>-<char_end>`),
//! `actor`, `speaker`, `date` (the article's), `text` (the quote without its marks),
//! `kind` (`direct` | `partial`), `article_id`, `char_start`, `char_end` (code-point offsets
//! into the article text), `sentence`, `attribution` (the rule, or `none`), `quote_group`
//! (the id of the group's first quote), with `--dedup` `n_articles`, `first_seen`,
//! `last_seen`, then every other column of the articles table (`url`, `source`, `title`,
//! `lang`, …; one whose name the table already uses is prefixed `article_`).

pub mod actors;
pub mod article;
pub mod eval;
pub mod lexicon;
pub mod marks;
pub mod rules;
pub mod text;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

pub use actors::{Actors, ActorsError};
pub use article::{quotes, AliasTie, Attribution, Kind, Quote};

use crate::corpus::{self, ColumnRole, CorpusError, CorpusOptions, Location};
use crate::provenance::Provenance;

/// Partial quotes with fewer words than this are dropped: "win", "highly constructive".
pub const DEFAULT_MIN_WORDS: usize = 3;

/// Where the articles' columns are, and the date of a plain-text article.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleOptions {
    pub text_col: Option<String>,
    pub date_col: Option<String>,
    pub id_col: Option<String>,
    /// The publication date of a `.txt` article (ISO 8601).
    pub date: Option<String>,
}

/// Options that change which rows are written.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Partial quotes with fewer words are dropped.
    pub min_words: usize,
    /// One row per quote carried by several articles (see [`dedup`]).
    pub dedup: bool,
    /// Only direct quotes with an actor: the rows `stance trend` can place.
    pub attributed_only: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        Self { min_words: DEFAULT_MIN_WORDS, dedup: true, attributed_only: false }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    #[error(transparent)]
    Actors(#[from] ActorsError),
    #[error("{path}: a plain-text article needs its publication date: add --date YYYY-MM-DD")]
    TextWithoutDate { path: PathBuf },
    #[error("--date {value:?}: not an ISO 8601 date or datetime (e.g. 2025-08-14)")]
    BadDate { value: String },
    #[error("{path} holds no text")]
    EmptyArticle { path: PathBuf },
    #[error("{path}: no date column {column:?} (use --date-col NAME); the columns are {available}")]
    NoDateColumn { path: PathBuf, column: String, available: String },
    #[error("{path}: {at}, column {column:?}: the article has no date")]
    MissingDate { path: PathBuf, at: Location, column: String },
    #[error(
        "{path}: article {article:?}: speaker {speaker:?} of the quote {quote:?} contains aliases of \
         `{first}` and of `{second}` of the same length; make one alias longer or remove one"
    )]
    AliasTie { path: PathBuf, article: String, speaker: String, quote: String, first: String, second: String },
    #[error("{path}: the gold table has no {column:?} column (it needs article_id, actor, quote); the columns are {available}")]
    GoldColumn { path: PathBuf, column: String, available: String },
    #[error("cannot assemble the statements table")]
    Frame(#[source] PolarsError),
}

/// Articles in canonical columns: `id`, `text`, `date`, then the input's other columns.
#[derive(Debug, Clone)]
pub struct Articles {
    pub frame: DataFrame,
    /// Provenance the articles file carried.
    pub provenance: Provenance,
    /// SHA-256 of the bytes the articles were read from.
    pub sha256: String,
}

/// Reads an articles table (CSV, TSV, NDJSON, Parquet) or a single `.txt` article.
pub fn read_articles(path: &Path, options: &ArticleOptions) -> Result<Articles, ExtractError> {
    let is_text = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("txt"));
    if is_text {
        return read_text_article(path, options);
    }
    let corpus_options = CorpusOptions {
        text_col: options.text_col.clone(),
        actor_col: None,
        date_col: options.date_col.clone(),
        id_col: options.id_col.clone(),
        skip_invalid: false,
    };
    let corpus = corpus::read_corpus(path, &corpus_options)?;
    let frame = corpus.frame;
    let date_column = options.date_col.clone().unwrap_or_else(|| ColumnRole::Date.canonical().to_owned());
    let Ok(date) = frame.column("date") else {
        let available =
            frame.get_column_names().iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ");
        return Err(ExtractError::NoDateColumn { path: path.to_owned(), column: date_column, available });
    };
    if let Some(row) = date.as_materialized_series().is_null().iter().position(|null| null == Some(true)) {
        return Err(ExtractError::MissingDate {
            path: path.to_owned(),
            at: Location::Row { row: row + 1, line: None },
            column: date_column,
        });
    }
    Ok(Articles { frame, provenance: corpus.provenance, sha256: corpus.sha256 })
}

fn read_text_article(path: &Path, options: &ArticleOptions) -> Result<Articles, ExtractError> {
    let value =
        options.date.as_ref().ok_or_else(|| ExtractError::TextWithoutDate { path: path.to_owned() })?;
    let date = corpus::parse_iso8601(value).map_err(|_| ExtractError::BadDate { value: value.clone() })?;
    let bytes = std::fs::read(path).map_err(|source| CorpusError::Read { path: path.to_owned(), source })?;
    let sha256 = crate::provenance::sha256_bytes(&bytes);
    let text = String::from_utf8(bytes).map_err(|e| CorpusError::InvalidUtf8 {
        path: path.to_owned(),
        line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|&&b| b == b'\n').count(),
        byte: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .rev()
            .take_while(|&&b| b != b'\n')
            .count(),
        source: e.utf8_error(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).replace("\r\n", "\n");
    if text.trim().is_empty() {
        return Err(ExtractError::EmptyArticle { path: path.to_owned() });
    }
    let id = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let columns = vec![
        Column::new("id".into(), [id]),
        Column::new("text".into(), [text]),
        corpus::dates::date_series("date", &[Some(date)]).into_column(),
    ];
    let frame = DataFrame::new(1, columns).map_err(ExtractError::Frame)?;
    Ok(Articles { frame, provenance: Provenance::default(), sha256 })
}

/// What an extraction found, for the summary and the provenance.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub articles: usize,
    /// Quotes found, before dropping and merging.
    pub quotes: usize,
    pub direct: usize,
    pub partial: usize,
    /// Partial quotes under `min_words`, not written.
    pub dropped_partial: usize,
    /// Written quotes with an actor.
    pub with_actor: usize,
    /// Written quotes with a speaker phrase that matches no actor (or a pronoun without an
    /// antecedent).
    pub speaker_without_actor: usize,
    /// Written quotes without any speaker.
    pub without_speaker: usize,
    /// Partial or actorless quotes not written because of `attributed_only`.
    pub dropped_unattributed: usize,
    /// Rows merged into an earlier row by `dedup`.
    pub merged_duplicates: usize,
}

/// The statements table and its summary.
#[derive(Debug, Clone)]
pub struct Extraction {
    pub frame: DataFrame,
    pub summary: Summary,
}

/// One row of the statements table before it becomes columns.
struct Row {
    article: usize,
    quote: Quote,
    text: String,
    sentence: String,
}

/// Names the statements table uses itself; article columns with these names get `article_`.
const OWN_COLUMNS: &[&str] = &[
    "id",
    "actor",
    "speaker",
    "date",
    "text",
    "kind",
    "article_id",
    "char_start",
    "char_end",
    "sentence",
    "attribution",
    "quote_group",
    "n_articles",
    "first_seen",
    "last_seen",
];

/// Finds, attributes and tabulates the quotes of every article (`path` is for messages).
pub fn extract(
    articles: &Articles,
    path: &Path,
    actors: Option<&Actors>,
    options: &ExtractOptions,
) -> Result<Extraction, ExtractError> {
    let frame = &articles.frame;
    let frame_error = ExtractError::Frame;
    let ids = frame.column("id").and_then(|c| c.str().cloned()).map_err(frame_error)?;
    let texts = frame.column("text").and_then(|c| c.str().cloned()).map_err(frame_error)?;
    let mut summary = Summary { articles: frame.height(), ..Summary::default() };
    let mut rows: Vec<Row> = Vec::new();
    for (index, (id, text)) in ids.iter().zip(texts.iter()).enumerate() {
        let (id, text) = (id.unwrap_or_default(), text.unwrap_or_default());
        let found = quotes(text, actors).map_err(|tie| ExtractError::AliasTie {
            path: path.to_owned(),
            article: id.to_owned(),
            speaker: tie.speaker,
            quote: tie.quote,
            first: tie.first,
            second: tie.second,
        })?;
        let chars: Vec<char> = text.chars().collect();
        for quote in found {
            summary.quotes += 1;
            match quote.kind {
                Kind::Direct => summary.direct += 1,
                Kind::Partial => summary.partial += 1,
            }
            if quote.kind == Kind::Partial && quote.words < options.min_words {
                summary.dropped_partial += 1;
                continue;
            }
            let has_actor = quote.attribution.as_ref().is_some_and(|a| a.actor.is_some());
            if options.attributed_only && (quote.kind == Kind::Partial || !has_actor) {
                summary.dropped_unattributed += 1;
                continue;
            }
            let text = chars[quote.span.clone()].iter().collect();
            let sentence = chars[quote.sentence.clone()].iter().collect();
            rows.push(Row { article: index, quote, text, sentence });
        }
    }
    let kept: Vec<KeptRow> = if options.dedup {
        let dates = physical_dates(frame).map_err(frame_error)?;
        dedup(&rows, &dates, ids.iter().map(Option::unwrap_or_default).collect::<Vec<_>>().as_slice())
    } else {
        (0..rows.len()).map(|row| KeptRow { row, first: row, last: row, articles: 1 }).collect()
    };
    summary.merged_duplicates = rows.len() - kept.len();
    for kept_row in &kept {
        match &rows[kept_row.row].quote.attribution {
            Some(Attribution { actor: Some(_), .. }) => summary.with_actor += 1,
            Some(_) => summary.speaker_without_actor += 1,
            None => summary.without_speaker += 1,
        }
    }
    let frame = statements_frame(frame, &ids, &rows, &kept, options.dedup).map_err(frame_error)?;
    Ok(Extraction { frame, summary })
}

/// A row that survives [`dedup`], with the rows it stands for.
struct KeptRow {
    row: usize,
    /// The row with the earliest and the latest date among those merged into it.
    first: usize,
    last: usize,
    articles: usize,
}

/// The article dates as integers (days or microseconds), to order articles in time.
fn physical_dates(frame: &DataFrame) -> PolarsResult<Vec<Option<i64>>> {
    let date = frame.column("date")?.to_physical_repr().cast(&DataType::Int64)?;
    Ok(date.i64()?.iter().collect())
}

/// The text two syndicated copies of a quote share: folded words (see
/// [`lexicon::fold`]) joined by single spaces, so case, punctuation, quotation marks,
/// apostrophes and line breaks do not count.
pub fn normalized_text(text: &str) -> String {
    let folded = lexicon::fold(text);
    folded
        .split(|c: char| !(c.is_alphanumeric() || lexicon::is_combining(c)))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Syndication: rows with the same [`normalized_text`] and the same actor (or, without an
/// actor, the same speaker phrase, folded) are one statement. The row of the earliest article
/// (by date, then input order) is kept; `n_articles` counts the distinct articles.
fn dedup(rows: &[Row], dates: &[Option<i64>], article_ids: &[&str]) -> Vec<KeptRow> {
    let mut groups: HashMap<(String, String), Vec<usize>> = HashMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let who = match &row.quote.attribution {
            Some(Attribution { actor: Some(actor), .. }) => format!("actor:{actor}"),
            Some(a) => format!("speaker:{}", lexicon::fold(&a.speaker)),
            None => String::new(),
        };
        let key = (normalized_text(&row.text), who);
        groups
            .entry(key.clone())
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push(i);
    }
    let date_of = |row: usize| dates[rows[row].article];
    let mut kept: Vec<KeptRow> = order
        .iter()
        .map(|key| {
            let members = &groups[key];
            // None (no date) sorts last, which `read_articles` never lets through anyway.
            let when = |row: &&usize| (date_of(**row).is_none(), date_of(**row), rows[**row].article, **row);
            let first = *members.iter().min_by_key(when).unwrap_or(&members[0]);
            let last =
                *members.iter().max_by_key(|&&row| (date_of(row), rows[row].article)).unwrap_or(&members[0]);
            let mut articles: Vec<&str> = members.iter().map(|&row| article_ids[rows[row].article]).collect();
            articles.sort_unstable();
            articles.dedup();
            KeptRow { row: first, first, last, articles: articles.len() }
        })
        .collect();
    kept.sort_by_key(|k| (rows[k.row].article, k.row));
    kept
}

fn statements_frame(
    articles: &DataFrame,
    article_ids: &StringChunked,
    rows: &[Row],
    kept: &[KeptRow],
    with_syndication: bool,
) -> PolarsResult<DataFrame> {
    let height = kept.len();
    let row = |k: &KeptRow| &rows[k.row];
    let article_id = |k: &KeptRow| article_ids.get(row(k).article).unwrap_or_default();
    let quote_id =
        |article: &str, quote: &Quote| format!("{article}:{}-{}", quote.span.start, quote.span.end);
    let ids: Vec<String> = kept.iter().map(|k| quote_id(article_id(k), &row(k).quote)).collect();
    let groups: Vec<String> = kept
        .iter()
        .map(|k| {
            let r = row(k);
            // The group's first quote is in the same article; find its offsets among the rows.
            let first = rows
                .iter()
                .find(|o| o.article == r.article && o.quote.group == r.quote.group)
                .map_or(&r.quote, |o| &o.quote);
            quote_id(article_id(k), first)
        })
        .collect();
    let attribution = |k: &KeptRow| row(k).quote.attribution.as_ref();
    let gather = |indices: Vec<IdxSize>| IdxCa::from_vec("rows".into(), indices);
    let article_rows = gather(kept.iter().map(|k| row(k).article as IdxSize).collect());
    let dates = articles.column("date")?.take(&article_rows)?;

    let mut columns = vec![
        Column::new("id".into(), ids),
        Column::new(
            "actor".into(),
            kept.iter().map(|k| attribution(k).and_then(|a| a.actor.clone())).collect::<Vec<_>>(),
        ),
        Column::new(
            "speaker".into(),
            kept.iter().map(|k| attribution(k).map(|a| a.speaker.clone())).collect::<Vec<_>>(),
        ),
        dates.with_name("date".into()),
        Column::new("text".into(), kept.iter().map(|k| row(k).text.as_str()).collect::<Vec<_>>()),
        Column::new("kind".into(), kept.iter().map(|k| row(k).quote.kind.as_str()).collect::<Vec<_>>()),
        Column::new("article_id".into(), kept.iter().map(article_id).collect::<Vec<_>>()),
        Column::new(
            "char_start".into(),
            kept.iter().map(|k| row(k).quote.span.start as i64).collect::<Vec<_>>(),
        ),
        Column::new("char_end".into(), kept.iter().map(|k| row(k).quote.span.end as i64).collect::<Vec<_>>()),
        Column::new("sentence".into(), kept.iter().map(|k| row(k).sentence.as_str()).collect::<Vec<_>>()),
        Column::new(
            "attribution".into(),
            kept.iter()
                .map(|k| attribution(k).map_or("none".to_owned(), Attribution::label))
                .collect::<Vec<_>>(),
        ),
        Column::new("quote_group".into(), groups),
    ];
    if with_syndication {
        let date = articles.column("date")?;
        let first = gather(kept.iter().map(|k| rows[k.first].article as IdxSize).collect());
        let last = gather(kept.iter().map(|k| rows[k.last].article as IdxSize).collect());
        columns.push(Column::new(
            "n_articles".into(),
            kept.iter().map(|k| k.articles as i64).collect::<Vec<_>>(),
        ));
        columns.push(date.take(&first)?.with_name("first_seen".into()));
        columns.push(date.take(&last)?.with_name("last_seen".into()));
    }
    for column in articles.columns() {
        let name = column.name().as_str();
        if matches!(name, "id" | "text" | "date") {
            continue;
        }
        let out_name = if OWN_COLUMNS.contains(&name) { format!("article_{name}") } else { name.to_owned() };
        columns.push(column.take(&article_rows)?.with_name(out_name.into()));
    }
    DataFrame::new(height, columns)
}

/// Provenance of a statements table: inputs with their hashes, options and the summary.
pub fn provenance(
    command_line: &[String],
    articles_path: &Path,
    articles: &Articles,
    actors: Option<(&Path, &Actors)>,
    options: &ExtractOptions,
    summary: &Summary,
) -> Provenance {
    let mut provenance = Provenance::for_command(command_line);
    provenance.record_input("articles", articles_path, &articles.sha256);
    provenance.set("input.articles.rows", articles.frame.height());
    if let Some((path, actors)) = actors {
        provenance.record_input("actors", path, actors.sha256());
    }
    provenance.set_json("extract_options", options);
    provenance.set_json("extract_summary", summary);
    provenance.inherit(&articles.provenance);
    provenance
}
