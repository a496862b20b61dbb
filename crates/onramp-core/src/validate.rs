//! Value rules shared by the dialects: ranges, lengths, addresses.
//!
//! Each dialect names its own parameters, so checks take the parameter name and return an
//! `Invalid` that carries it; the dialect maps it to its error code.

use std::net::IpAddr;

use crate::model::{HealthCheck, OriginKind};

/// A rejected value, naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Invalid {
    pub field: String,
    pub reason: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

pub type Check = Result<(), Invalid>;

/// `lo <= v <= hi`.
pub fn range(field: &str, v: i64, lo: i64, hi: i64) -> Check {
    if v < lo || v > hi {
        return Err(Invalid::new(
            field,
            format!("must be between {lo} and {hi}, got {v}"),
        ));
    }
    Ok(())
}

/// Length in characters between `lo` and `hi`.
pub fn length(field: &str, s: &str, lo: usize, hi: usize) -> Check {
    let n = s.chars().count();
    if n < lo || n > hi {
        return Err(Invalid::new(
            field,
            format!("length must be between {lo} and {hi} characters, got {n}"),
        ));
    }
    Ok(())
}

/// A name, description or tag: `lo`–`hi` characters, none of them a control character
/// (C0, DEL, C1: NUL, line breaks, escapes), so what is stored prints as it was meant.
pub fn text(field: &str, s: &str, lo: usize, hi: usize) -> Check {
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(Invalid::new(
            field,
            format!(
                "must not contain control characters (found U+{:04X})",
                c as u32
            ),
        ));
    }
    length(field, s, lo, hi)
}

/// A port, 1–65535.
pub fn port(field: &str, v: i64) -> Result<u16, Invalid> {
    range(field, v, 1, 65535)?;
    Ok(v as u16)
}

/// GAAP/BM health-check timing: interval 5–300 s, timeout 2–60 s and below the interval.
pub fn health_timing(interval_field: &str, timeout_field: &str, h: &HealthCheck) -> Check {
    range(interval_field, h.interval_secs.into(), 5, 300)?;
    range(timeout_field, h.timeout_secs.into(), 2, 60)?;
    if h.timeout_secs >= h.interval_secs {
        return Err(Invalid::new(
            timeout_field,
            format!(
                "must be less than {interval_field} ({} >= {})",
                h.timeout_secs, h.interval_secs
            ),
        ));
    }
    Ok(())
}

/// A host name per RFC 1123 (letters, digits, hyphens; dot-separated labels of 1–63; single-label
/// names such as `localhost` included; the last label not all digits).
pub fn is_domain(s: &str) -> bool {
    if s.is_empty() || s.len() > 253 || s.parse::<IpAddr>().is_ok() {
        return false;
    }
    let s = s.strip_suffix('.').unwrap_or(s);
    s.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }) && !s
        .rsplit('.')
        .next()
        .unwrap_or("")
        .bytes()
        .all(|b| b.is_ascii_digit())
}

/// Classify and normalise an origin address: an IP (canonical text) or a lower-case domain.
pub fn origin_address(field: &str, s: &str) -> Result<(String, OriginKind), Invalid> {
    let t = s.trim();
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok((ip.to_string(), OriginKind::Ip));
    }
    if is_domain(t) {
        return Ok((
            t.trim_end_matches('.').to_ascii_lowercase(),
            OriginKind::Domain,
        ));
    }
    Err(Invalid::new(
        field,
        format!("'{s}' is neither an IP address nor a domain name"),
    ))
}

/// Decode a hex payload (`0a0B..`), whitespace ignored.
pub fn hex_payload(field: &str, s: &str) -> Result<Vec<u8>, Invalid> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(Invalid::new(
            field,
            "hex payload has an odd number of digits",
        ));
    }
    digits
        .chunks(2)
        .map(|p| {
            let hi = (p[0] as char).to_digit(16);
            let lo = (p[1] as char).to_digit(16);
            match (hi, lo) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                _ => Err(Invalid::new(field, "hex payload has a non-hex character")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_lengths() {
        assert!(range("DelayLoop", 5, 5, 300).is_ok());
        let e = range("DelayLoop", 3, 5, 300).unwrap_err();
        assert_eq!(e.field, "DelayLoop");
        assert!(length("Name", "", 1, 64).is_err());
        assert!(length("Name", "名字", 1, 2).is_ok());
        assert_eq!(port("Port", 65535).unwrap(), 65535);
        assert!(port("Port", 0).is_err());
        assert!(port("Port", 65536).is_err());
    }

    #[test]
    fn health_timing_needs_timeout_below_interval() {
        let mut h = HealthCheck {
            interval_secs: 5,
            timeout_secs: 5,
            ..Default::default()
        };
        assert_eq!(
            health_timing("DelayLoop", "ConnectTimeout", &h)
                .unwrap_err()
                .field,
            "ConnectTimeout"
        );
        h.timeout_secs = 4;
        assert!(health_timing("DelayLoop", "ConnectTimeout", &h).is_ok());
        h.interval_secs = 301;
        assert!(health_timing("DelayLoop", "ConnectTimeout", &h).is_err());
    }

    #[test]
    fn origin_addresses() {
        assert_eq!(
            origin_address("ip", "127.0.0.2").unwrap(),
            ("127.0.0.2".into(), OriginKind::Ip)
        );
        assert_eq!(origin_address("ip", "::1").unwrap().1, OriginKind::Ip);
        assert_eq!(
            origin_address("ip", "WWW.Example.com.").unwrap(),
            ("www.example.com".into(), OriginKind::Domain)
        );
        assert!(origin_address("ip", "not a host").is_err());
        assert!(origin_address("ip", "999.1.1.1").is_err());
        assert!(origin_address("ip", "-bad.com").is_err());
        assert_eq!(
            origin_address("ip", "localhost").unwrap().1,
            OriginKind::Domain
        );
    }

    #[test]
    fn hex_payloads() {
        assert_eq!(hex_payload("p", "0a 0B ff").unwrap(), vec![10, 11, 255]);
        assert!(hex_payload("p", "abc").is_err());
        assert!(hex_payload("p", "zz").is_err());
    }
}
