//! `onramp admin audit`: list the audit log, newest first, as a table or as JSON lines.

use anyhow::Context;
use clap::Args;
use onramp_core::audit::AUDIT_MAX_LIMIT;
use onramp_core::{AuditEntry, AuditFilter, Millis};
use onramp_store::Store;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Args, Debug, Default)]
pub struct AuditArgs {
    /// Only this account's writes
    #[arg(long)]
    account: Option<String>,
    /// Only writes signed with this key (secret id)
    #[arg(long)]
    key: Option<String>,
    /// Only this operation (action name, e.g. CreateProxy)
    #[arg(long)]
    operation: Option<String>,
    /// Only this dialect: gaap, huawei, bm, admin
    #[arg(long)]
    dialect: Option<String>,
    /// Only writes that touched this resource id
    #[arg(long)]
    resource: Option<String>,
    /// From this time on (RFC 3339, e.g. 2026-12-01T10:00:00Z, or unix milliseconds)
    #[arg(long, value_parser = parse_time)]
    since: Option<Millis>,
    /// Before this time (RFC 3339 or unix milliseconds)
    #[arg(long, value_parser = parse_time)]
    until: Option<Millis>,
    /// At most this many entries [default: 100, max 10000]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(AUDIT_MAX_LIMIT)))]
    limit: Option<u32>,
    /// One JSON object per line instead of a table
    #[arg(long)]
    json: bool,
}

/// RFC 3339 or unix milliseconds.
fn parse_time(s: &str) -> Result<Millis, String> {
    if let Ok(ms) = s.parse::<Millis>() {
        return Ok(ms);
    }
    OffsetDateTime::parse(s, &Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as Millis)
        .map_err(|_| {
            format!("'{s}' is neither RFC 3339 (2026-12-01T10:00:00Z) nor unix milliseconds")
        })
}

fn show_time(ms: Millis) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

impl AuditArgs {
    fn filter(&self) -> AuditFilter {
        AuditFilter {
            account_id: self.account.clone(),
            key_id: self.key.clone(),
            operation: self.operation.clone(),
            dialect: self.dialect.clone(),
            resource_id: self.resource.clone(),
            since: self.since,
            until: self.until,
            limit: self.limit,
        }
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// The table: one line per entry, columns padded to the widest value.
fn table(entries: &[AuditEntry]) -> String {
    let header = [
        "TIME",
        "ACCOUNT",
        "KEY",
        "DIALECT",
        "OPERATION",
        "OUTCOME",
        "SOURCE",
        "REQUEST",
        "RESOURCES",
    ];
    let rows: Vec<[String; 9]> = entries
        .iter()
        .map(|e| {
            [
                show_time(e.time),
                or_dash(&e.account_id).to_string(),
                or_dash(&e.key_id).to_string(),
                e.dialect.clone(),
                e.operation.clone(),
                e.outcome.clone(),
                or_dash(&e.source).to_string(),
                or_dash(&e.request_id).to_string(),
                or_dash(&e.resource_ids.join(",")).to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  "));
            }
        }
        l.push('\n');
        l
    };
    let mut out = line(header.to_vec());
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

pub async fn run(store: &dyn Store, args: AuditArgs) -> anyhow::Result<()> {
    let entries = store
        .audit(&args.filter())
        .await
        .context("reading the audit log")?;
    if args.json {
        for e in &entries {
            println!("{}", serde_json::to_string(e)?);
        }
    } else {
        print!("{}", table(&entries));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_both_ways_and_show_as_rfc3339() {
        assert_eq!(parse_time("1764583200000"), Ok(1_764_583_200_000));
        assert_eq!(parse_time("2025-12-01T10:00:00Z"), Ok(1_764_583_200_000));
        assert_eq!(
            parse_time("2025-12-01T11:00:00+01:00"),
            Ok(1_764_583_200_000)
        );
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
        assert_eq!(show_time(1_764_583_200_000), "2025-12-01T10:00:00Z");
    }

    #[test]
    fn the_table_aligns_columns_and_marks_empty_cells() {
        let e = AuditEntry {
            time: 1_764_583_200_000,
            account_id: "1250000001".into(),
            dialect: "admin".into(),
            operation: "create-key".into(),
            resource_ids: vec!["AKIDx".into(), "AKIDy".into()],
            source: "local".into(),
            outcome: "ok".into(),
            ..Default::default()
        };
        let t = table(&[e]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("TIME"));
        assert!(lines[1].contains("create-key") && lines[1].ends_with("AKIDx,AKIDy"));
        assert_eq!(
            lines[0].find("ACCOUNT"),
            lines[1].find("1250000001"),
            "columns line up"
        );
        assert!(lines[1].contains(" - "), "an empty key id shows as '-'");
    }
}
