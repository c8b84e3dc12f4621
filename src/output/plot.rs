//! Trend charts: one line per actor with its confidence band, gaps where a period had no
//! statements, and detected shifts as dated markers, drawn as SVG or PNG.
//!
//! Layout is computed once in CSS pixels and drawn through plotters' backend-neutral drawing
//! area, so SVG and PNG show the same figure. Text is measured (and, for PNG, rasterized) with
//! an embedded DejaVu Sans, so the result does not depend on the fonts a machine has; the SVG
//! names only the generic `sans-serif` family. PNG text is rasterized here with `ab_glyph`
//! rather than by plotters, whose raster text drops each glyph's side bearing.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error as StdError;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, InvalidFont, PxScale, ScaleFont};
use chrono::{Datelike, Duration, NaiveDate};
use plotters::backend::{BitMapBackend, DrawingBackend, SVGBackend};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind, IntoDrawingArea};
use plotters::element::{Circle, PathElement, Polygon, Rectangle, Text};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{
    Color, FontDesc, FontFamily, FontStyle, FontTransform, RGBAColor, RGBColor, ShapeStyle,
};
use polars::prelude::{Column, DataFrame, DataType, PolarsError};

use super::{write_file, OutputError};
use crate::provenance::Provenance;

/// What to draw and how large.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotOptions {
    /// The target whose trends are drawn.
    pub target: String,
    /// Actors to draw, in legend order; `None` draws every actor of the target, by name.
    pub actors: Option<Vec<String>>,
    /// Chart title; `None` gives "Stance toward <target>".
    pub title: Option<String>,
    /// Figure size in CSS pixels. PNG output has [`PNG_DENSITY`] device pixels per CSS pixel.
    pub width: u32,
    pub height: u32,
    /// Embedded in the chart, as JSON, when not empty: an SVG `<metadata>` element, a PNG
    /// `iTXt` chunk, both under the keyword [`PROVENANCE_KEYWORD`].
    pub provenance: Provenance,
}

/// The id of the SVG `<metadata>` element and the keyword of the PNG text chunk that hold a
/// chart's provenance.
pub const PROVENANCE_KEYWORD: &str = "stance-provenance";

impl PlotOptions {
    /// Options for `target` with every actor, the default title and the default size.
    pub fn new(target: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            actors: None,
            title: None,
            width: DEFAULT_WIDTH,
            height: DEFAULT_HEIGHT,
            provenance: Provenance::default(),
        }
    }
}

pub const DEFAULT_WIDTH: u32 = 900;
pub const DEFAULT_HEIGHT: u32 = 500;
/// Smallest figure that still fits the axes, legend and labels.
pub const MIN_WIDTH: u32 = 480;
pub const MIN_HEIGHT: u32 = 300;
/// Device pixels per CSS pixel in PNG output (192 dpi at the CSS 96 dpi), sharp enough for print.
pub const PNG_DENSITY: u32 = 2;
/// PNG pixels are the average of up to SUPERSAMPLE × SUPERSAMPLE rendered pixels: plotters'
/// raster backend does not anti-alias lines or polygon edges.
const SUPERSAMPLE: u32 = 3;
/// Largest raster rendered before downsampling; very large figures get less supersampling.
const MAX_RENDER_BYTES: u64 = 400 << 20;
/// Largest CSS size accepted.
pub const MAX_SIDE: u32 = 4000;

/// Image formats, chosen by extension; a path without an extension gets SVG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Svg,
    Png,
}

impl ImageFormat {
    pub fn from_path(path: &Path) -> Result<Self, PlotError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            None | Some("svg") => Ok(Self::Svg),
            Some("png") => Ok(Self::Png),
            Some(_) => Err(PlotError::UnknownFormat { path: path.to_owned() }),
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Svg => "SVG",
            Self::Png => "PNG",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("the {table} table has no column `{column}` (expected {expected})")]
    MissingColumn { table: &'static str, column: &'static str, expected: &'static str },
    #[error("column `{column}` of the {table} table has type {found}, expected {expected}")]
    ColumnType { table: &'static str, column: &'static str, found: DataType, expected: &'static str },
    #[error("cannot read column `{column}` of the {table} table as {expected}")]
    Convert {
        table: &'static str,
        column: &'static str,
        expected: &'static str,
        #[source]
        source: PolarsError,
    },
    #[error("row {row} of the {table} table has no value in column `{column}`")]
    MissingValue { table: &'static str, row: usize, column: &'static str },
    #[error("row {row} of the trends table: period_end {end} is before period_start {start}")]
    PeriodOrder { row: usize, start: NaiveDate, end: NaiveDate },
    #[error("row {row} of the shifts table: date_ci_high {high} is before date_ci_low {low}")]
    ShiftIntervalOrder { row: usize, low: NaiveDate, high: NaiveDate },
    #[error("row {row} of the {table} table: column `{column}` holds a date outside the supported range")]
    DateRange { table: &'static str, row: usize, column: &'static str },
    #[error("target `{target}` is not in the trends table; available targets: {}", list(available))]
    UnknownTarget { target: String, available: Vec<String> },
    #[error(
        "no trend rows for actor(s) {} and target `{target}`; available actors: {}",
        list(missing),
        list(available)
    )]
    UnknownActors { target: String, missing: Vec<String>, available: Vec<String> },
    #[error("nothing to plot for target `{target}`: every period of the chosen actors has no mean (n = 0)")]
    NoData { target: String },
    #[error("a {width}×{height} chart is outside the supported size ({MIN_WIDTH}×{MIN_HEIGHT} to {MAX_SIDE}×{MAX_SIDE})")]
    Size { width: u32, height: u32 },
    #[error(
        "{actors} actors do not fit in the legend of a chart {height} pixels high (at most {fits}): \
         choose the actors to draw with --actors A,B,…, or make the chart taller with --height"
    )]
    LegendOverflow { actors: usize, fits: usize, height: u32 },
    #[error("cannot tell the image format of {path}: use .svg or .png")]
    UnknownFormat { path: PathBuf },
    #[error("the embedded chart font could not be loaded")]
    Font(#[source] InvalidFont),
    #[error("cannot draw the {format} chart")]
    Draw {
        format: ImageFormat,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    #[error("cannot encode the PNG for {path}")]
    EncodePng {
        path: PathBuf,
        #[source]
        source: png::EncodingError,
    },
    #[error(transparent)]
    Write(#[from] OutputError),
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "(none)".to_owned();
    }
    items.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

/// Draws the trend chart of `options.target` to `out` (SVG or PNG by extension).
///
/// `trends` needs `actor, target, period_start, period_end` (Date) and `mean, ci_low, ci_high`
/// (numeric, null where a period had no or too few statements). `shifts`, when given, needs
/// `actor, target, date` (Date or Datetime) and `delta`; its `date_ci_low, date_ci_high`, when
/// present (tables from before they existed lack them), are drawn as a band at each marker.
/// The image is rendered in memory and written atomically, so on any error `out` is left
/// untouched.
pub fn render_trend_chart(
    trends: &DataFrame,
    shifts: Option<&DataFrame>,
    options: &PlotOptions,
    out: &Path,
) -> Result<(), PlotError> {
    let format = ImageFormat::from_path(out)?;
    let (width, height) = (options.width, options.height);
    if !(MIN_WIDTH..=MAX_SIDE).contains(&width) || !(MIN_HEIGHT..=MAX_SIDE).contains(&height) {
        return Err(PlotError::Size { width, height });
    }
    let series = read_trends(trends, options)?;
    let shift_marks = match shifts {
        Some(df) => read_shifts(df, &options.target, &series)?,
        None => Vec::new(),
    };
    let title = options.title.clone().unwrap_or_else(|| format!("Stance toward {}", options.target));
    let chart = Chart::lay_out(&series, &shift_marks, &title, f64::from(width), f64::from(height))?;
    match format {
        ImageFormat::Svg => {
            let svg = with_metadata(render_svg(&chart, width, height)?, &options.provenance);
            write_file(out, svg.as_bytes())?;
        }
        ImageFormat::Png => {
            let png = render_png(&chart, width, height, &options.provenance, out)?;
            write_file(out, &png)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading the tables

/// One period of one actor.
#[derive(Debug, Clone, PartialEq)]
struct Period {
    start: i32,
    end: i32,
    mean: Option<f64>,
    ci: Option<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
struct ActorSeries {
    actor: String,
    /// Sorted by start.
    periods: Vec<Period>,
}

#[derive(Debug, Clone, PartialEq)]
struct ShiftMark {
    /// Index into the series (and so the colour and marker).
    series: usize,
    date: i32,
    delta: f64,
    /// First and last day of the interval on the date, when the table has one.
    interval: Option<(i32, i32)>,
}

const TRENDS: &str = "trends";
const SHIFTS: &str = "shifts";

fn read_trends(df: &DataFrame, options: &PlotOptions) -> Result<Vec<ActorSeries>, PlotError> {
    let targets = strings(df, TRENDS, "target")?;
    let actors = strings(df, TRENDS, "actor")?;
    let starts = days(df, TRENDS, "period_start")?;
    let ends = days(df, TRENDS, "period_end")?;
    let means = floats(df, TRENDS, "mean")?;
    let lows = floats(df, TRENDS, "ci_low")?;
    let highs = floats(df, TRENDS, "ci_high")?;

    let mut available = BTreeSet::new();
    let mut by_actor: BTreeMap<String, Vec<Period>> = BTreeMap::new();
    for (i, target) in targets.iter().enumerate() {
        let row = i + 1;
        let target =
            target.as_deref().ok_or(PlotError::MissingValue { table: TRENDS, row, column: "target" })?;
        if target != options.target {
            available.insert(target.to_owned());
            continue;
        }
        let actor =
            actors[i].clone().ok_or(PlotError::MissingValue { table: TRENDS, row, column: "actor" })?;
        let start =
            starts[i].ok_or(PlotError::MissingValue { table: TRENDS, row, column: "period_start" })?;
        let end = ends[i].ok_or(PlotError::MissingValue { table: TRENDS, row, column: "period_end" })?;
        let start_date = date_of(start, TRENDS, row, "period_start")?;
        let end_date = date_of(end, TRENDS, row, "period_end")?;
        if end < start {
            return Err(PlotError::PeriodOrder { row, start: start_date, end: end_date });
        }
        // Scores live in [-1, 1]; clamping only guards the drawing against foreign tables.
        let clamp = |v: f64| v.clamp(-1.0, 1.0);
        let mean = means[i].filter(|v| v.is_finite()).map(clamp);
        let ci = match (lows[i], highs[i]) {
            (Some(lo), Some(hi)) if lo.is_finite() && hi.is_finite() && mean.is_some() => {
                Some((clamp(lo.min(hi)), clamp(lo.max(hi))))
            }
            _ => None,
        };
        by_actor.entry(actor).or_default().push(Period { start, end, mean, ci });
    }
    if by_actor.is_empty() {
        return Err(PlotError::UnknownTarget {
            target: options.target.clone(),
            available: available.into_iter().collect(),
        });
    }

    let chosen: Vec<String> = match &options.actors {
        None => by_actor.keys().cloned().collect(),
        Some(wanted) => {
            let missing: Vec<String> =
                wanted.iter().filter(|a| !by_actor.contains_key(*a)).cloned().collect();
            if !missing.is_empty() {
                return Err(PlotError::UnknownActors {
                    target: options.target.clone(),
                    missing,
                    available: by_actor.keys().cloned().collect(),
                });
            }
            let mut seen = BTreeSet::new();
            wanted.iter().filter(|a| seen.insert(a.as_str())).cloned().collect()
        }
    };
    let series: Vec<ActorSeries> = chosen
        .into_iter()
        .map(|actor| {
            let mut periods = by_actor.remove(&actor).unwrap_or_default();
            periods.sort_by_key(|p| p.start);
            ActorSeries { actor, periods }
        })
        .collect();
    if series.iter().all(|s| s.periods.iter().all(|p| p.mean.is_none())) {
        return Err(PlotError::NoData { target: options.target.clone() });
    }
    Ok(series)
}

fn read_shifts(df: &DataFrame, target: &str, series: &[ActorSeries]) -> Result<Vec<ShiftMark>, PlotError> {
    // No shift survived: a CSV or NDJSON file of no rows says nothing of its columns' types.
    if df.height() == 0 {
        return Ok(Vec::new());
    }
    let targets = strings(df, SHIFTS, "target")?;
    let actors = strings(df, SHIFTS, "actor")?;
    let dates = days(df, SHIFTS, "date")?;
    let deltas = floats(df, SHIFTS, "delta")?;
    let intervals = match (df.column("date_ci_low"), df.column("date_ci_high")) {
        (Ok(_), Ok(_)) => Some((days(df, SHIFTS, "date_ci_low")?, days(df, SHIFTS, "date_ci_high")?)),
        _ => None,
    };
    let mut marks = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let row = i + 1;
        if t.as_deref() != Some(target) {
            continue;
        }
        let actor =
            actors[i].as_deref().ok_or(PlotError::MissingValue { table: SHIFTS, row, column: "actor" })?;
        // Shifts of actors that are not drawn have no line to belong to.
        let Some(index) = series.iter().position(|s| s.actor == actor) else { continue };
        let date = dates[i].ok_or(PlotError::MissingValue { table: SHIFTS, row, column: "date" })?;
        date_of(date, SHIFTS, row, "date")?;
        let delta = deltas[i].filter(|d| d.is_finite()).ok_or(PlotError::MissingValue {
            table: SHIFTS,
            row,
            column: "delta",
        })?;
        // A row without an interval (null ends) is still a shift, drawn without its band.
        let interval = match intervals.as_ref().map(|(low, high)| (low[i], high[i])) {
            Some((Some(low), Some(high))) => {
                let (low_date, high_date) =
                    (date_of(low, SHIFTS, row, "date_ci_low")?, date_of(high, SHIFTS, row, "date_ci_high")?);
                if high < low {
                    return Err(PlotError::ShiftIntervalOrder { row, low: low_date, high: high_date });
                }
                Some((low, high))
            }
            _ => None,
        };
        marks.push(ShiftMark { series: index, date, delta, interval });
    }
    marks.sort_by_key(|m| (m.date, m.series));
    Ok(marks)
}

fn column<'a>(
    df: &'a DataFrame,
    table: &'static str,
    name: &'static str,
    expected: &'static str,
) -> Result<&'a Column, PlotError> {
    df.column(name).map_err(|_| PlotError::MissingColumn { table, column: name, expected })
}

fn strings(
    df: &DataFrame,
    table: &'static str,
    name: &'static str,
) -> Result<Vec<Option<String>>, PlotError> {
    const EXPECTED: &str = "text";
    let col = column(df, table, name, EXPECTED)?;
    let chunked = col.str().map_err(|_| PlotError::ColumnType {
        table,
        column: name,
        found: col.dtype().clone(),
        expected: EXPECTED,
    })?;
    Ok(chunked.iter().map(|v| v.map(str::to_owned)).collect())
}

/// Days since 1970-01-01 of a Date or Datetime column.
fn days(df: &DataFrame, table: &'static str, name: &'static str) -> Result<Vec<Option<i32>>, PlotError> {
    const EXPECTED: &str = "a date or datetime";
    let col = column(df, table, name, EXPECTED)?;
    let convert = |source| PlotError::Convert { table, column: name, expected: EXPECTED, source };
    let as_date = match col.dtype() {
        DataType::Date => col.clone(),
        DataType::Datetime(_, _) => col.cast(&DataType::Date).map_err(convert)?,
        other => {
            return Err(PlotError::ColumnType {
                table,
                column: name,
                found: other.clone(),
                expected: EXPECTED,
            })
        }
    };
    let physical = as_date.cast(&DataType::Int32).map_err(convert)?;
    Ok(physical.i32().map_err(convert)?.iter().collect())
}

fn floats(df: &DataFrame, table: &'static str, name: &'static str) -> Result<Vec<Option<f64>>, PlotError> {
    const EXPECTED: &str = "a number";
    let col = column(df, table, name, EXPECTED)?;
    // A CSV column with no value at all reads as text.
    if col.null_count() == col.len() {
        return Ok(vec![None; col.len()]);
    }
    if !col.dtype().is_primitive_numeric() {
        return Err(PlotError::ColumnType {
            table,
            column: name,
            found: col.dtype().clone(),
            expected: EXPECTED,
        });
    }
    let convert = |source| PlotError::Convert { table, column: name, expected: EXPECTED, source };
    let cast = col.cast(&DataType::Float64).map_err(convert)?;
    Ok(cast.f64().map_err(convert)?.iter().collect())
}

const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

fn to_date(days: i32) -> Option<NaiveDate> {
    days.checked_add(UNIX_EPOCH_DAYS_FROM_CE).and_then(NaiveDate::from_num_days_from_ce_opt)
}

fn date_of(days: i32, table: &'static str, row: usize, column: &'static str) -> Result<NaiveDate, PlotError> {
    to_date(days).ok_or(PlotError::DateRange { table, row, column })
}

fn days_of(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE
}

// ---------------------------------------------------------------------------------------------
// Style

/// Okabe–Ito colours, ordered so that the first lines get the most distinct, highest-contrast
/// ones; yellow, weak on white, comes last.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x00, 0x00, 0x00), // black
    RGBColor(0xF0, 0xE4, 0x42), // yellow
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Circle,
    Square,
    TriangleUp,
    Diamond,
    TriangleDown,
    Plus,
    Cross,
    Pentagon,
}

const MARKERS: [Marker; 8] = [
    Marker::Circle,
    Marker::Square,
    Marker::TriangleUp,
    Marker::Diamond,
    Marker::TriangleDown,
    Marker::Plus,
    Marker::Cross,
    Marker::Pentagon,
];

/// Colour and marker of the `index`th line. Past eight lines the marker moves on by one each
/// time the colours repeat, so no two lines share both.
fn style_of(index: usize) -> (RGBColor, Marker) {
    (PALETTE[index % PALETTE.len()], MARKERS[(index + index / PALETTE.len()) % MARKERS.len()])
}

const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
const MUTED: RGBColor = RGBColor(0x55, 0x55, 0x55);
const AXIS: RGBColor = RGBColor(0x44, 0x44, 0x44);
const GRID: RGBColor = RGBColor(0xE6, 0xE6, 0xE6);
const ZERO: RGBColor = RGBColor(0x99, 0x99, 0x99);
const WHITE: RGBColor = RGBColor(0xFF, 0xFF, 0xFF);

const MARGIN: f64 = 14.0;
const TITLE_SIZE: f64 = 20.0;
const LABEL_SIZE: f64 = 15.0;
const TICK_SIZE: f64 = 14.0;
const LEGEND_SIZE: f64 = 14.0;
/// The smallest legend text before entries stop fitting.
const MIN_LEGEND_SIZE: f64 = 9.0;
const SHIFT_SIZE: f64 = 13.0;
const TICK_LENGTH: f64 = 5.0;
const LINE_WIDTH: f64 = 2.0;
const MARKER_RADIUS: f64 = 3.5;
const BAND_ALPHA: f64 = 0.16;
/// Lighter than the confidence bands, which may lie on top.
const SHIFT_BAND_ALPHA: f64 = 0.1;
/// Narrowest band of an interval on a shift's date, in pixels.
const MIN_SHIFT_BAND: f64 = 3.0;
const LEGEND_SAMPLE: f64 = 30.0;
const LEGEND_ROW: f64 = 21.0;
const SHIFT_ROW: f64 = 17.0;
/// Legend names longer than this share of the width are cut with an ellipsis.
const LEGEND_MAX_SHARE: f64 = 0.3;

/// The embedded DejaVu Sans, parsed once.
fn typeface() -> Result<&'static FontRef<'static>, PlotError> {
    static FONT: OnceLock<Result<FontRef<'static>, InvalidFont>> = OnceLock::new();
    let bytes: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
    FONT.get_or_init(|| FontRef::try_from_slice(bytes)).as_ref().map_err(|e| PlotError::Font(*e))
}

/// Text of `size` is set at an em of `size / 1.24` pixels: the `font-size` plotters writes
/// into SVG for the same size, so measured and rasterized text match what SVG viewers draw.
fn em(size: f64) -> f64 {
    size / 1.24
}

/// How far below the top of a line of text its baseline lies: SVG's `dy="0.76em"`.
const BASELINE: f64 = 0.76;
/// DejaVu Sans capital height, in em.
const CAP_HEIGHT: f64 = 0.73;

/// How far below the top of a line of text the middle of its capitals and digits lies, to
/// centre text on a tick or a legend marker.
fn cap_middle(size: f64) -> f64 {
    (BASELINE - CAP_HEIGHT / 2.0) * em(size)
}

fn font_scale(font: &FontRef<'_>, size: f64) -> PxScale {
    // ab_glyph scales by the font's height (ascent − descent), not by its em.
    let units_per_em = font.units_per_em().unwrap_or(2048.0);
    PxScale::from((em(size) as f32) * font.height_unscaled() / units_per_em)
}

/// Width of `text` in pixels, kerning included.
fn text_width(text: &str, size: f64) -> Result<f64, PlotError> {
    let font = typeface()?;
    let scaled = font.as_scaled(font_scale(font, size));
    let mut width = 0.0_f32;
    let mut previous = None;
    for c in text.chars().map(visible) {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            width += scaled.kern(previous, id);
        }
        width += scaled.h_advance(id);
        previous = Some(id);
    }
    Ok(f64::from(width))
}

/// Control characters are not allowed in XML (an SVG with one does not open) and have no
/// glyph: each is drawn as its Unicode control picture (U+0001 as ␁), or as U+FFFD.
fn visible(c: char) -> char {
    match u32::from(c) {
        code @ 0..=0x1f => char::from_u32(0x2400 + code).unwrap_or(char::REPLACEMENT_CHARACTER),
        0x7f => '\u{2421}',
        _ if c.is_control() => char::REPLACEMENT_CHARACTER,
        _ => c,
    }
}

/// `text` cut with an ellipsis to fit `max_width`.
fn fit_text(text: &str, size: f64, max_width: f64) -> Result<String, PlotError> {
    if text_width(text, size)? <= max_width {
        return Ok(text.to_owned());
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (1..chars.len()).rev() {
        let candidate: String = chars[..keep].iter().collect::<String>().trim_end().to_owned() + "…";
        if text_width(&candidate, size)? <= max_width {
            return Ok(candidate);
        }
    }
    Ok("…".to_owned())
}

/// A signed number with a true minus sign, as typeset.
fn signed(value: f64, decimals: usize) -> String {
    let text = format!("{:+.*}", decimals, value);
    text.replacen('-', "\u{2212}", 1)
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn month_name(date: NaiveDate) -> &'static str {
    MONTHS[date.month0() as usize]
}

// ---------------------------------------------------------------------------------------------
// Date ticks

/// Spacing of date ticks, from fine to coarse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TickStep {
    Days(u32),
    /// Mondays, as ISO weeks start.
    Weeks(u32),
    Months(u32),
    Years(u32),
}

const TICK_STEPS: [TickStep; 13] = [
    TickStep::Days(1),
    TickStep::Days(2),
    TickStep::Weeks(1),
    TickStep::Weeks(2),
    TickStep::Months(1),
    TickStep::Months(2),
    TickStep::Months(3),
    TickStep::Months(6),
    TickStep::Years(1),
    TickStep::Years(2),
    TickStep::Years(5),
    TickStep::Years(10),
    TickStep::Years(25),
];

#[derive(Debug, Clone, PartialEq)]
struct Tick {
    day: i32,
    label: String,
    /// A second line (the year) under day and week ticks, where the year starts or changes.
    sublabel: Option<String>,
}

/// Tick dates of `step` within `[from, to]` (days since the epoch). Multi-unit steps are
/// aligned to a fixed calendar (even days since the epoch, every other ISO week since
/// 1970-01-05, months and years from year 0), so ticks do not move with the data.
fn tick_dates(step: TickStep, from: i32, to: i32) -> Vec<NaiveDate> {
    let (Some(first), Some(last)) = (to_date(from), to_date(to)) else { return Vec::new() };
    let mut dates = Vec::new();
    match step {
        TickStep::Days(n) | TickStep::Weeks(n) => {
            const FIRST_MONDAY: i64 = 4; // 1970-01-05
            let (stride, phase) = if matches!(step, TickStep::Weeks(_)) {
                (7 * i64::from(n), FIRST_MONDAY)
            } else {
                (i64::from(n), 0)
            };
            let offset = (i64::from(from) - phase).rem_euclid(stride);
            let mut day = first - Duration::days(offset);
            while day <= last {
                if day >= first {
                    dates.push(day);
                }
                day += Duration::days(stride);
            }
        }
        TickStep::Months(n) | TickStep::Years(n) => {
            let months = if matches!(step, TickStep::Years(_)) { 12 * n as i32 } else { n as i32 };
            let index = first.year() * 12 + first.month0() as i32;
            let mut index = index - index.rem_euclid(months);
            while let Some(date) =
                NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1)
            {
                if date > last {
                    break;
                }
                if date >= first {
                    dates.push(date);
                }
                index += months;
            }
        }
    }
    dates
}

fn tick_labels(step: TickStep, dates: &[NaiveDate]) -> Vec<Tick> {
    let mut previous_year = None;
    dates
        .iter()
        .map(|&date| {
            let day = days_of(date);
            match step {
                TickStep::Days(_) | TickStep::Weeks(_) => {
                    let sublabel = (previous_year != Some(date.year())).then(|| date.year().to_string());
                    previous_year = Some(date.year());
                    Tick { day, label: format!("{} {}", date.day(), month_name(date)), sublabel }
                }
                TickStep::Months(3) => {
                    Tick { day, label: format!("Q{} {}", date.month0() / 3 + 1, date.year()), sublabel: None }
                }
                TickStep::Months(_) => {
                    Tick { day, label: format!("{} {}", month_name(date), date.year()), sublabel: None }
                }
                TickStep::Years(_) => Tick { day, label: date.year().to_string(), sublabel: None },
            }
        })
        .collect()
}

/// Ticks for `[from, to]` in `plot_width` pixels: the finest step, no finer than the data's
/// cadence, whose labels fit side by side and that gives at least two ticks; failing that, the
/// finest step of any size that does; failing that, a single tick.
fn choose_ticks(
    from: i32,
    to: i32,
    plot_width: f64,
    cadence: Option<Cadence>,
) -> Result<Vec<Tick>, PlotError> {
    let finest = cadence.map_or(TickStep::Days(1), Cadence::finest_tick);
    let finest = TICK_STEPS.iter().position(|s| *s == finest).unwrap_or(0);
    let span = f64::from((to - from).max(1));
    let mut fallback = None;
    let mut single = None;
    for (i, step) in TICK_STEPS.into_iter().enumerate() {
        let ticks = tick_labels(step, &tick_dates(step, from, to));
        let mut widest: f64 = 0.0;
        for tick in &ticks {
            widest = widest.max(text_width(&tick.label, TICK_SIZE)?);
        }
        let days = match step {
            TickStep::Days(n) => f64::from(n),
            TickStep::Weeks(n) => 7.0 * f64::from(n),
            TickStep::Months(n) => 28.0 * f64::from(n),
            TickStep::Years(n) => 365.0 * f64::from(n),
        };
        if days / span * plot_width < widest + 14.0 || ticks.is_empty() {
            continue;
        }
        if ticks.len() == 1 {
            // A span of a day or a single period: one tick is all there is.
            single.get_or_insert(ticks);
            continue;
        }
        if i >= finest {
            return Ok(ticks);
        }
        fallback.get_or_insert(ticks);
    }
    Ok(fallback.or(single).unwrap_or_default())
}

/// How long the trend periods are, read from the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cadence {
    Daily,
    Weekly,
    Monthly,
    Quarterly,
}

impl Cadence {
    /// The typical period length; inclusive and exclusive period ends give the same answer.
    fn of(series: &[ActorSeries]) -> Option<Self> {
        let mut lengths: Vec<i32> =
            series.iter().flat_map(|s| s.periods.iter().map(|p| p.end - p.start)).collect();
        lengths.sort_unstable();
        match *lengths.get(lengths.len() / 2)? {
            0..=1 => Some(Self::Daily),
            6..=7 => Some(Self::Weekly),
            27..=31 => Some(Self::Monthly),
            89..=92 => Some(Self::Quarterly),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::Quarterly => "quarterly",
        }
    }

    /// Ticks finer than the periods would label dates that have no point of their own.
    fn finest_tick(self) -> TickStep {
        match self {
            Self::Daily => TickStep::Days(1),
            Self::Weekly => TickStep::Weeks(1),
            Self::Monthly => TickStep::Months(1),
            Self::Quarterly => TickStep::Months(3),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Layout

#[derive(Debug, Clone, Copy, PartialEq)]
struct Rect {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

#[derive(Debug, Clone, PartialEq)]
struct LegendEntry {
    label: String,
    color: RGBColor,
    marker: Marker,
}

#[derive(Debug, Clone, PartialEq)]
struct ShiftLabel {
    series: usize,
    x: f64,
    text: String,
    /// Text box left edge: right of the marker line, or left of it near the right edge.
    left: f64,
    width: f64,
    row: usize,
    /// Left and right edge of the band of the interval on the date.
    band: Option<(f64, f64)>,
}

/// Everything to draw, in CSS pixels.
#[derive(Debug, Clone, PartialEq)]
struct Chart {
    width: f64,
    height: f64,
    title: String,
    plot: Rect,
    /// Date range of the x axis, days since the epoch.
    x_from: f64,
    x_to: f64,
    ticks: Vec<Tick>,
    x_label: String,
    /// The y label's font size: smaller than [`LABEL_SIZE`] when the plot is too short for it.
    y_label_size: f64,
    /// Legend font size and line spacing: smaller than [`LEGEND_SIZE`] and [`LEGEND_ROW`] when
    /// many actors must fit beside the plot.
    legend_size: f64,
    legend_row: f64,
    legend_left: f64,
    legend: Vec<LegendEntry>,
    legend_notes: Vec<(LegendNote, &'static str)>,
    series: Vec<ActorSeries>,
    shift_labels: Vec<ShiftLabel>,
    shift_band_top: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LegendNote {
    Band,
    Shift,
    ShiftInterval,
}

const Y_TICKS: [f64; 5] = [-1.0, -0.5, 0.0, 0.5, 1.0];
const Y_LABEL: &str = "stance score (favor \u{2212} against)";

impl Chart {
    fn lay_out(
        series: &[ActorSeries],
        shifts: &[ShiftMark],
        title: &str,
        width: f64,
        height: f64,
    ) -> Result<Self, PlotError> {
        // X domain: every period and shift, padded so end points do not sit on the frame.
        let starts = series.iter().flat_map(|s| s.periods.iter().map(|p| p.start));
        let ends = series.iter().flat_map(|s| s.periods.iter().map(|p| p.end));
        let shift_days = shifts.iter().flat_map(|m| {
            let interval = m.interval.into_iter().flat_map(|(low, high)| [low, high + 1]);
            std::iter::once(m.date).chain(interval)
        });
        let first = starts.chain(shift_days.clone()).min().unwrap_or(0);
        let last = ends.chain(shift_days).max().unwrap_or(first);
        let span = f64::from((last - first).max(1));
        let pad = (span * 0.02).max(0.5);
        let (x_from, x_to) = (f64::from(first) - pad, f64::from(last) + pad);

        // Horizontal: y label, y tick labels, plot, legend.
        let legend_max = (width * LEGEND_MAX_SHARE).max(80.0);
        let mut legend = Vec::with_capacity(series.len());
        for (i, s) in series.iter().enumerate() {
            let (color, marker) = style_of(i);
            legend.push(LegendEntry { label: fit_text(&s.actor, LEGEND_SIZE, legend_max)?, color, marker });
        }
        let mut legend_notes = Vec::new();
        if series.iter().any(|s| s.periods.iter().any(|p| p.ci.is_some())) {
            legend_notes.push((LegendNote::Band, "confidence interval"));
        }
        if !shifts.is_empty() {
            legend_notes.push((LegendNote::Shift, "detected shift"));
        }
        if shifts.iter().any(|m| m.interval.is_some()) {
            legend_notes.push((LegendNote::ShiftInterval, "interval on its date"));
        }
        let mut legend_width: f64 = 0.0;
        for entry in &legend {
            legend_width = legend_width.max(text_width(&entry.label, LEGEND_SIZE)?);
        }
        for (_, note) in &legend_notes {
            legend_width = legend_width.max(text_width(note, LEGEND_SIZE)?);
        }
        let legend_width = legend_width + LEGEND_SAMPLE + 8.0;
        let legend_left = width - MARGIN - legend_width;
        let y_tick_width = Y_TICKS
            .iter()
            .map(|v| text_width(&y_tick_label(*v), TICK_SIZE))
            .try_fold(0.0_f64, |acc, w| w.map(|w| acc.max(w)))?;
        let plot_left = MARGIN + LABEL_SIZE + 10.0 + y_tick_width + TICK_LENGTH + 4.0;
        let plot_right = legend_left - 24.0;
        let plot_width = plot_right - plot_left;

        let cadence = Cadence::of(series);
        let ticks = choose_ticks(first, last, plot_width, cadence)?;
        let x_of = |day: f64| plot_left + (day - x_from) / (x_to - x_from) * plot_width;

        // Shift labels stacked in rows above the plot, so they never cover data.
        let all_in_one_year = to_date(first).map(|d| d.year()) == to_date(last).map(|d| d.year());
        let mut shift_labels: Vec<ShiftLabel> = Vec::with_capacity(shifts.len());
        for mark in shifts {
            let date = to_date(mark.date).unwrap_or_default();
            let when = if all_in_one_year {
                format!("{} {}", date.day(), month_name(date))
            } else {
                format!("{} {} {}", date.day(), month_name(date), date.year())
            };
            let text = format!("\u{394} {} ({when})", signed(mark.delta, 2));
            let text_w = text_width(&text, SHIFT_SIZE)?;
            let x = x_of(f64::from(mark.date));
            let left = if x + 4.0 + text_w <= width - MARGIN { x + 4.0 } else { x - 4.0 - text_w };
            let row = shift_row(&shift_labels, x, left, text_w);
            // The band covers whole days, from the first day's start to the last day's end,
            // and stays wide enough to see when that is less than a few pixels.
            let band = mark.interval.map(|(low, high)| {
                let (from, to) = (x_of(f64::from(low)), x_of(f64::from(high) + 1.0));
                let widen = (MIN_SHIFT_BAND - (to - from)).max(0.0) / 2.0;
                (from - widen, to + widen)
            });
            shift_labels.push(ShiftLabel { series: mark.series, x, text, left, width: text_w, row, band });
        }
        let rows = shift_labels.iter().map(|l| l.row + 1).max().unwrap_or(0);

        // Vertical: title, shift rows, plot, tick labels, x label.
        let shift_band_top = MARGIN + TITLE_SIZE + 10.0;
        let plot_top = shift_band_top + rows as f64 * SHIFT_ROW + if rows > 0 { 8.0 } else { 6.0 };
        let tick_lines = if ticks.iter().any(|t| t.sublabel.is_some()) { 2.0 } else { 1.0 };
        let plot_bottom =
            height - MARGIN - LABEL_SIZE - 10.0 - tick_lines * TICK_SIZE * 1.1 - TICK_LENGTH - 4.0;

        // The y label may run past the plot's ends, between the shift labels and the bottom edge.
        let plot_middle = (plot_top + plot_bottom) / 2.0;
        let room = 2.0 * (plot_middle - shift_band_top).min(height - MARGIN - plot_middle);
        let y_label_size = (LABEL_SIZE * room / text_width(Y_LABEL, LABEL_SIZE)?).clamp(9.0, LABEL_SIZE);
        let legend_lines = legend.len() as f64 + legend_notes.len() as f64 + 0.4;
        let legend_row = ((height - MARGIN - plot_top) / legend_lines).min(LEGEND_ROW);
        let legend_size = (legend_row / 1.3).clamp(MIN_LEGEND_SIZE, LEGEND_SIZE);
        let legend_row = legend_row.max(legend_size * 1.15);
        // Entries past the bottom edge would be cut silently.
        let room = ((height - MARGIN - plot_top) / (MIN_LEGEND_SIZE * 1.15) - 0.4).floor() as usize;
        let fits = room.saturating_sub(legend_notes.len());
        if legend.len() > fits {
            return Err(PlotError::LegendOverflow { actors: legend.len(), fits, height: height as u32 });
        }

        let x_label = match cadence {
            Some(cadence) => format!("date ({} means)", cadence.name()),
            None => "date".to_owned(),
        };
        Ok(Self {
            width,
            height,
            title: fit_text(title, TITLE_SIZE, width - 2.0 * MARGIN)?,
            plot: Rect { left: plot_left, top: plot_top, right: plot_right, bottom: plot_bottom },
            x_from,
            x_to,
            ticks,
            x_label,
            y_label_size,
            legend_size,
            legend_row,
            legend_left,
            legend,
            legend_notes,
            series: series.to_vec(),
            shift_labels,
            shift_band_top,
        })
    }

    fn x(&self, day: f64) -> f64 {
        self.plot.left + (day - self.x_from) / (self.x_to - self.x_from) * (self.plot.right - self.plot.left)
    }

    fn y(&self, value: f64) -> f64 {
        self.plot.top + (1.0 - value) / 2.0 * (self.plot.bottom - self.plot.top)
    }

    /// A period is drawn at its midpoint, where its mean belongs on a continuous time axis.
    fn period_x(&self, period: &Period) -> f64 {
        self.x((f64::from(period.start) + f64::from(period.end)) / 2.0)
    }
}

fn y_tick_label(value: f64) -> String {
    format!("{value:.1}").replacen('-', "\u{2212}", 1)
}

/// The first row (top = 0) where a label at `[left, left + width]` with its marker line at `x`
/// neither overlaps another label nor is crossed by one's line, and its own line, running down
/// to the plot, crosses no label in the rows below.
fn shift_row(placed: &[ShiftLabel], x: f64, left: f64, width: f64) -> usize {
    const GAP: f64 = 6.0;
    let right = left + width;
    (0..)
        .find(|&row| {
            placed.iter().all(|other| {
                let other_right = other.left + other.width;
                let overlaps = other.row == row && left < other_right + GAP && other.left < right + GAP;
                // A line passes through every row below its label.
                let our_line_hits = other.row > row && x > other.left - 2.0 && x < other_right + 2.0;
                let their_line_hits = other.row < row && other.x > left - 2.0 && other.x < right + 2.0;
                !overlaps && !our_line_hits && !their_line_hits
            })
        })
        .unwrap_or(0)
}

/// Runs of consecutive periods that have a mean: the pieces of an actor's line. A period
/// without a mean, or a hole between periods, breaks the line instead of bridging it.
fn line_runs(periods: &[Period]) -> Vec<&[Period]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 0..=periods.len() {
        let breaks = i == periods.len()
            || periods[i].mean.is_none()
            // Periods are adjacent when the next starts on or the day after the previous end
            // (exclusive or inclusive ends); anything later is a period missing from the table.
            || (i > start && periods[i].start > periods[i - 1].end + 1);
        if breaks {
            if i > start {
                runs.push(&periods[start..i]);
            }
            start = if i < periods.len() && periods[i].mean.is_some() { i } else { i + 1 };
        }
    }
    runs
}

/// Runs of consecutive periods that have a confidence interval: the pieces of a band.
fn band_runs(periods: &[Period]) -> Vec<&[Period]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 0..=periods.len() {
        let breaks = i == periods.len()
            || periods[i].ci.is_none()
            || (i > start && periods[i].start > periods[i - 1].end + 1);
        if breaks {
            if i > start {
                runs.push(&periods[start..i]);
            }
            start = if i < periods.len() && periods[i].ci.is_some() { i } else { i + 1 };
        }
    }
    runs
}

// ---------------------------------------------------------------------------------------------
// Drawing

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A drawing area addressed in CSS pixels.
struct Canvas<DB: DrawingBackend> {
    area: DrawingArea<DB, Shift>,
    scale: f64,
    /// Set for raster output: text is drawn glyph by glyph from this font instead of being
    /// left to the backend.
    raster_font: Option<&'static FontRef<'static>>,
}

impl<DB: DrawingBackend> Canvas<DB> {
    fn px(&self, (x, y): (f64, f64)) -> (i32, i32) {
        ((x * self.scale).round() as i32, (y * self.scale).round() as i32)
    }

    fn stroke(&self, color: RGBAColor, width: f64) -> ShapeStyle {
        ShapeStyle { color, filled: false, stroke_width: (width * self.scale).round().max(1.0) as u32 }
    }

    fn fill_style(color: RGBAColor) -> ShapeStyle {
        ShapeStyle { color, filled: true, stroke_width: 0 }
    }

    fn line(&self, points: &[(f64, f64)], color: RGBAColor, width: f64) -> DrawResult<DB> {
        let points: Vec<(i32, i32)> = points.iter().map(|&p| self.px(p)).collect();
        self.area.draw(&PathElement::new(points, self.stroke(color, width)))
    }

    fn dashed_vertical(&self, x: f64, from: f64, to: f64, color: RGBAColor, width: f64) -> DrawResult<DB> {
        const DASH: f64 = 5.0;
        const GAP: f64 = 3.5;
        let (top, bottom) = (from.min(to), from.max(to));
        let mut y = bottom;
        while y > top {
            let end = (y - DASH).max(top);
            self.line(&[(x, y), (x, end)], color, width)?;
            y = end - GAP;
        }
        Ok(())
    }

    fn polygon(&self, points: &[(f64, f64)], color: RGBAColor) -> DrawResult<DB> {
        let points: Vec<(i32, i32)> = points.iter().map(|&p| self.px(p)).collect();
        self.area.draw(&Polygon::new(points, Self::fill_style(color)))
    }

    fn rect(&self, from: (f64, f64), to: (f64, f64), color: RGBAColor) -> DrawResult<DB> {
        self.area.draw(&Rectangle::new([self.px(from), self.px(to)], Self::fill_style(color)))
    }

    /// `text` with its top edge at `y`, anchored at `x` on the side `h` names.
    fn text(&self, text: &str, pos: (f64, f64), size: f64, color: RGBColor, h: HPos) -> DrawResult<DB> {
        self.draw_text(text, pos, size, color, h, false)
    }

    /// Text turned a quarter anticlockwise, centred on `y`, its top edge at `x`.
    fn vertical_text(&self, text: &str, pos: (f64, f64), size: f64, color: RGBColor) -> DrawResult<DB> {
        self.draw_text(text, pos, size, color, HPos::Center, true)
    }

    fn draw_text(
        &self,
        text: &str,
        pos: (f64, f64),
        size: f64,
        color: RGBColor,
        h: HPos,
        vertical: bool,
    ) -> DrawResult<DB> {
        let (x, y) = self.px(pos);
        let size = size * self.scale;
        let text: String = text.chars().map(visible).collect();
        let Some(font) = self.raster_font else {
            let transform = if vertical { FontTransform::Rotate270 } else { FontTransform::None };
            let style = FontDesc::new(FontFamily::SansSerif, size, FontStyle::Normal)
                .transform(transform)
                .color(&color)
                .pos(Pos::new(h, VPos::Top));
            return self.area.draw(&Text::new(text, (x, y), style));
        };
        // Lay the glyphs out along a line whose origin is the anchor (u along the text, v down
        // from its top), then map that line onto the canvas, turned if vertical.
        let scaled = font.as_scaled(font_scale(font, size));
        let glyph_ids: Vec<_> = text.chars().map(|c| scaled.glyph_id(c)).collect();
        let kerned = |i: usize| if i == 0 { 0.0 } else { scaled.kern(glyph_ids[i - 1], glyph_ids[i]) };
        let width: f32 = (0..glyph_ids.len()).map(|i| kerned(i) + scaled.h_advance(glyph_ids[i])).sum();
        let mut pen = match h {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let baseline = (BASELINE * em(size)) as f32;
        let mut coverage = Vec::new();
        for (i, &id) in glyph_ids.iter().enumerate() {
            pen += kerned(i);
            let glyph = id.with_scale_and_position(scaled.scale(), point(pen, baseline));
            if let Some(outline) = font.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                outline.draw(|gx, gy, c| {
                    let u = bounds.min.x as i32 + gx as i32;
                    let v = bounds.min.y as i32 + gy as i32;
                    let at = if vertical { (x + v, y - u) } else { (x + u, y + v) };
                    coverage.push((at, c));
                });
            }
            pen += scaled.h_advance(id);
        }
        for (at, c) in coverage {
            if c > 0.0 {
                self.area.draw_pixel(at, &color.mix(f64::from(c.min(1.0))))?;
            }
        }
        Ok(())
    }

    fn marker(&self, marker: Marker, (cx, cy): (f64, f64), radius: f64, color: RGBAColor) -> DrawResult<DB> {
        // A white halo keeps markers legible where lines and bands cross.
        let halo = WHITE.to_rgba();
        match marker {
            Marker::Circle => {
                let r = (radius + 1.0) * self.scale;
                self.area.draw(&Circle::new(self.px((cx, cy)), r.round() as i32, Self::fill_style(halo)))?;
                let r = radius * self.scale;
                self.area.draw(&Circle::new(self.px((cx, cy)), r.round() as i32, Self::fill_style(color)))
            }
            shape => {
                self.polygon(&marker_points(shape, (cx, cy), radius + 1.2), halo)?;
                self.polygon(&marker_points(shape, (cx, cy), radius), color)
            }
        }
    }
}

/// Outline of a polygonal marker of about `radius` around `c`.
fn marker_points(marker: Marker, (cx, cy): (f64, f64), radius: f64) -> Vec<(f64, f64)> {
    let polar = |n: usize, r: f64, phase: f64| -> Vec<(f64, f64)> {
        (0..n)
            .map(|k| {
                let a = phase + k as f64 * std::f64::consts::TAU / n as f64;
                (cx + r * a.cos(), cy + r * a.sin())
            })
            .collect()
    };
    let arms = |r: f64, w: f64, rotated: bool| -> Vec<(f64, f64)> {
        let outline = [
            (w, r),
            (w, w),
            (r, w),
            (r, -w),
            (w, -w),
            (w, -r),
            (-w, -r),
            (-w, -w),
            (-r, -w),
            (-r, w),
            (-w, w),
            (-w, r),
        ];
        let (s, c) = if rotated { std::f64::consts::FRAC_PI_4.sin_cos() } else { (0.0, 1.0) };
        outline.iter().map(|&(x, y)| (cx + x * c - y * s, cy + x * s + y * c)).collect()
    };
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};
    match marker {
        Marker::Circle => polar(24, radius, 0.0),
        Marker::Square => polar(4, radius * 1.25, FRAC_PI_4),
        Marker::Diamond => polar(4, radius * 1.4, 0.0),
        Marker::TriangleUp => polar(3, radius * 1.45, -FRAC_PI_2),
        Marker::TriangleDown => polar(3, radius * 1.45, FRAC_PI_2),
        Marker::Pentagon => polar(5, radius * 1.25, -FRAC_PI_2),
        Marker::Plus => arms(radius * 1.35, radius * 0.45, false),
        Marker::Cross => arms(radius * 1.45, radius * 0.45, true),
    }
}

fn draw_chart<DB: DrawingBackend>(canvas: &Canvas<DB>, chart: &Chart) -> DrawResult<DB> {
    let plot = chart.plot;
    canvas.area.fill(&WHITE)?;

    // Grid and zero line.
    for value in Y_TICKS {
        let y = chart.y(value);
        let color = if value == 0.0 { ZERO } else { GRID };
        canvas.line(&[(plot.left, y), (plot.right, y)], color.to_rgba(), 1.0)?;
    }
    for tick in &chart.ticks {
        let x = chart.x(f64::from(tick.day));
        canvas.line(&[(x, plot.top), (x, plot.bottom)], GRID.to_rgba(), 1.0)?;
    }

    // Confidence bands under everything else; a lone period's interval is an error bar.
    for (i, series) in chart.series.iter().enumerate() {
        let (color, _) = style_of(i);
        for run in band_runs(&series.periods) {
            if let [period] = run {
                let (lo, hi) = period.ci.unwrap_or_default();
                let x = chart.period_x(period);
                let c = color.mix(0.55);
                canvas.line(&[(x, chart.y(lo)), (x, chart.y(hi))], c, 1.5)?;
                canvas.line(&[(x - 3.0, chart.y(lo)), (x + 3.0, chart.y(lo))], c, 1.5)?;
                canvas.line(&[(x - 3.0, chart.y(hi)), (x + 3.0, chart.y(hi))], c, 1.5)?;
                continue;
            }
            let upper = run.iter().map(|p| (chart.period_x(p), chart.y(p.ci.unwrap_or_default().1)));
            let lower = run.iter().rev().map(|p| (chart.period_x(p), chart.y(p.ci.unwrap_or_default().0)));
            let outline: Vec<(f64, f64)> = upper.chain(lower).collect();
            canvas.polygon(&outline, color.mix(BAND_ALPHA))?;
        }
    }

    // Intervals on the shifts' dates under the lines, over the plot's full height.
    for label in &chart.shift_labels {
        if let Some((from, to)) = label.band {
            let (color, _) = style_of(label.series);
            canvas.rect((from, plot.top), (to, plot.bottom), color.mix(SHIFT_BAND_ALPHA))?;
        }
    }

    // Shift markers: dashed from the plot bottom up to their label above the plot.
    for label in &chart.shift_labels {
        let (color, _) = style_of(label.series);
        let top = chart.shift_band_top + label.row as f64 * SHIFT_ROW + 1.0;
        canvas.dashed_vertical(label.x, plot.bottom, top, color.mix(0.9), 1.0)?;
        canvas.text(&label.text, (label.left, top), SHIFT_SIZE, color, HPos::Left)?;
    }

    // Lines and markers.
    for (i, series) in chart.series.iter().enumerate() {
        let (color, marker) = style_of(i);
        for run in line_runs(&series.periods) {
            let points: Vec<(f64, f64)> =
                run.iter().map(|p| (chart.period_x(p), chart.y(p.mean.unwrap_or_default()))).collect();
            if points.len() > 1 {
                canvas.line(&points, color.to_rgba(), LINE_WIDTH)?;
            }
            for point in points {
                canvas.marker(marker, point, MARKER_RADIUS, color.to_rgba())?;
            }
        }
    }

    // Axes, ticks, labels.
    canvas.line(&[(plot.left, plot.top), (plot.left, plot.bottom)], AXIS.to_rgba(), 1.0)?;
    canvas.line(&[(plot.left, plot.bottom), (plot.right, plot.bottom)], AXIS.to_rgba(), 1.0)?;
    for value in Y_TICKS {
        let y = chart.y(value);
        canvas.line(&[(plot.left - TICK_LENGTH, y), (plot.left, y)], AXIS.to_rgba(), 1.0)?;
        let top = y - cap_middle(TICK_SIZE);
        canvas.text(
            &y_tick_label(value),
            (plot.left - TICK_LENGTH - 4.0, top),
            TICK_SIZE,
            TEXT,
            HPos::Right,
        )?;
    }
    let tick_top = plot.bottom + TICK_LENGTH + 3.0;
    for tick in &chart.ticks {
        let x = chart.x(f64::from(tick.day));
        canvas.line(&[(x, plot.bottom), (x, plot.bottom + TICK_LENGTH)], AXIS.to_rgba(), 1.0)?;
        canvas.text(&tick.label, (x, tick_top), TICK_SIZE, TEXT, HPos::Center)?;
        if let Some(year) = &tick.sublabel {
            canvas.text(year, (x, tick_top + TICK_SIZE * 1.1), TICK_SIZE, MUTED, HPos::Center)?;
        }
    }
    let center_x = (plot.left + plot.right) / 2.0;
    canvas.text(
        &chart.x_label,
        (center_x, chart.height - MARGIN - LABEL_SIZE),
        LABEL_SIZE,
        TEXT,
        HPos::Center,
    )?;
    let y_label_at = (MARGIN + LABEL_SIZE - chart.y_label_size, (plot.top + plot.bottom) / 2.0);
    canvas.vertical_text(Y_LABEL, y_label_at, chart.y_label_size, TEXT)?;
    canvas.text(&chart.title, (MARGIN, MARGIN), TITLE_SIZE, TEXT, HPos::Left)?;

    // Legend, beside the plot.
    let mut y = plot.top + 2.0;
    let sample = (chart.legend_left, chart.legend_left + LEGEND_SAMPLE);
    for entry in &chart.legend {
        let mid = y + cap_middle(chart.legend_size);
        canvas.line(&[(sample.0, mid), (sample.1, mid)], entry.color.to_rgba(), LINE_WIDTH)?;
        canvas.marker(
            entry.marker,
            ((sample.0 + sample.1) / 2.0, mid),
            MARKER_RADIUS,
            entry.color.to_rgba(),
        )?;
        canvas.text(&entry.label, (sample.1 + 8.0, y), chart.legend_size, TEXT, HPos::Left)?;
        y += chart.legend_row;
    }
    y += chart.legend_row * 0.4;
    for (note, text) in &chart.legend_notes {
        let mid = y + cap_middle(chart.legend_size);
        // Samples as tall as a capital and a half, so they stay within their line.
        let half = chart.legend_size * 0.45;
        match note {
            LegendNote::Band => {
                canvas.rect((sample.0, mid - half), (sample.1, mid + half), AXIS.mix(BAND_ALPHA + 0.06))?
            }
            LegendNote::Shift => {
                let x = (sample.0 + sample.1) / 2.0;
                canvas.dashed_vertical(x, mid + half, mid - half, AXIS.to_rgba(), 1.0)?;
            }
            LegendNote::ShiftInterval => {
                let x = (sample.0 + sample.1) / 2.0;
                canvas.rect(
                    (x - half, mid - half),
                    (x + half, mid + half),
                    AXIS.mix(SHIFT_BAND_ALPHA + 0.06),
                )?;
                canvas.dashed_vertical(x, mid + half, mid - half, AXIS.to_rgba(), 1.0)?;
            }
        }
        canvas.text(text, (sample.1 + 8.0, y), chart.legend_size, MUTED, HPos::Left)?;
        y += chart.legend_row;
    }
    Ok(())
}

fn draw_error<E: StdError + Send + Sync + 'static>(
    format: ImageFormat,
) -> impl Fn(DrawingAreaErrorKind<E>) -> PlotError {
    move |e| PlotError::Draw { format, source: Box::new(e) }
}

fn render_svg(chart: &Chart, width: u32, height: u32) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let canvas = Canvas { area, scale: 1.0, raster_font: None };
        draw_chart(&canvas, chart).map_err(draw_error(ImageFormat::Svg))?;
        canvas.area.present().map_err(draw_error(ImageFormat::Svg))?;
    }
    Ok(svg)
}

/// `svg` with `provenance` in a `<metadata>` element first inside the root element.
fn with_metadata(mut svg: String, provenance: &Provenance) -> String {
    if provenance.is_empty() {
        return svg;
    }
    let escaped = provenance.to_json().replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let metadata = format!("\n<metadata id=\"{PROVENANCE_KEYWORD}\">{escaped}</metadata>");
    if let Some(end_of_root) =
        svg.find("<svg").and_then(|start| svg[start..].find('>').map(|end| start + end + 1))
    {
        svg.insert_str(end_of_root, &metadata);
    }
    svg
}

fn render_png(
    chart: &Chart,
    width: u32,
    height: u32,
    provenance: &Provenance,
    out: &Path,
) -> Result<Vec<u8>, PlotError> {
    let render_bytes = |factor: u32| u64::from(width * factor) * u64::from(height * factor) * 3;
    let supersample =
        (1..=SUPERSAMPLE).rev().find(|&s| render_bytes(PNG_DENSITY * s) <= MAX_RENDER_BYTES).unwrap_or(1);
    let scale = PNG_DENSITY * supersample;
    let (big_w, big_h) = (width * scale, height * scale);
    let mut big = vec![0u8; big_w as usize * big_h as usize * 3];
    {
        let area = BitMapBackend::with_buffer(&mut big, (big_w, big_h)).into_drawing_area();
        let canvas = Canvas { area, scale: f64::from(scale), raster_font: Some(typeface()?) };
        draw_chart(&canvas, chart).map_err(draw_error(ImageFormat::Png))?;
        canvas.area.present().map_err(draw_error(ImageFormat::Png))?;
    }
    let (w, h) = (width * PNG_DENSITY, height * PNG_DENSITY);
    let pixels = downsample(&big, big_w as usize, w as usize, h as usize, supersample as usize);
    let mut bytes = Vec::new();
    let encode = |source| PlotError::EncodePng { path: out.to_owned(), source };
    {
        let mut encoder = png::Encoder::new(&mut bytes, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        // Physical size = CSS size at 96 dpi, so documents place the figure at its intended size.
        let per_metre = (96.0 * f64::from(PNG_DENSITY) / 0.0254).round() as u32;
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: per_metre,
            yppu: per_metre,
            unit: png::Unit::Meter,
        }));
        if !provenance.is_empty() {
            encoder.add_itxt_chunk(PROVENANCE_KEYWORD.to_owned(), provenance.to_json()).map_err(encode)?;
        }
        let mut writer = encoder.write_header().map_err(encode)?;
        writer.write_image_data(&pixels).map_err(encode)?;
        writer.finish().map_err(encode)?;
    }
    Ok(bytes)
}

/// Box-filters an RGB image `factor` times down in each direction.
fn downsample(big: &[u8], big_w: usize, w: usize, h: usize, factor: usize) -> Vec<u8> {
    let mut out = vec![0u8; w * h * 3];
    let n = (factor * factor) as u32;
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0u32; 3];
            for dy in 0..factor {
                let row = (y * factor + dy) * big_w;
                for dx in 0..factor {
                    let i = (row + x * factor + dx) * 3;
                    for c in 0..3 {
                        sum[c] += u32::from(big[i + c]);
                    }
                }
            }
            let o = (y * w + x) * 3;
            for c in 0..3 {
                out[o + c] = ((sum[c] + n / 2) / n) as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> i32 {
        days_of(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    fn labels(from: i32, to: i32, width: f64) -> Vec<String> {
        choose_ticks(from, to, width, None).unwrap().into_iter().map(|t| t.label).collect()
    }

    #[test]
    fn month_spans_get_month_ticks() {
        let ticks: Vec<String> =
            choose_ticks(day(2025, 1, 1), day(2025, 8, 31), 700.0, Some(Cadence::Monthly))
                .unwrap()
                .into_iter()
                .map(|t| t.label)
                .collect();
        assert_eq!(
            ticks,
            ["Jan 2025", "Feb 2025", "Mar 2025", "Apr 2025", "May 2025", "Jun 2025", "Jul 2025", "Aug 2025"]
        );
    }

    #[test]
    fn long_spans_thin_out_to_quarters_half_years_or_years() {
        let two_years = labels(day(2023, 1, 1), day(2024, 12, 31), 800.0);
        assert_eq!(
            two_years,
            ["Q1 2023", "Q2 2023", "Q3 2023", "Q4 2023", "Q1 2024", "Q2 2024", "Q3 2024", "Q4 2024"]
        );
        let narrow = labels(day(2023, 1, 1), day(2024, 12, 31), 500.0);
        assert_eq!(narrow, ["Jan 2023", "Jul 2023", "Jan 2024", "Jul 2024"]);
        let decades = labels(day(1990, 1, 1), day(2024, 12, 31), 500.0);
        assert!(decades.len() >= 2 && decades.iter().all(|l| l.len() == 4), "{decades:?}");
    }

    #[test]
    fn a_single_day_gets_one_tick() {
        let ticks = choose_ticks(day(2025, 8, 1), day(2025, 8, 1), 600.0, Some(Cadence::Daily)).unwrap();
        assert_eq!(ticks.iter().map(|t| t.label.as_str()).collect::<Vec<_>>(), ["1 Aug"]);
    }

    #[test]
    fn ticks_are_no_finer_than_the_periods() {
        // Three monthly periods: month ticks, though week ticks would fit too.
        let ticks = choose_ticks(day(2025, 6, 1), day(2025, 8, 31), 700.0, Some(Cadence::Monthly)).unwrap();
        let labels: Vec<_> = ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["Jun 2025", "Jul 2025", "Aug 2025"]);
    }

    #[test]
    fn short_spans_get_days_and_weeks_with_the_year_once() {
        let days = choose_ticks(day(2025, 8, 1), day(2025, 8, 7), 600.0, Some(Cadence::Daily)).unwrap();
        assert_eq!(days[0].label, "1 Aug");
        assert_eq!(days[0].sublabel.as_deref(), Some("2025"));
        assert!(days[1..].iter().all(|t| t.sublabel.is_none()));
        // Twelve weeks across a new year: Monday ticks, the year printed again in January.
        let weeks = choose_ticks(day(2024, 11, 4), day(2025, 1, 26), 500.0, Some(Cadence::Weekly)).unwrap();
        assert!(weeks.iter().all(|t| to_date(t.day).unwrap().weekday() == chrono::Weekday::Mon), "{weeks:?}");
        let years: Vec<_> = weeks.iter().filter_map(|t| t.sublabel.clone()).collect();
        assert_eq!(years, ["2024", "2025"]);
    }

    fn period(start: i32, mean: Option<f64>) -> Period {
        Period { start, end: start + 29, mean, ci: mean.map(|m| (m - 0.1, m + 0.1)) }
    }

    #[test]
    fn lines_break_at_empty_and_missing_periods() {
        let periods = vec![
            period(0, Some(0.1)),
            period(30, Some(0.2)),
            period(60, None),
            period(90, Some(0.3)),
            // 120 is missing from the table entirely.
            period(150, Some(0.4)),
            period(180, Some(0.5)),
        ];
        let lengths: Vec<usize> = line_runs(&periods).iter().map(|r| r.len()).collect();
        assert_eq!(lengths, [2, 1, 2]);
        let mut no_ci = periods.clone();
        no_ci[1].ci = None;
        let lengths: Vec<usize> = band_runs(&no_ci).iter().map(|r| r.len()).collect();
        assert_eq!(lengths, [1, 1, 2]);
    }

    #[test]
    fn shift_labels_stack_without_crossing() {
        let first = ShiftLabel {
            series: 0,
            x: 100.0,
            text: String::new(),
            left: 104.0,
            width: 80.0,
            row: 0,
            band: None,
        };
        // Overlaps the first label: next row down, where the first label's line does not pass
        // through it (the line is left of the box).
        assert_eq!(shift_row(std::slice::from_ref(&first), 120.0, 124.0, 80.0), 1);
        // Clear of it: same row.
        assert_eq!(shift_row(std::slice::from_ref(&first), 200.0, 204.0, 80.0), 0);
        // A line that would run through a lower label's box must sit below it.
        let low = ShiftLabel { row: 1, ..first.clone() };
        assert_eq!(shift_row(&[low], 150.0, 154.0, 40.0), 2);
    }

    #[test]
    fn signs_are_typeset() {
        assert_eq!(signed(0.45, 2), "+0.45");
        assert_eq!(signed(-0.3, 2), "\u{2212}0.30");
        assert_eq!(y_tick_label(-0.5), "\u{2212}0.5");
        assert_eq!(y_tick_label(0.0), "0.0");
    }
}
