//! Calendar periods for aggregation: day, ISO week (Monday to Sunday), month, quarter.
//!
//! A period is named by its first day (`period_start`); `period_end` is its last day,
//! inclusive, so a January row reads `2024-01-01 .. 2024-01-31`.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::AnalysisError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Day,
    /// ISO 8601 week: Monday to Sunday. A week that straddles New Year belongs to neither year
    /// in particular; it is named by its Monday.
    Week,
    #[default]
    Month,
    /// Calendar quarters: January–March, April–June, July–September, October–December.
    Quarter,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Day, Period::Week, Period::Month, Period::Quarter];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Quarter => "quarter",
        }
    }

    /// The first day of the period that contains `date` (saturating at chrono's first day).
    pub fn start(self, date: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => date,
            Period::Week => {
                let back = u64::from(date.weekday().num_days_from_monday());
                date.checked_sub_days(Days::new(back)).unwrap_or(NaiveDate::MIN)
            }
            Period::Month => date.with_day(1).unwrap_or(date),
            Period::Quarter => {
                let month = (date.month0() / 3) * 3 + 1;
                NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date)
            }
        }
    }

    /// The first day of the period after the one that contains `date`; `None` past the end of
    /// the calendar chrono supports.
    pub fn next_start(self, date: NaiveDate) -> Option<NaiveDate> {
        let start = self.start(date);
        match self {
            Period::Day => start.checked_add_days(Days::new(1)),
            Period::Week => start.checked_add_days(Days::new(7)),
            Period::Month => start.checked_add_months(Months::new(1)),
            Period::Quarter => start.checked_add_months(Months::new(3)),
        }
    }

    /// The last day (inclusive) of the period that contains `date`.
    pub fn end(self, date: NaiveDate) -> Option<NaiveDate> {
        self.next_start(date).and_then(|next| next.pred_opt())
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Period {
    type Err = AnalysisError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" | "daily" | "d" => Ok(Period::Day),
            "week" | "weekly" | "w" => Ok(Period::Week),
            "month" | "monthly" | "m" => Ok(Period::Month),
            "quarter" | "quarterly" | "q" => Ok(Period::Quarter),
            _ => Err(AnalysisError::UnknownPeriod(s.to_owned())),
        }
    }
}

/// Polars stores dates as days since 1970-01-01.
pub(crate) fn to_days(date: NaiveDate) -> i32 {
    date.to_epoch_days()
}

/// The inverse of [`to_days`]; `None` outside chrono's calendar.
pub(crate) fn from_days(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_epoch_days(days)
}

/// Consecutive period starts from the period containing `first` through the one containing
/// `last`.
pub(crate) fn period_starts(period: Period, first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut current = Some(period.start(first));
    while let Some(start) = current.filter(|s| *s <= last) {
        out.push(start);
        current = period.next_start(start);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn iso_weeks_start_on_monday_across_year_ends() {
        // 2020-12-31 is a Thursday; its ISO week (2020-W53) runs Mon 2020-12-28 .. Sun 2021-01-03.
        assert_eq!(Period::Week.start(d(2020, 12, 31)), d(2020, 12, 28));
        assert_eq!(Period::Week.start(d(2021, 1, 3)), d(2020, 12, 28));
        assert_eq!(Period::Week.end(d(2021, 1, 1)), Some(d(2021, 1, 3)));
        assert_eq!(Period::Week.start(d(2021, 1, 4)), d(2021, 1, 4));
        // 2024-12-30 (Monday) starts 2025-W01.
        assert_eq!(Period::Week.start(d(2025, 1, 1)), d(2024, 12, 30));
        assert_eq!(d(2024, 12, 30).iso_week().week(), 1);
        // A Sunday belongs to the week of the Monday before it.
        assert_eq!(Period::Week.start(d(2024, 3, 10)), d(2024, 3, 4));
    }

    #[test]
    fn months_and_quarters() {
        assert_eq!(Period::Month.start(d(2024, 2, 29)), d(2024, 2, 1));
        assert_eq!(Period::Month.end(d(2024, 2, 10)), Some(d(2024, 2, 29)));
        assert_eq!(Period::Month.end(d(2023, 2, 10)), Some(d(2023, 2, 28)));
        assert_eq!(Period::Month.next_start(d(2023, 12, 31)), Some(d(2024, 1, 1)));
        assert_eq!(Period::Quarter.start(d(2024, 3, 31)), d(2024, 1, 1));
        assert_eq!(Period::Quarter.start(d(2024, 4, 1)), d(2024, 4, 1));
        assert_eq!(Period::Quarter.start(d(2024, 11, 15)), d(2024, 10, 1));
        assert_eq!(Period::Quarter.end(d(2024, 11, 15)), Some(d(2024, 12, 31)));
        assert_eq!(Period::Quarter.end(d(2024, 5, 15)), Some(d(2024, 6, 30)));
        assert_eq!(Period::Day.end(d(2024, 5, 15)), Some(d(2024, 5, 15)));
    }

    #[test]
    fn period_ranges_include_both_ends() {
        let starts = period_starts(Period::Quarter, d(2023, 11, 5), d(2024, 4, 2));
        assert_eq!(starts, [d(2023, 10, 1), d(2024, 1, 1), d(2024, 4, 1)]);
        let weeks = period_starts(Period::Week, d(2020, 12, 31), d(2021, 1, 11));
        assert_eq!(weeks.len(), 3);
        assert_eq!(weeks[0], d(2020, 12, 28));
        assert_eq!(weeks[2], d(2021, 1, 11));
        assert_eq!(from_days(to_days(weeks[2])), Some(weeks[2]));
    }

    #[test]
    fn parses_names() {
        for p in Period::ALL {
            assert_eq!(p.as_str().parse::<Period>().unwrap(), p);
            assert_eq!(p.to_string().to_uppercase().parse::<Period>().unwrap(), p);
        }
        assert!("fortnight".parse::<Period>().is_err());
        assert_eq!(serde_json::to_string(&Period::Quarter).unwrap(), "\"quarter\"");
    }
}
