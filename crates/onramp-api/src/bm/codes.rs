//! The BM words for the model's values, one table each way: load balancer type, exclusivity,
//! billing, forwarding, IP version, scheduling, probe payload format and line separator.

use onramp_core::{Billing, Dedication, Exposure, LineSeparator, PayloadFormat, Scheduler};

/// `loadBalancerType`.
pub const EXPOSURE: &[(&str, Exposure)] =
    &[("open", Exposure::Public), ("internal", Exposure::Internal)];

/// `exclusive`: 0 shared, 1 L4, 2 L7, 3 L4 and L7 exclusive, 4 shared disaster recovery.
pub const DEDICATION: &[(i64, Dedication)] = &[
    (0, Dedication::Shared),
    (1, Dedication::Layer4),
    (2, Dedication::Layer7),
    (3, Dedication::Layer4And7),
    (4, Dedication::SharedRecovery),
];

/// `payMode`.
pub const BILLING: &[(&str, Billing)] = &[
    ("flow", Billing::Traffic),
    ("bandwidth", Billing::Bandwidth),
];

/// `inputType`.
pub const FORMAT: &[(&str, PayloadFormat)] = &[
    ("text", PayloadFormat::Text),
    ("hexadecimal", PayloadFormat::Hex),
];

/// `lineSeparatorType`: 1 LF, 2 CR, 3 LF+CR (sent as CR LF); 0 when none is set.
pub const SEPARATOR: &[(i64, LineSeparator)] = &[
    (0, LineSeparator::Unset),
    (1, LineSeparator::Lf),
    (2, LineSeparator::Cr),
    (3, LineSeparator::LfCr),
];

/// `BalanceMode`: weighted round robin, weighted least connections (the model's `lc` weighs
/// connections by weight).
pub const BALANCE: &[(&str, Scheduler)] = &[("wrr", Scheduler::Wrr), ("wlc", Scheduler::Lc)];

/// The one `tgwSetType` onramp serves: its edges relay connections (full NAT), so the origin sees
/// the edge's address and learns the client's through `toaFlag`.
pub const FORWARDING: &str = "fullnat";

/// The word for `v` in `table` (the first entry's when it has none).
pub fn word<K: Copy + Default, V: PartialEq>(table: &[(K, V)], v: &V) -> K {
    table
        .iter()
        .find(|(_, x)| x == v)
        .map(|(k, _)| *k)
        .unwrap_or_default()
}

/// The value `k` names in `table`.
pub fn value<K: PartialEq, V: Copy>(table: &[(K, V)], k: &K) -> Option<V> {
    table.iter().find(|(x, _)| x == k).map(|(_, v)| *v)
}

/// The words of `table`, for an error message.
pub fn words<K: ToString, V>(table: &[(K, V)]) -> Vec<String> {
    table.iter().map(|(k, _)| k.to_string()).collect()
}

/// `BalanceMode` as shown: the BM word, else the model's name (a GAAP listener's `rr`, `lrtt`).
pub fn balance_mode(s: Scheduler) -> &'static str {
    BALANCE
        .iter()
        .find(|(_, x)| *x == s)
        .map_or(s.as_str(), |(k, _)| k)
}

/// `ipProtocolType` of the model's IP version.
pub fn ip_protocol(ip_version: &str) -> &'static str {
    if ip_version.eq_ignore_ascii_case("IPv6") {
        "ipv6"
    } else {
        "ipv4"
    }
}
