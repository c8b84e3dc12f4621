//! Trend charts drawn from a generated trends table: 3 actors × 8 months, one actor with an
//! empty month, one month with a single statement (no CI), and one detected shift.

mod common;

use chrono::NaiveDate;
use polars::prelude::*;
use stance::output::plot::{render_trend_chart, PlotError, PlotOptions, PNG_DENSITY};

const TARGET: &str = "peace negotiations";
const ACTORS: [&str; 3] = ["Kremlin", "White House", "Kyiv"];
/// Okabe–Ito blue, vermillion, bluish green: the first three line colours, by actor name order.
const COLOURS: [(&str, &str); 3] = [("Kremlin", "#0072B2"), ("Kyiv", "#D55E00"), ("White House", "#009E73")];

fn days(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

fn dates(name: &str, values: Vec<i32>) -> Column {
    Column::new(name.into(), values).cast(&DataType::Date).unwrap()
}

/// Monthly trends for January–August 2025, plus one row of another target.
fn trends() -> DataFrame {
    let (mut actor, mut target, mut start, mut end) = (vec![], vec![], vec![], vec![]);
    let (mut n, mut mean, mut low, mut high) = (vec![], vec![], vec![], vec![]);
    for (a, name) in ACTORS.iter().enumerate() {
        for month in 1..=8u32 {
            let first = NaiveDate::from_ymd_opt(2025, month, 1).unwrap();
            let last = NaiveDate::from_ymd_opt(2025, month + 1, 1).unwrap().pred_opt().unwrap();
            // Kyiv said nothing in May; the Kremlin said one thing in March.
            let count: u32 = match (*name, month) {
                ("Kyiv", 5) => 0,
                ("Kremlin", 3) => 1,
                _ => 12,
            };
            let level = match *name {
                "Kremlin" if month >= 6 => 0.35,
                "Kremlin" => -0.2,
                "White House" => 0.5 - 0.05 * f64::from(month),
                _ => -0.5 + 0.04 * f64::from(month) + 0.02 * a as f64,
            };
            actor.push(*name);
            target.push(TARGET);
            start.push(days(first));
            end.push(days(last));
            n.push(count);
            mean.push((count > 0).then_some(level));
            low.push((count > 1).then_some(level - 0.15));
            high.push((count > 1).then_some(level + 0.15));
        }
    }
    actor.push("Kremlin");
    target.push("sanctions on Russia");
    start.push(days(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()));
    end.push(days(NaiveDate::from_ymd_opt(2025, 1, 31).unwrap()));
    n.push(3);
    mean.push(Some(-0.8));
    low.push(Some(-0.9));
    high.push(Some(-0.7));
    DataFrame::new_infer_height(vec![
        Column::new("actor".into(), actor),
        Column::new("target".into(), target),
        dates("period_start", start),
        dates("period_end", end),
        Column::new("n".into(), n),
        Column::new("mean".into(), mean),
        Column::new("ci_low".into(), low),
        Column::new("ci_high".into(), high),
    ])
    .unwrap()
}

/// The Kremlin's shift on 10 June 2025, as a datetime like `stance shift` may write.
fn shifts() -> DataFrame {
    let date = days(NaiveDate::from_ymd_opt(2025, 6, 10).unwrap());
    let micros = i64::from(date) * 86_400_000_000 + 9 * 3_600_000_000;
    DataFrame::new_infer_height(vec![
        Column::new("actor".into(), ["Kremlin", "Kremlin"]),
        Column::new("target".into(), [TARGET, "sanctions on Russia"]),
        Column::new("date".into(), [micros, micros])
            .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
            .unwrap(),
        Column::new("delta".into(), [0.45, -0.3]),
        Column::new("p_adjusted".into(), [0.004, 0.03]),
        Column::new("before_mean".into(), [-0.2, -0.5]),
        Column::new("after_mean".into(), [0.25, -0.8]),
    ])
    .unwrap()
}

/// The contents of the SVG's `<text>` elements, in document order.
fn texts(svg: &str) -> Vec<&str> {
    svg.split("<text")
        .skip(1)
        .filter_map(|e| Some(e.split_once('>')?.1.split_once("</text>")?.0.trim()))
        .collect()
}

fn has_text(svg: &str, text: &str) -> bool {
    texts(svg).contains(&text)
}

fn text_position(svg: &str, text: &str) -> Option<usize> {
    texts(svg).iter().position(|t| *t == text)
}

/// `<polyline>` elements drawn in `colour` at the data line width.
fn lines_in(svg: &str, colour: &str) -> usize {
    svg.split("<polyline")
        .skip(1)
        .filter(|e| e.contains(&format!("stroke=\"{colour}\"")) && e.contains("stroke-width=\"2\""))
        .count()
}

#[test]
fn svg_chart_has_lines_legend_shift_and_month_ticks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chart.svg");
    render_trend_chart(&trends(), Some(&shifts()), &PlotOptions::new(TARGET), &out).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();

    // One legend sample per actor plus its line pieces: Kyiv's empty May breaks its line in two.
    for (actor, colour) in COLOURS {
        let pieces = if actor == "Kyiv" { 2 } else { 1 };
        assert_eq!(lines_in(&svg, colour), pieces + 1, "{actor} ({colour})");
        assert!(has_text(&svg, actor), "legend names {actor}");
    }
    assert!(has_text(&svg, "\u{394} +0.45 (10 Jun)"), "shift label");
    assert!(!svg.contains("\u{2212}0.30"), "the shift of another target is not drawn");
    for month in ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug"] {
        assert!(has_text(&svg, &format!("{month} 2025")), "tick {month} 2025");
    }
    assert!(has_text(&svg, "Stance toward peace negotiations"));
    assert!(has_text(&svg, "stance score (favor \u{2212} against)"));
    assert!(has_text(&svg, "date (monthly means)"));
    // Text names a generic family only: nothing depends on the machine's fonts.
    assert!(svg.contains("font-family=\"sans-serif\""));
    assert!(!svg.contains("DejaVu"));
    assert_eq!(common::file_names(dir.path()), ["chart.svg"]);
}

/// `<rect>` elements filled with `colour` at `opacity`, as (x, width).
fn rects_in(svg: &str, colour: &str, opacity: &str) -> Vec<(f64, f64)> {
    let attribute = |element: &str, name: &str| -> f64 {
        let value = element.split_once(&format!(" {name}=\"")).unwrap().1;
        value.split_once('"').unwrap().0.parse().unwrap()
    };
    svg.split("<rect")
        .skip(1)
        .map(|e| e.split_once("/>").unwrap().0)
        .filter(|e| {
            e.contains(&format!("fill=\"{colour}\"")) && e.contains(&format!("opacity=\"{opacity}\""))
        })
        .map(|e| (attribute(e, "x"), attribute(e, "width")))
        .collect()
}

#[test]
fn shift_date_intervals_are_bands_at_their_markers() {
    let dir = tempfile::tempdir().unwrap();
    let (with, without) = (dir.path().join("with.svg"), dir.path().join("without.svg"));
    let day = |d| days(NaiveDate::from_ymd_opt(2025, 6, d).unwrap());
    let mut intervals = shifts();
    intervals.with_column(dates("date_ci_low", vec![day(3), day(3)])).unwrap();
    intervals.with_column(dates("date_ci_high", vec![day(16), day(16)])).unwrap();
    render_trend_chart(&trends(), Some(&intervals), &PlotOptions::new(TARGET), &with).unwrap();
    // A table from before the intervals plots as it did.
    render_trend_chart(&trends(), Some(&shifts()), &PlotOptions::new(TARGET), &without).unwrap();
    let (with, without) = (std::fs::read_to_string(with).unwrap(), std::fs::read_to_string(without).unwrap());

    assert!(has_text(&with, "interval on its date") && !has_text(&without, "interval on its date"));
    assert!(has_text(&with, "detected shift") && has_text(&without, "detected shift"));
    // One band, in the Kremlin's colour, two weeks wide around the marker of 10 June: the
    // x axis runs about 243 days over about 600 pixels.
    let bands = rects_in(&with, "#0072B2", "0.1");
    assert_eq!(bands.len(), 1, "{bands:?}");
    let (x, width) = bands[0];
    assert!((25.0..45.0).contains(&width), "{width}");
    assert!(rects_in(&without, "#0072B2", "0.1").is_empty());
    // The band sits at the marker: the label of 10 June starts just right of it.
    let label_x: f64 = with
        .split("<text")
        .find(|e| e.contains("\u{394} +0.45"))
        .and_then(|e| e.split_once(" x=\"")?.1.split_once('"')?.0.parse().ok())
        .unwrap();
    assert!(x < label_x && label_x < x + width, "band {x}..{} label at {label_x}", x + width);

    let mut backwards = intervals.clone();
    backwards.with_column(dates("date_ci_high", vec![day(1), day(1)])).unwrap();
    let message =
        render_trend_chart(&trends(), Some(&backwards), &PlotOptions::new(TARGET), &dir.path().join("x.svg"))
            .unwrap_err()
            .to_string();
    assert!(message.contains("date_ci_high 2025-06-01 is before date_ci_low 2025-06-03"), "{message}");
}

#[test]
fn png_chart_is_written_at_print_density() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chart.png");
    let options = PlotOptions { width: 640, height: 400, ..PlotOptions::new(TARGET) };
    render_trend_chart(&trends(), Some(&shifts()), &options, &out).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let info = reader.info();
    assert_eq!((info.width, info.height), (640 * PNG_DENSITY, 400 * PNG_DENSITY));
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut pixels).unwrap();
    // Each actor's colour is present (lines and legend), so the chart is not blank.
    for (actor, colour) in COLOURS {
        let rgb: Vec<u8> =
            (0..3).map(|i| u8::from_str_radix(&colour[1 + 2 * i..3 + 2 * i], 16).unwrap()).collect();
        let hits = pixels.chunks(3).filter(|p| *p == rgb.as_slice()).count();
        assert!(hits > 500, "{actor}: {hits} pixels of {colour}");
    }
    assert_eq!(common::file_names(dir.path()), ["chart.png"]);
}

#[test]
fn actors_are_filtered_and_ordered_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chart.svg");
    let options = PlotOptions {
        actors: Some(vec!["White House".into(), "Kremlin".into()]),
        title: Some("Two actors".into()),
        ..PlotOptions::new(TARGET)
    };
    render_trend_chart(&trends(), Some(&shifts()), &options, &out).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(!has_text(&svg, "Kyiv"));
    assert!(has_text(&svg, "Two actors"));
    // The first actor asked for gets the first colour.
    assert_eq!(lines_in(&svg, "#0072B2"), 2);
    assert!(text_position(&svg, "White House").unwrap() < text_position(&svg, "Kremlin").unwrap());
    assert!(svg.contains("\u{394} +0.45"));
}

#[test]
fn unknown_target_lists_the_available_ones_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chart.svg");
    let err = render_trend_chart(&trends(), None, &PlotOptions::new("ceasefire"), &out).unwrap_err();
    assert!(matches!(err, PlotError::UnknownTarget { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("`ceasefire`"), "{message}");
    assert!(
        message.contains("`peace negotiations`") && message.contains("`sanctions on Russia`"),
        "{message}"
    );
    assert!(common::file_names(dir.path()).is_empty());
}

#[test]
fn unknown_actor_is_named_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chart.png");
    let options =
        PlotOptions { actors: Some(vec!["Kremlin".into(), "Beijing".into()]), ..PlotOptions::new(TARGET) };
    let err = render_trend_chart(&trends(), None, &options, &out).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("`Beijing`") && message.contains("`Kyiv`"), "{message}");
    assert!(common::file_names(dir.path()).is_empty());
}

#[test]
fn bad_tables_and_paths_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("chart.svg");
    let options = PlotOptions::new(TARGET);

    let no_mean = trends().drop("mean").unwrap();
    let message = render_trend_chart(&no_mean, None, &options, &svg).unwrap_err().to_string();
    assert!(message.contains("trends table has no column `mean`"), "{message}");

    let mut text_dates = trends();
    text_dates.with_column(Column::new("period_start".into(), vec!["2025-01-01"; 25])).unwrap();
    let message = render_trend_chart(&text_dates, None, &options, &svg).unwrap_err().to_string();
    assert!(message.contains("`period_start`") && message.contains("date"), "{message}");

    let no_delta = shifts().drop("delta").unwrap();
    let message = render_trend_chart(&trends(), Some(&no_delta), &options, &svg).unwrap_err().to_string();
    assert!(message.contains("shifts table has no column `delta`"), "{message}");

    let jpeg = dir.path().join("chart.jpg");
    let message = render_trend_chart(&trends(), None, &options, &jpeg).unwrap_err().to_string();
    assert!(message.contains(".svg or .png"), "{message}");

    let tiny = PlotOptions { width: 100, height: 80, ..PlotOptions::new(TARGET) };
    assert!(matches!(render_trend_chart(&trends(), None, &tiny, &svg), Err(PlotError::Size { .. })));

    let mut empty = trends();
    let nulls = Column::full_null("mean".into(), empty.height(), &DataType::Float64);
    empty.with_column(nulls).unwrap();
    assert!(matches!(render_trend_chart(&empty, None, &options, &svg), Err(PlotError::NoData { .. })));
    assert!(common::file_names(dir.path()).is_empty());
}

#[test]
fn an_existing_chart_survives_a_failed_render() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chart.svg");
    std::fs::write(&out, "old").unwrap();
    assert!(render_trend_chart(&trends(), None, &PlotOptions::new("ceasefire"), &out).is_err());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
    assert_eq!(common::file_names(dir.path()), ["chart.svg"]);
}

/// One month of trends for each of `actors`.
fn one_month(actors: &[String]) -> DataFrame {
    let first = days(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap());
    let count = actors.len();
    DataFrame::new_infer_height(vec![
        Column::new("actor".into(), actors),
        Column::new("target".into(), vec![TARGET; count]),
        dates("period_start", vec![first; count]),
        dates("period_end", vec![first + 30; count]),
        Column::new("n".into(), vec![5u32; count]),
        Column::new("mean".into(), (0..count).map(|i| i as f64 / count as f64).collect::<Vec<_>>()),
        Column::new("ci_low".into(), vec![None::<f64>; count]),
        Column::new("ci_high".into(), vec![None::<f64>; count]),
    ])
    .unwrap()
}

#[test]
fn control_characters_in_names_are_drawn_as_control_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chart.svg");
    let actors = vec!["Krem\u{1}lin\u{7f}".to_owned(), "White\u{1b}[31m House".to_owned()];
    let options = PlotOptions { title: Some("peace\u{8} talks".into()), ..PlotOptions::new(TARGET) };
    render_trend_chart(&one_month(&actors), None, &options, &out).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    // XML 1.0 allows no C0 control but tab, newline and carriage return.
    let invalid: Vec<char> =
        svg.chars().filter(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')).collect();
    assert!(invalid.is_empty(), "{invalid:?}");
    assert!(has_text(&svg, "Krem\u{2401}lin\u{2421}"), "{:?}", texts(&svg));
    assert!(has_text(&svg, "White\u{241b}[31m House"));
    assert!(has_text(&svg, "peace\u{2408} talks"));
}

#[test]
fn a_legend_too_long_for_the_chart_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chart.svg");
    let actors: Vec<String> = (0..10_000).map(|i| format!("actor {i}")).collect();
    let err = render_trend_chart(&one_month(&actors), None, &PlotOptions::new(TARGET), &out).unwrap_err();
    assert!(matches!(err, PlotError::LegendOverflow { actors: 10_000, .. }), "{err:?}");
    assert!(err.to_string().contains("--actors"), "{err}");
    assert!(common::file_names(dir.path()).is_empty());
    // As many actors as the legend holds are drawn, every one of them named.
    let PlotError::LegendOverflow { fits, .. } = err else { unreachable!() };
    render_trend_chart(&one_month(&actors[..fits]), None, &PlotOptions::new(TARGET), &out).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(actors[..fits].iter().all(|a| has_text(&svg, a)));
    let options = PlotOptions { height: 4 * PlotOptions::new(TARGET).height, ..PlotOptions::new(TARGET) };
    render_trend_chart(&one_month(&actors[..fits + 1]), None, &options, &out).unwrap();
}
