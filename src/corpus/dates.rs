//! ISO 8601 dates and datetimes, parsed by hand (polars' temporal parsing needs features we do
//! not build) into one polars `Date` or `Datetime(µs)` column.
//!
//! Accepted: `2025-08-14`; `2025-08-14T10:30`, `2025-08-14 10:30:00`, `2025-08-14t10:30:00`;
//! fractional seconds after `.` or `,` (any number of digits, truncated to microseconds); a
//! zone `Z`, `+03:00`, `+0300` or `+03`. Surrounding whitespace is ignored; an empty value is
//! a missing date (null), not an error.

use std::fmt;
use std::path::Path;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime};
use polars::prelude::*;

use super::error::{CorpusError, SkipReason, SkippedRow};
use super::read::RowLines;

/// One parsed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedDate {
    /// A calendar date without a time.
    Date(NaiveDate),
    /// Microseconds since 1970-01-01T00:00:00: UTC for values that carried a zone, the wall
    /// clock as written for values that did not.
    DateTime(i64),
}

impl ParsedDate {
    /// The value's canonical text, used to derive ids: `2025-08-14` for a date,
    /// `2025-08-14T07:30:00.000000` (UTC or as written, no zone suffix) for a datetime.
    pub fn canonical(&self) -> String {
        match self {
            ParsedDate::Date(date) => date.format("%Y-%m-%d").to_string(),
            ParsedDate::DateTime(micros) => match DateTime::from_timestamp_micros(*micros) {
                Some(dt) => dt.naive_utc().format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
                None => micros.to_string(),
            },
        }
    }

    /// Within 0001-01-01 and 9999-12-31 (UTC for zoned values), as ISO 8601 text can say.
    fn has_four_digit_year(&self) -> bool {
        let year = match self {
            ParsedDate::Date(date) => date.year(),
            ParsedDate::DateTime(micros) => match DateTime::from_timestamp_micros(*micros) {
                Some(dt) => dt.year(),
                None => return false,
            },
        };
        (1..=9999).contains(&year)
    }

    fn days(date: NaiveDate) -> i32 {
        // Every NaiveDate lies within ±262,143 years, whose day count fits an i32.
        date.signed_duration_since(NaiveDate::default()).num_days() as i32
    }

    fn micros(&self) -> i64 {
        match self {
            ParsedDate::Date(date) => i64::from(Self::days(*date)) * MICROS_PER_DAY,
            ParsedDate::DateTime(micros) => *micros,
        }
    }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Why a value is not an accepted date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateProblem {
    /// Not in one of the accepted ISO 8601 shapes.
    Format,
    /// Well formed, but no such calendar day (e.g. 2025-02-30).
    NoSuchDay,
    /// Well formed, but the hour, minute or second is out of range.
    TimeOutOfRange,
    /// Well formed, but the zone offset is beyond ±23:59.
    OffsetOutOfRange,
    /// A stored date or datetime beyond the range this tool represents.
    OutOfRange,
    /// Before year 1 or after year 9999: four-digit ISO 8601 text, and so our CSV and NDJSON
    /// output, cannot hold it (it would be written as `+10000-…` and not read back).
    BeyondFourDigitYears,
}

impl fmt::Display for DateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DateProblem::Format => "not an ISO 8601 date or datetime",
            DateProblem::NoSuchDay => "no such calendar day",
            DateProblem::TimeOutOfRange => "the time of day is out of range",
            DateProblem::OffsetOutOfRange => "the zone offset is out of range",
            DateProblem::OutOfRange => "outside the representable range",
            DateProblem::BeyondFourDigitYears => {
                "outside the years 0001–9999 that ISO 8601 dates can be written in"
            }
        })
    }
}

/// Parses one ISO 8601 date or datetime; zoned values are converted to UTC.
pub fn parse_iso8601(value: &str) -> Result<ParsedDate, DateProblem> {
    let mut p = Bytes { b: value.trim().as_bytes(), pos: 0 };
    let year = p.digits(4)?;
    p.expect(b'-')?;
    let month = p.digits(2)?;
    p.expect(b'-')?;
    let day = p.digits(2)?;
    // `year` has four digits, so it fits an i32.
    let date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or(DateProblem::NoSuchDay)?;
    if p.done() {
        return Ok(ParsedDate::Date(date));
    }
    match p.next() {
        Some(b'T' | b't' | b' ') => {}
        _ => return Err(DateProblem::Format),
    }
    let hour = p.digits(2)?;
    p.expect(b':')?;
    let minute = p.digits(2)?;
    let (mut second, mut micros) = (0, 0);
    if p.peek() == Some(b':') {
        p.pos += 1;
        second = p.digits(2)?;
        if matches!(p.peek(), Some(b'.' | b',')) {
            p.pos += 1;
            micros = p.fraction()?;
        }
    }
    let offset_seconds = match p.next() {
        None => 0,
        Some(b'Z' | b'z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let hours = p.digits(2)?;
            let minutes = match p.peek() {
                None => 0,
                Some(b':') => {
                    p.pos += 1;
                    p.digits(2)?
                }
                Some(_) => p.digits(2)?,
            };
            if hours > 23 || minutes > 59 {
                return Err(DateProblem::OffsetOutOfRange);
            }
            let seconds = i64::from(hours * 3600 + minutes * 60);
            if sign == b'-' {
                -seconds
            } else {
                seconds
            }
        }
        Some(_) => return Err(DateProblem::Format),
    };
    if !p.done() {
        return Err(DateProblem::Format);
    }
    let time =
        NaiveTime::from_hms_micro_opt(hour, minute, second, micros).ok_or(DateProblem::TimeOutOfRange)?;
    let local = date.and_time(time).and_utc().timestamp_micros();
    Ok(ParsedDate::DateTime(local - offset_seconds * 1_000_000))
}

/// A cursor over the bytes of one value.
struct Bytes<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Bytes<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        self.pos += usize::from(c.is_some());
        c
    }

    fn done(&self) -> bool {
        self.pos >= self.b.len()
    }

    fn expect(&mut self, byte: u8) -> Result<(), DateProblem> {
        match self.next() {
            Some(c) if c == byte => Ok(()),
            _ => Err(DateProblem::Format),
        }
    }

    /// Exactly `n` ASCII digits (n ≤ 4) as a number.
    fn digits(&mut self, n: usize) -> Result<u32, DateProblem> {
        let mut value = 0;
        for _ in 0..n {
            match self.next() {
                Some(c @ b'0'..=b'9') => value = value * 10 + u32::from(c - b'0'),
                _ => return Err(DateProblem::Format),
            }
        }
        Ok(value)
    }

    /// One or more digits of a decimal fraction of a second, as microseconds (truncated).
    fn fraction(&mut self) -> Result<u32, DateProblem> {
        let start = self.pos;
        let mut micros = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            if self.pos - start < 6 {
                micros = micros * 10 + u32::from(c - b'0');
            }
            self.pos += 1;
        }
        let n = self.pos - start;
        if n == 0 {
            return Err(DateProblem::Format);
        }
        for _ in n..6 {
            micros *= 10;
        }
        Ok(micros)
    }
}

/// Each value of a date column, parsed; problems are listed with their rows, and their values
/// are `None` like missing dates.
pub(crate) struct DateValues {
    pub values: Vec<Option<ParsedDate>>,
    pub problems: Vec<SkippedRow>,
}

/// Parses a column that holds ISO 8601 strings, or already dates or datetimes (Parquet).
///
/// Other types are read through their text form, so a number shows up in the error as the
/// value that could not be parsed.
pub(crate) fn parse_date_values(
    series: &Series,
    path: &Path,
    rows: &RowLines,
    column: &str,
) -> Result<DateValues, CorpusError> {
    let mut problems = Vec::new();
    let mut problem = |index: usize, value: String, problem: DateProblem| {
        problems.push(SkippedRow {
            at: rows.at(index),
            column: column.to_owned(),
            reason: SkipReason::BadDate { value, problem },
        });
        None
    };
    let values: Vec<Option<ParsedDate>> = match series.dtype() {
        DataType::Date => {
            let days = series.date().map_err(|source| frame_error(path, source))?.physical();
            days.iter()
                .enumerate()
                .map(|(index, day)| {
                    let day = day?;
                    match NaiveDate::default().checked_add_signed(chrono::TimeDelta::days(i64::from(day))) {
                        Some(date) => Some(ParsedDate::Date(date)),
                        None => problem(index, format!("{day} days"), DateProblem::OutOfRange),
                    }
                })
                .collect()
        }
        DataType::Datetime(unit, _) => {
            // Stored instants are UTC whatever zone the column names, so dropping the zone
            // leaves UTC, as for parsed zoned strings.
            let unit = *unit;
            let raw = series.datetime().map_err(|source| frame_error(path, source))?.physical();
            raw.iter()
                .enumerate()
                .map(|(index, value)| {
                    let value = value?;
                    let micros = match unit {
                        TimeUnit::Nanoseconds => Some(value.div_euclid(1000)),
                        TimeUnit::Microseconds => Some(value),
                        TimeUnit::Milliseconds => value.checked_mul(1000),
                    };
                    match micros {
                        Some(micros) => Some(ParsedDate::DateTime(micros)),
                        None => problem(index, format!("{value} {unit}"), DateProblem::OutOfRange),
                    }
                })
                .collect()
        }
        DataType::Null => vec![None; series.len()],
        _ => {
            let text = series.cast(&DataType::String).map_err(|_| CorpusError::ColumnType {
                path: path.to_owned(),
                column: column.to_owned(),
                dtype: series.dtype().clone(),
                expected: "ISO 8601 date strings, or a date or datetime column",
            })?;
            let text = text.str().map_err(|source| frame_error(path, source))?;
            text.iter()
                .enumerate()
                .map(|(index, value)| {
                    let value = value?;
                    if value.trim().is_empty() {
                        return None;
                    }
                    match parse_iso8601(value) {
                        Ok(parsed) => Some(parsed),
                        Err(p) => problem(index, value.to_owned(), p),
                    }
                })
                .collect()
        }
    };
    // A zone offset can carry a written 9999-12-31 past the end of year 9999 in UTC.
    let values = values
        .into_iter()
        .enumerate()
        .map(|(index, value)| match value {
            Some(date) if !date.has_four_digit_year() => {
                problem(index, date.canonical(), DateProblem::BeyondFourDigitYears)
            }
            value => value,
        })
        .collect();
    Ok(DateValues { values, problems })
}

/// The polars column for parsed values: `Date` when every value is a plain date, otherwise
/// `Datetime(µs)` with plain dates at midnight.
pub(crate) fn date_series(name: &str, values: &[Option<ParsedDate>]) -> Series {
    if values.iter().all(|v| !matches!(v, Some(ParsedDate::DateTime(_)))) {
        let days = values.iter().map(|v| match v {
            Some(ParsedDate::Date(date)) => Some(ParsedDate::days(*date)),
            _ => None,
        });
        Int32Chunked::from_iter_options(name.into(), days).into_date().into_series()
    } else {
        let micros = values.iter().map(|v| v.as_ref().map(ParsedDate::micros));
        Int64Chunked::from_iter_options(name.into(), micros)
            .into_datetime(TimeUnit::Microseconds, None)
            .into_series()
    }
}

/// Turns a date column (strings, dates or datetimes) into a `Date` or `Datetime(µs)` column,
/// the way [`super::read_corpus`] does, for tables whose rows have no known lines.
///
/// Without `skip_invalid` the first unparseable value is an error. With it, such values
/// become null and are returned as skipped rows: the caller drops those rows (see
/// [`drop_skipped`]). Missing or empty values are null and never an error.
pub fn parse_dates(
    series: &Series,
    file: &Path,
    column: &str,
    skip_invalid: bool,
) -> Result<(Series, Vec<SkippedRow>), CorpusError> {
    parse_dates_at(series, file, &RowLines::unknown(), column, skip_invalid)
}

/// [`parse_dates`] for a table whose rows' lines are known (from [`super::load_table`]).
pub fn parse_dates_at(
    series: &Series,
    file: &Path,
    rows: &RowLines,
    column: &str,
    skip_invalid: bool,
) -> Result<(Series, Vec<SkippedRow>), CorpusError> {
    let DateValues { values, mut problems } = parse_date_values(series, file, rows, column)?;
    if !skip_invalid && !problems.is_empty() {
        return Err(problems.swap_remove(0).into_error(file.to_owned()));
    }
    Ok((date_series(series.name(), &values), problems))
}

/// `frame` without the rows listed in `skipped`.
pub fn drop_skipped(frame: &DataFrame, skipped: &[SkippedRow]) -> PolarsResult<DataFrame> {
    if skipped.is_empty() {
        return Ok(frame.clone());
    }
    let mut keep = vec![true; frame.height()];
    for row in skipped {
        if let Some(k) = keep.get_mut(row.index()) {
            *k = false;
        }
    }
    frame.filter(&BooleanChunked::from_slice("keep".into(), &keep))
}

fn frame_error(path: &Path, source: PolarsError) -> CorpusError {
    CorpusError::Frame { path: path.to_owned(), source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(s: &str) -> i64 {
        match parse_iso8601(s) {
            Ok(ParsedDate::DateTime(m)) => m,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, us: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_micro_opt(h, mi, s, us))
            .map(|dt| dt.and_utc().timestamp_micros())
            .expect("valid test date")
    }

    #[test]
    fn plain_dates() {
        assert_eq!(
            parse_iso8601("2025-08-14"),
            Ok(ParsedDate::Date(NaiveDate::from_ymd_opt(2025, 8, 14).unwrap()))
        );
        assert_eq!(
            parse_iso8601("  2024-02-29 "),
            Ok(ParsedDate::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()))
        );
    }

    #[test]
    fn naive_datetimes_are_taken_as_written() {
        let expected = utc(2025, 8, 14, 10, 30, 0, 0);
        assert_eq!(micros("2025-08-14T10:30:00"), expected);
        assert_eq!(micros("2025-08-14 10:30"), expected);
        assert_eq!(micros("2025-08-14t10:30"), expected);
        assert_eq!(micros("2025-08-14T10:30:00.5"), expected + 500_000);
        assert_eq!(micros("2025-08-14T10:30:00,123456789"), expected + 123_456);
        assert_eq!(micros("2025-08-14T10:30:00.000001"), expected + 1);
    }

    #[test]
    fn zoned_datetimes_become_utc() {
        let expected = utc(2025, 8, 14, 7, 30, 0, 0);
        for value in [
            "2025-08-14T07:30:00Z",
            "2025-08-14T07:30:00z",
            "2025-08-14T10:30:00+03:00",
            "2025-08-14T10:30:00+0300",
            "2025-08-14T10:30:00+03",
            "2025-08-14 10:30+03:00",
            "2025-08-14T02:00:00-05:30",
            "2025-08-14T07:30:00-00:00",
        ] {
            assert_eq!(micros(value), expected, "{value}");
        }
        // Crossing midnight backwards into the previous day.
        assert_eq!(micros("2025-08-14T01:00:00+03:00"), utc(2025, 8, 13, 22, 0, 0, 0));
    }

    #[test]
    fn rejected_values_say_why() {
        for value in [
            "14/08/2025",
            "2025/08/14",
            "20250814",
            "2025-8-14",
            "Aug 14 2025",
            "2025-08-14T10",
            "2025-08-14T10:30:00.",
            "2025-08-14T10:30:00 +03:00",
            "2025-08-14T10:30:00+3",
            "2025-08-14T10:30:00+03:00:00",
            "2025-08-14X10:30",
            "2025-08-14T10:30:00ZZ",
            "２０２５-08-14",
        ] {
            assert_eq!(parse_iso8601(value), Err(DateProblem::Format), "{value}");
        }
        assert_eq!(parse_iso8601("2025-02-29"), Err(DateProblem::NoSuchDay));
        assert_eq!(parse_iso8601("2025-13-01"), Err(DateProblem::NoSuchDay));
        assert_eq!(parse_iso8601("2025-08-14T24:00"), Err(DateProblem::TimeOutOfRange));
        assert_eq!(parse_iso8601("2025-08-14T10:60"), Err(DateProblem::TimeOutOfRange));
        assert_eq!(parse_iso8601("2025-08-14T10:30+24:00"), Err(DateProblem::OffsetOutOfRange));
    }

    #[test]
    fn canonical_text() {
        assert_eq!(parse_iso8601("2025-08-14").unwrap().canonical(), "2025-08-14");
        assert_eq!(
            parse_iso8601("2025-08-14T10:30:00.25+03:00").unwrap().canonical(),
            "2025-08-14T07:30:00.250000"
        );
    }

    #[test]
    fn column_of_dates_stays_date_and_mixed_becomes_datetime() {
        let path = Path::new("t.csv");
        let dates = Series::new("d".into(), [Some("2025-08-14"), None, Some(" ")]);
        let (out, skipped) = parse_dates(&dates, path, "d", false).unwrap();
        assert_eq!(out.dtype(), &DataType::Date);
        assert_eq!(out.null_count(), 2);
        assert!(skipped.is_empty());

        let mixed = Series::new("d".into(), ["2025-08-14", "2025-08-14T10:30:00+03:00"]);
        let (out, _) = parse_dates(&mixed, path, "d", false).unwrap();
        assert_eq!(out.dtype(), &DataType::Datetime(TimeUnit::Microseconds, None));
        let raw: Vec<Option<i64>> = out.datetime().unwrap().physical().iter().collect();
        assert_eq!(raw, vec![Some(utc(2025, 8, 14, 0, 0, 0, 0)), Some(utc(2025, 8, 14, 7, 30, 0, 0))]);
    }

    /// `+10000-01-01` is what CSV and NDJSON output would hold, and nothing reads it back.
    #[test]
    fn dates_past_year_9999_are_refused_naming_the_row() {
        let path = Path::new("c.csv");
        let fine = Series::new("d".into(), ["0001-01-01", "9999-12-31T23:30:00+01:00"]);
        assert!(parse_dates(&fine, path, "d", false).is_ok());
        let zoned = Series::new("d".into(), ["2025-01-01", "9999-12-31T23:30:00-01:00"]);
        let err = parse_dates(&zoned, path, "d", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "c.csv: row 2, column \"d\": cannot parse \"+10000-01-01T00:30:00.000000\" as an ISO 8601 \
             date or datetime (outside the years 0001–9999 that ISO 8601 dates can be written in)"
        );
        let year_zero = Series::new("d".into(), ["0000-06-01"]);
        assert!(parse_dates(&year_zero, path, "d", false).is_err());
        let far = NaiveDate::from_ymd_opt(12_000, 1, 1).unwrap();
        let stored = Int32Chunked::new("d".into(), [ParsedDate::days(far)]).into_date().into_series();
        let (out, skipped) = parse_dates(&stored, path, "d", true).unwrap();
        assert_eq!((out.null_count(), skipped.len()), (1, 1));
    }

    #[test]
    fn bad_value_is_an_error_or_a_skipped_row() {
        let path = Path::new("scores.csv");
        let s = Series::new("when".into(), ["2025-08-14", "14/08/2025", "2025-02-30"]);
        let err = parse_dates(&s, path, "when", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "scores.csv: row 2, column \"when\": cannot parse \"14/08/2025\" as an ISO 8601 date or \
             datetime (expected e.g. 2025-08-14, 2025-08-14T10:30:00 or 2025-08-14T10:30:00+03:00)"
        );
        let (out, skipped) = parse_dates(&s, path, "when", true).unwrap();
        assert_eq!(out.null_count(), 2);
        assert_eq!(skipped.len(), 2);
        assert_eq!(
            skipped[1].to_string(),
            "row 3, column \"when\": cannot parse \"2025-02-30\" as an ISO 8601 date or datetime \
             (no such calendar day)"
        );
        let frame = DataFrame::new(3, vec![s.into_column()]).unwrap();
        assert_eq!(drop_skipped(&frame, &skipped).unwrap().height(), 1);
    }

    #[test]
    fn numbers_are_reported_as_their_text() {
        let s = Series::new("date".into(), [20250814i64]);
        let err = parse_dates(&s, Path::new("x.parquet"), "date", false).unwrap_err();
        assert!(err.to_string().contains("row 1, column \"date\": cannot parse \"20250814\""), "{err}");
    }

    #[test]
    fn stored_datetimes_are_normalised_to_microseconds_without_zone() {
        let ns = Int64Chunked::from_slice("d".into(), &[1_755_156_600_123_456_789])
            .into_datetime(TimeUnit::Nanoseconds, None)
            .into_series();
        let (out, _) = parse_dates(&ns, Path::new("x.parquet"), "d", false).unwrap();
        assert_eq!(out.dtype(), &DataType::Datetime(TimeUnit::Microseconds, None));
        assert_eq!(out.datetime().unwrap().physical().get(0), Some(1_755_156_600_123_456));
        let ms = Int64Chunked::from_slice("d".into(), &[-1])
            .into_datetime(TimeUnit::Milliseconds, None)
            .into_series();
        let (out, _) = parse_dates(&ms, Path::new("x.parquet"), "d", false).unwrap();
        assert_eq!(out.datetime().unwrap().physical().get(0), Some(-1000));
    }
}
