//! BIRD's time strings (`Since` column, `show status` times), parsed without reading the clock.
//!
//! BIRD prints local time with no zone. Depending on `timeformat` the same column can hold
//! `18:58:47.956` (time of day), `2026-11-24` (date only), `2026-11-25 18:58:47[.956]` or epoch
//! seconds (`"%s"`). Conversions to absolute time take the host's UTC offset as an argument.

use serde::Serialize;

/// A calendar date (`YYYY-MM-DD`), validated (month 1–12, day within the month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Date {
    /// Year, 1–9999.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, from 1.
    pub day: u8,
}

/// A time of day (`HH:MM[:SS[.fff]]`); `second` may be 60 (leap second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TimeOfDay {
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–60.
    pub second: u8,
    /// Fraction of the second in microseconds (`.956` → 956000); digits past 6 are dropped.
    pub micros: u32,
}

/// A local date and time with no zone, as BIRD prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BirdDateTime {
    /// The local date.
    pub date: Date,
    /// The local time of day.
    pub time: TimeOfDay,
}

/// One of the time forms BIRD prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BirdTime {
    /// `YYYY-MM-DD HH:MM:SS[.fff]` (`iso long [ms]`).
    DateTime(BirdDateTime),
    /// `HH:MM:SS[.fff]` (`iso short [ms]`, the default for recent events).
    TimeOfDay(TimeOfDay),
    /// `YYYY-MM-DD` (the default `iso short` form for events older than 20 h).
    Date(Date),
    /// Seconds since the Unix epoch (`timeformat protocol "%s"`).
    Epoch(i64),
}

/// Parses any of BIRD's time forms; `None` for anything else (never panics).
pub fn parse_bird_time(s: &str) -> Option<BirdTime> {
    let s = s.trim();
    if let Some((date, time)) = s.split_once(char::is_whitespace) {
        let date = parse_date(date)?;
        let time = parse_time_of_day(time.trim_start())?;
        return Some(BirdTime::DateTime(BirdDateTime { date, time }));
    }
    if !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok().map(BirdTime::Epoch);
    }
    if s.contains(':') {
        return parse_time_of_day(s).map(BirdTime::TimeOfDay);
    }
    parse_date(s).map(BirdTime::Date)
}

fn digits(s: &str, len: usize) -> Option<u32> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
}

fn parse_date(s: &str) -> Option<Date> {
    let mut parts = s.split('-');
    let year = digits(parts.next()?, 4)?;
    let month = digits(parts.next()?, 2)?;
    let day = digits(parts.next()?, 2)?;
    if parts.next().is_some() || !(1..=12).contains(&month) {
        return None;
    }
    let date = Date {
        year: year as u16,
        month: month as u8,
        day: day as u8,
    };
    (day >= 1 && day <= u32::from(days_in_month(date.year, date.month))).then_some(date)
}

fn parse_time_of_day(s: &str) -> Option<TimeOfDay> {
    let (clock, fraction) = match s.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (s, None),
    };
    let mut parts = clock.split(':');
    let hour = digits(parts.next()?, 2)?;
    let minute = digits(parts.next()?, 2)?;
    let second = match parts.next() {
        Some(second) => digits(second, 2)?,
        None if fraction.is_none() => 0,
        None => return None,
    };
    if parts.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let micros = match fraction {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let six: String = f.chars().chain(std::iter::repeat('0')).take(6).collect();
            six.parse().ok()?
        }
        Some(_) => return None,
    };
    Some(TimeOfDay {
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        micros,
    })
}

fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Earliest and latest Unix seconds that format as a four-digit year (0001-01-01 … 9999-12-31).
const MIN_UNIX: i64 = -62_135_596_800;
const MAX_UNIX: i64 = 253_402_300_799;

impl Date {
    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(&self) -> i64 {
        crate::time::days_from_civil(i64::from(self.year), self.month.into(), self.day.into())
    }

    /// The date `days` days after 1970-01-01 (`None` outside years 1–9999).
    pub fn from_days_since_epoch(days: i64) -> Option<Date> {
        if !(MIN_UNIX / 86_400..=MAX_UNIX / 86_400).contains(&days) {
            return None;
        }
        let (year, month, day) = crate::time::civil_from_days(days);
        Some(Date {
            year: u16::try_from(year).ok()?,
            month: month as u8,
            day: day as u8,
        })
    }
}

impl TimeOfDay {
    /// Seconds since midnight (fraction dropped).
    pub fn seconds_of_day(&self) -> i64 {
        i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second)
    }
}

impl BirdDateTime {
    /// Unix seconds of this local time, given the host's offset from UTC in seconds
    /// (east positive, e.g. `3600` for UTC+01:00). The fraction is dropped.
    pub fn to_unix_seconds(&self, utc_offset_secs: i32) -> i64 {
        self.date.days_since_epoch() * 86_400 + self.time.seconds_of_day()
            - i64::from(utc_offset_secs)
    }

    /// The local time for Unix seconds `secs` at the given UTC offset (`None` outside years
    /// 1–9999).
    pub fn from_unix_seconds(secs: i64, utc_offset_secs: i32) -> Option<BirdDateTime> {
        let local = secs.checked_add(i64::from(utc_offset_secs))?;
        let date = Date::from_days_since_epoch(local.div_euclid(86_400))?;
        let second_of_day = local.rem_euclid(86_400);
        let time = TimeOfDay {
            hour: (second_of_day / 3600) as u8,
            minute: (second_of_day % 3600 / 60) as u8,
            second: (second_of_day % 60) as u8,
            micros: 0,
        };
        Some(BirdDateTime { date, time })
    }

    /// RFC 3339 text of this local time at the given UTC offset, e.g.
    /// `2026-11-25T19:06:52.201+01:00` (`Z` for offset 0; fraction only when non-zero).
    /// `None` when the offset is not a whole number of minutes within ±24 h.
    pub fn to_rfc3339(&self, utc_offset_secs: i32) -> Option<String> {
        if utc_offset_secs % 60 != 0 || utc_offset_secs.unsigned_abs() >= 86_400 {
            return None;
        }
        let Date { year, month, day } = self.date;
        let TimeOfDay {
            hour,
            minute,
            second,
            micros,
        } = self.time;
        let mut out = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
        if micros % 1000 == 0 && micros != 0 {
            out.push_str(&format!(".{:03}", micros / 1000));
        } else if micros != 0 {
            out.push_str(&format!(".{micros:06}"));
        }
        if utc_offset_secs == 0 {
            out.push('Z');
        } else {
            let sign = if utc_offset_secs < 0 { '-' } else { '+' };
            let minutes = utc_offset_secs.unsigned_abs() / 60;
            out.push_str(&format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60));
        }
        Some(out)
    }
}

impl BirdTime {
    /// Unix seconds for the complete forms (date-time at the given offset, epoch); `None` for a
    /// bare date or time of day, which need a reference point.
    pub fn to_unix_seconds(&self, utc_offset_secs: i32) -> Option<i64> {
        match self {
            BirdTime::DateTime(datetime) => Some(datetime.to_unix_seconds(utc_offset_secs)),
            BirdTime::Epoch(secs) => Some(*secs),
            BirdTime::TimeOfDay(_) | BirdTime::Date(_) => None,
        }
    }

    /// RFC 3339 text for the complete forms (an epoch is shown at the given offset); `None` for
    /// a bare date or time of day, or an invalid offset.
    pub fn to_rfc3339(&self, utc_offset_secs: i32) -> Option<String> {
        match self {
            BirdTime::DateTime(datetime) => datetime.to_rfc3339(utc_offset_secs),
            BirdTime::Epoch(secs) => {
                BirdDateTime::from_unix_seconds(*secs, utc_offset_secs)?.to_rfc3339(utc_offset_secs)
            }
            BirdTime::TimeOfDay(_) | BirdTime::Date(_) => None,
        }
    }
}

#[cfg(test)]
#[path = "time_tests.rs"]
mod tests;
