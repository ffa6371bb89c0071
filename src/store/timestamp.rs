//! Timestamps as the store keeps them: RFC 3339 in UTC with exactly three fractional digits,
//! e.g. `2026-11-21T09:47:03.120Z`. The fixed width makes text order equal time order in
//! SQLite and PostgreSQL alike, so `ORDER BY started_at` needs no date type.

use jiff::Timestamp;

/// Formats `at` for storage, truncated to the millisecond.
pub fn format_timestamp(at: Timestamp) -> String {
    // jiff truncates to the requested precision and always prints all three digits.
    format!("{at:.3}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_three_fraction_digits() {
        let whole = Timestamp::from_second(1_800_000_000).expect("a 2027 instant is in range");
        assert_eq!(format_timestamp(whole), "2027-01-15T08:00:00.000Z");
        let fine = Timestamp::new(1_800_000_000, 123_999_999).expect("in range");
        assert_eq!(format_timestamp(fine), "2027-01-15T08:00:00.123Z");
    }

    #[test]
    fn text_order_is_time_order() {
        let mut stamps: Vec<Timestamp> = [0i64, 5, 500, 999, 1000, 59_999, 60_000, 86_400_000]
            .into_iter()
            .map(|ms| Timestamp::from_millisecond(1_700_000_000_000 + ms).expect("in range"))
            .collect();
        stamps.reverse();
        let mut texts: Vec<String> = stamps.iter().map(|t| format_timestamp(*t)).collect();
        texts.sort();
        stamps.sort();
        let expected: Vec<String> = stamps.iter().map(|t| format_timestamp(*t)).collect();
        assert_eq!(texts, expected);
    }

    #[test]
    fn round_trips_through_jiff() {
        let at = Timestamp::from_millisecond(1_763_718_423_120).expect("in range");
        let text = format_timestamp(at);
        assert_eq!(text.parse::<Timestamp>().expect("own format parses"), at);
    }
}
