//! Durations said back to people: in the words the config used, and read again to the same length.

use proptest::prelude::*;

use super::*;

#[test]
fn durations_read_as_written() {
    for text in [
        "7 years", "1 year", "2 weeks", "400 days", "1 day", "12 hours",
    ] {
        let d = parse_duration(text).unwrap();
        assert_eq!(display_duration(d), text);
    }
    assert_eq!(display_duration(TimeDelta::days(14)), "2 weeks");
    assert_eq!(
        display_duration(TimeDelta::seconds(90_061)),
        "1 day 1 hour 1 minute 1 second"
    );
    assert_eq!(display_duration(TimeDelta::zero()), "0 seconds");
}

proptest! {
    #[test]
    fn a_displayed_duration_reads_back_the_same(count in 1i64..10_000, unit in 0usize..6) {
        let units = ["seconds", "minutes", "hours", "days", "weeks", "years"];
        let d = parse_duration(&format!("{count} {}", units[unit])).unwrap();
        let shown = display_duration(d);
        let parts: Vec<&str> = shown.split(' ').collect();
        let total = parts
            .chunks(2)
            .map(|p| parse_duration(&p.join(" ")).unwrap())
            .fold(TimeDelta::zero(), |a, b| a + b);
        prop_assert_eq!(total, d, "{}", shown);
    }
}
