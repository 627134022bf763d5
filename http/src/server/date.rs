//! The `Date` header value (RFC 9110 IMF-fixdate), formatted at most once
//! per second and reused by every response in between.

use std::time::{SystemTime, UNIX_EPOCH};

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

#[derive(Default)]
pub(crate) struct DateCache {
    second: u64,
    text: String,
    /// Loop time (ms) until which `text` is known to be current: the wall
    /// clock is read again only at the next second boundary.
    valid_until_ms: u64,
}

impl DateCache {
    /// The current date; `now_ms` is the loop's clock.
    pub fn get(&mut self, now_ms: u64) -> &str {
        if now_ms >= self.valid_until_ms || self.text.is_empty() {
            let since_epoch = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let secs = since_epoch.as_secs();
            if secs != self.second || self.text.is_empty() {
                self.second = secs;
                self.text = format_imf_fixdate(secs);
            }
            let left = 1000 - u64::from(since_epoch.subsec_millis());
            self.valid_until_ms = now_ms + left;
        }
        &self.text
    }

    /// The second `get` last formatted.
    pub fn second(&self) -> u64 {
        self.second
    }

    /// What `get` last returned.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Formats seconds since the epoch as `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn format_imf_fixdate(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm: (year, month 1-12, day 1-31).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        assert_eq!(
            format_imf_fixdate(784_111_777),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(format_imf_fixdate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            format_imf_fixdate(951_782_400),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        assert_eq!(
            format_imf_fixdate(1_795_308_800),
            "Sun, 22 Nov 2026 00:53:20 GMT"
        );
    }
}
