//! Schedules: crontab(5) expressions translated to the cron crate's dialect, evaluated in UTC or a named time zone.
//!
//! The expression is parsed here with crontab(5) rules (5 fields, names, day of week 0 or 7 =
//! Sunday, day-of-month OR day-of-week when both are restricted) and handed to the `cron` crate
//! as explicit ordinal lists in its own dialect (seconds first, 1 = Sunday, always AND). The
//! crate searches wall-clock time; this module maps wall-clock times to instants:
//!
//! - a wall-clock time skipped by a spring-forward gap fires at the first minute after the gap
//!   (what Vixie cron and cronie do for fixed-time jobs);
//! - a wall-clock time repeated by a fall-back overlap fires once, at its first occurrence.
//!
//! The `cron` crate searches the years 1970 to 2100; no time after 2100 is ever returned.

use chrono::{DateTime, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use std::str::FromStr;

#[derive(Clone, Debug)]
pub struct Schedule {
    tz: Tz,
    /// One arm, or two when crontab's "day of month OR day of week" rule applies, because the
    /// cron crate only ANDs its day fields. A time fires when any arm matches it.
    arms: Vec<cron::Schedule>,
}

/// One of the five crontab fields: its range and, for month and day of week, its names.
struct FieldSpec {
    label: &'static str,
    min: u32,
    max: u32,
    /// Names in ordinal order starting at `min`.
    names: &'static [&'static str],
}

const MINUTE: FieldSpec = FieldSpec {
    label: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: FieldSpec = FieldSpec {
    label: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: FieldSpec = FieldSpec {
    label: "day of month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: FieldSpec = FieldSpec {
    label: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DAY_OF_WEEK: FieldSpec = FieldSpec {
    label: "day of week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

/// Longest spring-forward gap a wall-clock time is shifted across (Samoa skipped a whole day).
const MAX_GAP_MINUTES: i64 = 48 * 60;

/// A parsed field: the set of ordinals as bits, and whether it was written starting with `*`,
/// which is what crontab(5) looks at to choose between AND and OR for the day fields.
#[derive(Clone, Copy)]
struct Field {
    bits: u64,
    star: bool,
}

impl Schedule {
    /// Parses a 5-field crontab(5) expression or one of the @-macros. The error is one line
    /// saying what is wrong, without a prefix.
    pub fn parse(expr: &str, tz: Option<Tz>) -> Result<Schedule, String> {
        let trimmed = expr.trim();
        let expanded = if trimmed.starts_with('@') {
            expand_macro(trimmed)?
        } else {
            trimmed
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        let [minute, hour, dom, month, dow] = parts[..] else {
            return Err(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), got {}",
                parts.len()
            ));
        };
        let minute = parse_field(minute, &MINUTE)?;
        let hour = parse_field(hour, &HOUR)?;
        let dom = parse_field(dom, &DAY_OF_MONTH)?;
        let month = parse_field(month, &MONTH)?;
        let mut dow = parse_field(dow, &DAY_OF_WEEK)?;
        if dow.bits & (1 << 7) != 0 {
            dow.bits = (dow.bits & !(1 << 7)) | 1;
        }

        let all_days = Field {
            bits: bits_of_range(1, 31),
            star: true,
        };
        let all_weekdays = Field {
            bits: bits_of_range(0, 6),
            star: true,
        };
        // crontab(5): if either day field starts with `*` the day must match both (a plain `*`
        // matches everything); if both are restricted, matching either is enough.
        let day_rules = if dom.star || dow.star {
            vec![(dom, dow)]
        } else {
            vec![(dom, all_weekdays), (all_days, dow)]
        };
        let arms = day_rules
            .into_iter()
            .filter(|(dom, _)| can_fire(month.bits, dom.bits))
            .map(|(dom, dow)| to_cron(minute, hour, dom, month, dow))
            .collect::<Result<Vec<_>, _>>()?;
        if arms.is_empty() {
            return Err("never fires: no month in the expression has that day of month".into());
        }
        Ok(Schedule {
            tz: tz.unwrap_or(Tz::UTC),
            arms,
        })
    }

    /// The first fire time strictly after `t`, or `None` past the year 2100.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let wall = t.with_timezone(&self.tz).naive_local().and_utc();
        self.arms
            .iter()
            .filter_map(|arm| {
                // Wall-clock candidates inside a repeated hour can map to instants before `t`.
                arm.after(&wall)
                    .filter_map(|w| self.instant_of(w.naive_utc()))
                    .find(|&i| i > t)
            })
            .min()
    }

    /// The next `n` fire times after `after`, in order.
    pub(crate) fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        std::iter::successors(self.next_after(after), |&t| self.next_after(t))
            .take(n)
            .collect()
    }

    /// The latest fire time in `(since, now]`, if there is one.
    pub(crate) fn latest_fire_in(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if since >= now {
            return None;
        }
        // The latest wall-clock time whose first occurrence is at or before `now`: `now` in the
        // largest offset in force during the last day, which covers a fall-back overlap `now`
        // may be in the second pass of.
        let offset_secs =
            |i: DateTime<Utc>| i.with_timezone(&self.tz).offset().fix().local_minus_utc();
        let day_before = now.checked_sub_signed(TimeDelta::hours(25)).unwrap_or(now);
        let max_offset = offset_secs(now).max(offset_secs(day_before));
        let upper = now.checked_add_signed(TimeDelta::seconds(i64::from(max_offset) + 1))?;
        let upper_wall = upper.naive_utc().and_utc();
        self.arms
            .iter()
            .filter_map(|arm| {
                arm.after(&upper_wall)
                    .rev()
                    .filter_map(|w| self.instant_of(w.naive_utc()))
                    .find(|&i| i <= now)
            })
            .max()
            .filter(|&i| i > since)
    }

    /// Whether a task last successful at `last_success` is due at `now`: it never succeeded, or
    /// the schedule fired since.
    pub(crate) fn is_due(&self, last_success: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        last_success.is_none_or(|since| self.latest_fire_in(since, now).is_some())
    }

    /// The instant a wall-clock fire time in this schedule's zone stands for.
    fn instant_of(&self, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
        let first_existing = |wall: NaiveDateTime| self.tz.from_local_datetime(&wall).earliest();
        let local = first_existing(wall).or_else(|| {
            (1..=MAX_GAP_MINUTES).find_map(|m| first_existing(wall + TimeDelta::minutes(m)))
        })?;
        Some(local.with_timezone(&Utc))
    }
}

fn expand_macro(name: &str) -> Result<&'static str, String> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        "@reboot" => return Err("@reboot is not a schedule certanon can run on".into()),
        _ => {
            return Err(format!(
                "unknown macro {name:?} (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)"
            ));
        }
    })
}

fn bits_of_range(low: u32, high: u32) -> u64 {
    (low..=high).fold(0, |bits, v| bits | 1 << v)
}

fn parse_field(text: &str, spec: &FieldSpec) -> Result<Field, String> {
    let mut bits = 0;
    for item in text.split(',') {
        bits |= parse_item(item, spec)
            .map_err(|why| format!("{} field {text:?}: {why}", spec.label))?;
    }
    Ok(Field {
        bits,
        star: text.starts_with('*'),
    })
}

/// One comma-separated item: `*`, `N`, `A-B`, each optionally followed by `/STEP` (not `N`).
fn parse_item(item: &str, spec: &FieldSpec) -> Result<u64, String> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(parse_number(step, "step")?)),
        None => (item, None),
    };
    let (low, high) = if range == "*" {
        (spec.min, spec.max)
    } else if let Some((low, high)) = range.split_once('-') {
        let (low, high) = (parse_value(low, spec)?, parse_value(high, spec)?);
        if low > high {
            return Err(format!("range {range:?} goes backwards"));
        }
        (low, high)
    } else {
        let value = parse_value(range, spec)?;
        if step.is_some() {
            return Err(format!(
                "a step needs a range or `*` before it, not {range:?}"
            ));
        }
        (value, value)
    };
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err("step 0".into());
    }
    Ok((low..=high)
        .step_by(step as usize)
        .fold(0, |bits, v| bits | 1 << v))
}

fn parse_value(text: &str, spec: &FieldSpec) -> Result<u32, String> {
    if let Some(index) = spec
        .names
        .iter()
        .position(|name| name.eq_ignore_ascii_case(text))
    {
        return Ok(spec.min + index as u32);
    }
    if !spec.names.is_empty() && text.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(format!(
            "unknown name {text:?} (expected {}…{})",
            spec.names[0],
            spec.names[spec.names.len() - 1]
        ));
    }
    let value = parse_number(text, "value")?;
    if value < spec.min || value > spec.max {
        return Err(format!(
            "{value} is out of range ({}-{})",
            spec.min, spec.max
        ));
    }
    Ok(value)
}

fn parse_number(text: &str, what: &str) -> Result<u32, String> {
    if text.is_empty() {
        return Err(format!("empty {what}"));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} {text:?} is not a number"));
    }
    // Only digits, so the one failure left is a number too large for u32.
    text.parse()
        .map_err(|_| format!("{what} {text} is out of range"))
}

/// Whether some month in `months` has some day in `days` in some year (February has 29 in leap
/// years). Every such date falls on every day of the week in some year, so this is exact.
fn can_fire(months: u64, days: u64) -> bool {
    const LONGEST: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    (1..=12u32)
        .any(|m| months & (1 << m) != 0 && days & bits_of_range(1, LONGEST[m as usize - 1]) != 0)
}

/// The cron crate's dialect: seconds first, day of week 1 = Sunday … 7 = Saturday.
fn to_cron(
    minute: Field,
    hour: Field,
    dom: Field,
    month: Field,
    dow: Field,
) -> Result<cron::Schedule, String> {
    let list = |bits: u64, shift: u32| {
        (0..64u32)
            .filter(|v| bits & (1 << v) != 0)
            .map(|v| (v + shift).to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let expr = format!(
        "0 {} {} {} {} {}",
        list(minute.bits, 0),
        list(hour.bits, 0),
        list(dom.bits, 0),
        list(month.bits, 0),
        list(dow.bits, 1)
    );
    cron::Schedule::from_str(&expr)
        .map_err(|e| format!("internal translation {expr:?} rejected by the cron crate: {e}"))
}

#[cfg(test)]
mod tests;
