//! `stance extract` and `stance eval-extract`: arguments and the glue to [`stance::extract`].

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use stance::extract::{self, eval, Actors, ArticleOptions, ExtractOptions};
use stance::output::{probe_writable, write_table};
use stance::progress::Reporter;

use crate::progress_bar::Bars;

/// Where the articles and their columns are.
#[derive(Debug, Args)]
pub struct ArticleArgs {
    /// Articles: a table (.csv, .tsv, .jsonl/.ndjson, .parquet) with `text` and `date`
    /// (optional `id`, `url`, `source`, `title`, `lang`, …), or one article as a .txt file.
    articles: PathBuf,
    /// Actors file (TOML: [[actor]] name, aliases); without it `actor` is the speaker phrase.
    #[arg(long, value_name = "FILE")]
    actors: Option<PathBuf>,
    /// Column holding the article body.
    #[arg(long, value_name = "NAME")]
    text_col: Option<String>,
    /// Column holding the publication date.
    #[arg(long, value_name = "NAME")]
    date_col: Option<String>,
    /// Column holding the article id.
    #[arg(long, value_name = "NAME")]
    id_col: Option<String>,
    /// Publication date of a .txt article (ISO 8601, e.g. 2025-08-07).
    #[arg(long, value_name = "DATE")]
    date: Option<String>,
    /// Drop partial quotes (scare quotes, titles) of fewer words; direct quotes are always kept.
    #[arg(long, value_name = "N", default_value_t = extract::DEFAULT_MIN_WORDS)]
    min_words: usize,
}

impl ArticleArgs {
    fn options(&self) -> ArticleOptions {
        ArticleOptions {
            text_col: self.text_col.clone(),
            date_col: self.date_col.clone(),
            id_col: self.id_col.clone(),
            date: self.date.clone(),
        }
    }

    fn read(
        &self,
        dedup: bool,
        attributed_only: bool,
    ) -> Result<(extract::Articles, Option<Actors>, extract::Extraction, ExtractOptions)> {
        let actors = self
            .actors
            .as_deref()
            .map(Actors::from_toml_file)
            .transpose()
            .map_err(|e| stance::Error::from(extract::ExtractError::from(e)))?;
        let articles =
            extract::read_articles(&self.articles, &self.options()).map_err(stance::Error::from)?;
        let options = ExtractOptions { min_words: self.min_words, dedup, attributed_only };
        let extraction = extract::extract(&articles, &self.articles, actors.as_ref(), &options)
            .map_err(stance::Error::from)?;
        Ok((articles, actors, extraction, options))
    }
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    #[command(flatten)]
    input: ArticleArgs,
    /// Keep every copy of a quote carried by several articles (default: one row per quote
    /// and actor, with n_articles, first_seen, last_seen).
    #[arg(long)]
    no_dedup: bool,
    /// Write only direct quotes attributed to an actor (what `stance trend` can place);
    /// by default partial quotes and quotes without an actor are kept, actor empty.
    #[arg(long)]
    attributed_only: bool,
    /// Statements table (.parquet, .csv, .tsv, .ndjson); without it the first rows print.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EvalExtractArgs {
    #[command(flatten)]
    input: ArticleArgs,
    /// Gold quotes: a table with article_id, actor, quote (one row per direct quote).
    #[arg(long, value_name = "FILE")]
    gold: PathBuf,
    /// Also list the gold quotes missed and the extracted quotes not in the gold.
    #[arg(long)]
    show_errors: bool,
}

pub fn extract(args: &ExtractArgs, command_line: &[String], reporter: &Bars) -> Result<()> {
    if let Some(out) = &args.out {
        probe_writable(out)?;
    }
    let (articles, actors, extraction, options) = args.input.read(!args.no_dedup, args.attributed_only)?;
    let summary = &extraction.summary;
    reporter.note(&format!(
        "articles: {}; quotes: {} ({} direct, {} partial); {} partial under --min-words {} dropped; \
         {} not attributed to an actor left out; {} merged as syndicated copies",
        summary.articles,
        summary.quotes,
        summary.direct,
        summary.partial,
        summary.dropped_partial,
        options.min_words,
        summary.dropped_unattributed,
        summary.merged_duplicates
    ));
    reporter.note(&format!(
        "{} rows: {} with an actor, {} with a speaker that is no actor, {} without a speaker",
        extraction.frame.height(),
        summary.with_actor,
        summary.speaker_without_actor,
        summary.without_speaker
    ));
    let mut frame = extraction.frame;
    match &args.out {
        Some(out) => {
            let actors = args.input.actors.as_deref().zip(actors.as_ref());
            let provenance =
                extract::provenance(command_line, &args.input.articles, &articles, actors, &options, summary);
            write_table(&mut frame, out, &provenance).map_err(stance::Error::from)?;
            reporter.note(&format!("wrote {}", out.display()));
        }
        None => {
            let preview = frame.select(["actor", "speaker", "date", "text", "kind", "attribution"])?;
            writeln!(std::io::stdout().lock(), "{}", preview.head(Some(20)))?;
        }
    }
    Ok(())
}

pub fn eval_extract(args: &EvalExtractArgs) -> Result<()> {
    let gold = eval::read_gold(&args.gold).map_err(stance::Error::from)?;
    // Every copy counts against the gold of its own article.
    let (_, _, extraction, _) = args.input.read(false, false)?;
    let (direct, partial) = eval::predicted(&extraction.frame)?;
    let scores = eval::score(&gold, &direct, &partial);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<42} {:>6} {:>9} {:>9} {:>7} {:>7} {:>7}",
        "measure", "gold", "extracted", "matched", "P", "R", "F1"
    )?;
    for (name, prf) in [
        ("attributed quotes (article, actor, quote)", scores.attributed),
        ("quote spans (article, quote)", scores.spans),
    ] {
        writeln!(
            out,
            "{:<42} {:>6} {:>9} {:>9} {:>7.3} {:>7.3} {:>7.3}",
            name, prf.gold, prf.predicted, prf.matched, prf.precision, prf.recall, prf.f1
        )?;
    }
    writeln!(out, "gold quotes extracted as partial: {}", scores.gold_as_partial)?;
    if args.show_errors {
        for (title, triples) in [("missed", &scores.missed), ("spurious", &scores.spurious)] {
            writeln!(out, "\n{title} ({}):", triples.len())?;
            for t in triples {
                writeln!(out, "  {} [{}] {}", t.article, t.actor, t.quote)?;
            }
        }
    }
    Ok(())
}
