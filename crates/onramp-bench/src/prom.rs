//! Reading onramp's `/metrics` (Prometheus text exposition) as the harness needs it: the value
//! of each metric family summed over its labelled series (e.g. refused connections of every
//! listener). Comment lines and unparsable lines are skipped.

use std::collections::BTreeMap;

/// Family name → sum of its samples.
pub fn sums(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.find('{') {
            // The last brace: a label value may itself hold one.
            Some(i) => match line[i..].rfind('}') {
                Some(j) => (&line[..i], &line[i + j + 1..]),
                None => continue,
            },
            None => match line.split_once(char::is_whitespace) {
                Some((n, r)) => (n, r),
                None => continue,
            },
        };
        let Some(value) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        else {
            continue;
        };
        if value.is_finite() {
            *out.entry(name.to_string()).or_insert(0.0) += value;
        }
    }
    out
}

/// The sum of the first of `names` present in `m`.
pub fn first_of(m: &BTreeMap<String, f64>, names: &[&str]) -> Option<f64> {
    names.iter().find_map(|n| m.get(*n).copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_summed_over_labels() {
        let text = "# HELP onramp_udp_flows x\n# TYPE onramp_udp_flows gauge\n\
                    onramp_udp_flows{listener=\"a\"} 3\nonramp_udp_flows{listener=\"b,}\"} 4\n\
                    onramp_applied_revision 17\nbroken{ 5\nnovalue\nonramp_x{a=\"1\"} NaN\n";
        let m = sums(text);
        assert_eq!(m.get("onramp_udp_flows"), Some(&7.0));
        assert_eq!(m.get("onramp_applied_revision"), Some(&17.0));
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(first_of(&m, &["missing", "onramp_udp_flows"]), Some(7.0));
        assert_eq!(first_of(&m, &["missing"]), None);
    }
}
