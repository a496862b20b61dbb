//! Time formats of the dialects: GAAP `YYYY-MM-DD HH:MM:SS` inputs, BM `addTimestamp`, Huawei
//! RFC 3339 with `Z`.

use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

fn dt(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2019-01-08T01:21:37.151Z`
pub fn rfc3339_ms(ms: i64) -> String {
    let f =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    dt(ms).format(f).unwrap_or_default()
}

/// `2017-04-19 22:07:11` (UTC).
pub fn plain_datetime(ms: i64) -> String {
    let f = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    dt(ms).format(f).unwrap_or_default()
}

/// Parse `YYYY-MM-DD HH:MM:SS` (UTC) into unix seconds.
pub fn parse_plain_datetime(s: &str) -> Option<i64> {
    let f = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(s, f)
        .ok()
        .map(|p| p.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rfc3339_ms(1_546_910_497_151), "2019-01-08T01:21:37.151Z");
        assert_eq!(plain_datetime(1_492_639_631_000), "2017-04-19 22:07:11");
        assert_eq!(
            parse_plain_datetime("2017-04-19 22:07:11"),
            Some(1_492_639_631)
        );
        assert_eq!(parse_plain_datetime("2017-04-19"), None);
    }
}
