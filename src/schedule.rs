//! Schedules: crontab(5) expressions translated to the cron crate's dialect, evaluated in UTC or a named time zone.
