//! Request bodies of the Huawei GA v1 writes (reference §2–§3), as the SDK sends them: serde
//! DTOs that refuse unknown fields, wrong types and unknown enum values, and `check` methods for
//! the documented lengths, ranges and counts. Decoding failures are 400 `GA.9001` naming the
//! field by its path (`listener.port_ranges[0].from_port`); a bad port range is `GA.9101`.
//!
//! They decode and check what a request says, nothing more: whether a port range clashes with
//! another listener, a region is served or a parent exists is for the model's operations.

use http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::HwError;

/// Decode a JSON body; every failure names the field where it happened.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, HwError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "request body".into()
        } else {
            path
        };
        HwError::invalid(&field, e.into_inner())
    })?;
    de.end().map_err(|e| HwError::invalid("request body", e))?;
    Ok(value)
}

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
        pub enum $name { $(#[serde(rename = $s)] $v),* }
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
        }
    };
}

wire_enum!(IpType { V4 = "IPV4", V6 = "IPV6" });
wire_enum!(Area { OutOfCm = "OUTOFCM", Cm = "CM" });
wire_enum!(ListenerProtocol { Tcp = "TCP", Udp = "UDP" });
wire_enum!(ClientAffinity { SourceIp = "SOURCE_IP", None = "NONE" });
wire_enum!(HealthCheckProtocol { Tcp = "TCP", Udp = "UDP" });
wire_enum!(AccessControlType { Black = "BLACK", White = "WHITE" });
wire_enum!(LogtankResourceType { Listener = "LISTENER" });
wire_enum!(EndpointType {
    Eip = "EIP",
    Ecs = "ECS",
    Elb = "ELB",
    CustomIp = "CUSTOM_IP",
    CustomDomainName = "CUSTOM_DOMAIN_NAME",
    CustomEip = "CUSTOM_EIP",
});

/// Refusal of a value outside its documented bounds.
fn bad(field: &str, why: impl std::fmt::Display) -> HwError {
    HwError::invalid(field, why)
}

/// A name: 1–64 characters, no control characters.
pub fn check_name(field: &str, v: &str) -> Result<(), HwError> {
    let n = v.chars().count();
    if n == 0 || n > 64 || v.chars().any(char::is_control) {
        return Err(bad(
            field,
            "must be 1-64 characters, none of them control characters",
        ));
    }
    Ok(())
}

/// A description: 0–255 characters, without `<`, `>` or control characters.
pub fn check_description(field: &str, v: Option<&str>) -> Result<(), HwError> {
    let Some(v) = v else { return Ok(()) };
    if v.chars().count() > 255 || v.chars().any(|c| c == '<' || c == '>' || c.is_control()) {
        return Err(bad(
            field,
            "must be 0-255 characters, without < > or control characters",
        ));
    }
    Ok(())
}

fn check_range(field: &str, v: u64, lo: u64, hi: u64) -> Result<(), HwError> {
    if v < lo || v > hi {
        return Err(bad(field, format!("must be {lo}-{hi}")));
    }
    Ok(())
}

fn check_count(field: &str, n: usize, lo: usize, hi: usize) -> Result<(), HwError> {
    if n < lo || n > hi {
        return Err(bad(field, format!("must have {lo}-{hi} items")));
    }
    Ok(())
}

/// `ResourceTag`: key 1–128, value 0–255 (may be empty); keys starting `_sys_` are reserved.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceTag {
    pub key: String,
    pub value: String,
}

/// Tag keys: none empty (`GA.9109`), none repeated (`GA.9107`).
pub fn keys_present_and_unique<'a>(keys: impl Iterator<Item = &'a str>) -> Result<(), HwError> {
    let mut seen = std::collections::BTreeSet::new();
    for key in keys {
        if key.is_empty() {
            return Err(HwError::new(
                StatusCode::BAD_REQUEST,
                "GA.9109",
                "Tag key is empty",
            ));
        }
        if !seen.insert(key) {
            return Err(HwError::new(
                StatusCode::BAD_REQUEST,
                "GA.9107",
                "Tag key is duplicated",
            ));
        }
    }
    Ok(())
}

/// Check a tag list: 1–20 tags, keys not empty (`GA.9109`), not repeated (`GA.9107`).
pub fn check_tags(field: &str, tags: &[ResourceTag]) -> Result<(), HwError> {
    check_count(field, tags.len(), 1, 20)?;
    keys_present_and_unique(tags.iter().map(|t| t.key.as_str()))?;
    for t in tags {
        let bad_chars = |s: &str| s.chars().any(char::is_control);
        if t.key.chars().count() > 128 || t.key.starts_with("_sys_") || bad_chars(&t.key) {
            return Err(bad(
                &format!("{field}.key"),
                format!(
                    "{:?} is not a usable tag key (1-128 characters, not _sys_…)",
                    t.key
                ),
            ));
        }
        if t.value.chars().count() > 255 || bad_chars(&t.value) {
            return Err(bad(&format!("{field}.value"), "must be 0-255 characters"));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpSet {
    pub ip_type: IpType,
    pub area: Area,
}

/// `{"accelerator": CreateAcceleratorOption}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAccelerator {
    pub accelerator: CreateAcceleratorOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAcceleratorOption {
    pub name: String,
    pub description: Option<String>,
    pub ip_sets: Vec<IpSet>,
    pub enterprise_project_id: Option<String>,
    pub tags: Option<Vec<ResourceTag>>,
}

impl CreateAcceleratorOption {
    pub fn check(&self) -> Result<(), HwError> {
        check_name("accelerator.name", &self.name)?;
        check_description("accelerator.description", self.description.as_deref())?;
        check_count("accelerator.ip_sets", self.ip_sets.len(), 1, 2)?;
        let v4 = self
            .ip_sets
            .iter()
            .filter(|s| s.ip_type == IpType::V4)
            .count();
        if v4 != 1 {
            return Err(bad(
                "accelerator.ip_sets",
                "must be one IPV4 set, alone or with one IPV6 set",
            ));
        }
        if self
            .enterprise_project_id
            .as_ref()
            .is_some_and(|p| p.chars().count() > 36)
        {
            return Err(bad(
                "accelerator.enterprise_project_id",
                "must be 0-36 characters",
            ));
        }
        match &self.tags {
            Some(t) => check_tags("accelerator.tags", t),
            None => Ok(()),
        }
    }
}

/// `{"accelerator": UpdateAcceleratorOption}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccelerator {
    pub accelerator: UpdateAcceleratorOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateAcceleratorOption {
    pub name: Option<String>,
    pub description: Option<String>,
}

impl UpdateAcceleratorOption {
    pub fn check(&self) -> Result<(), HwError> {
        if let Some(n) = &self.name {
            check_name("accelerator.name", n)?;
        }
        check_description("accelerator.description", self.description.as_deref())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortRange {
    pub from_port: u32,
    pub to_port: u32,
}

/// 1–10 ranges of ports 1–65535 with `from_port <= to_port`, not overlapping each other; else
/// `GA.9101`.
pub fn check_port_ranges(ranges: &[PortRange]) -> Result<(), HwError> {
    let invalid = || {
        HwError::new(
            StatusCode::BAD_REQUEST,
            "GA.9101",
            "port_ranges is invalid or overlapped",
        )
    };
    if ranges.is_empty() || ranges.len() > 10 {
        return Err(invalid());
    }
    for (i, r) in ranges.iter().enumerate() {
        if r.from_port == 0 || r.to_port > 65535 || r.from_port > r.to_port {
            return Err(invalid());
        }
        let clash = ranges[..i]
            .iter()
            .any(|o| r.from_port <= o.to_port && o.from_port <= r.to_port);
        if clash {
            return Err(invalid());
        }
    }
    Ok(())
}

/// `{"listener": CreateListenerOption}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateListener {
    pub listener: CreateListenerOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateListenerOption {
    pub name: String,
    pub description: Option<String>,
    pub protocol: ListenerProtocol,
    pub port_ranges: Vec<PortRange>,
    pub client_affinity: Option<ClientAffinity>,
    pub accelerator_id: String,
    pub tags: Option<Vec<ResourceTag>>,
}

impl CreateListenerOption {
    pub fn check(&self) -> Result<(), HwError> {
        check_name("listener.name", &self.name)?;
        check_description("listener.description", self.description.as_deref())?;
        check_port_ranges(&self.port_ranges)?;
        if self.accelerator_id.is_empty() || self.accelerator_id.chars().count() > 36 {
            return Err(bad("listener.accelerator_id", "must be 1-36 characters"));
        }
        match &self.tags {
            Some(t) => check_tags("listener.tags", t),
            None => Ok(()),
        }
    }
}

/// `{"listener": UpdateListenerOption}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateListener {
    pub listener: UpdateListenerOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateListenerOption {
    pub name: Option<String>,
    pub description: Option<String>,
    pub port_ranges: Option<Vec<PortRange>>,
    pub client_affinity: Option<ClientAffinity>,
}

impl UpdateListenerOption {
    pub fn check(&self) -> Result<(), HwError> {
        if let Some(n) = &self.name {
            check_name("listener.name", n)?;
        }
        check_description("listener.description", self.description.as_deref())?;
        match &self.port_ranges {
            Some(r) => check_port_ranges(r),
            None => Ok(()),
        }
    }
}

#[path = "dto_more.rs"]
mod more;
pub use more::*;

#[cfg(test)]
#[path = "dto_tests.rs"]
mod tests;
