//! Request bodies of the Huawei GA v1 writes below the listener: endpoint groups, endpoints,
//! health checks, IP address groups, log tanks and tags (see `dto` for the rules).

use serde::Deserialize;

use super::{
    bad, check_count, check_description, check_name, check_range, check_tags, AccessControlType,
    EndpointType, HealthCheckProtocol, LogtankResourceType, ResourceTag,
};
use crate::huawei::HwError;

/// `{"id": …}`: the one listener of an endpoint group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdRef {
    pub id: String,
}

/// `{"endpoint_group": CreateEndpointGroupOption}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpointGroup {
    pub endpoint_group: CreateEndpointGroupOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpointGroupOption {
    pub name: String,
    pub description: Option<String>,
    pub traffic_dial_percentage: Option<u32>,
    pub region_id: String,
    pub listeners: Vec<IdRef>,
}

impl CreateEndpointGroupOption {
    pub fn check(&self) -> Result<(), HwError> {
        check_name("endpoint_group.name", &self.name)?;
        check_description("endpoint_group.description", self.description.as_deref())?;
        if let Some(d) = self.traffic_dial_percentage {
            check_range("endpoint_group.traffic_dial_percentage", d.into(), 0, 100)?;
        }
        if self.region_id.is_empty() || self.region_id.chars().count() > 36 {
            return Err(bad("endpoint_group.region_id", "must be 1-36 characters"));
        }
        check_count("endpoint_group.listeners", self.listeners.len(), 1, 1)
    }
}

/// `{"endpoint_group": UpdateEndpointGroupOption}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpointGroup {
    pub endpoint_group: UpdateEndpointGroupOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpointGroupOption {
    pub name: Option<String>,
    pub description: Option<String>,
    pub traffic_dial_percentage: Option<u32>,
}

impl UpdateEndpointGroupOption {
    pub fn check(&self) -> Result<(), HwError> {
        if let Some(n) = &self.name {
            check_name("endpoint_group.name", n)?;
        }
        check_description("endpoint_group.description", self.description.as_deref())?;
        match self.traffic_dial_percentage {
            Some(d) => check_range("endpoint_group.traffic_dial_percentage", d.into(), 0, 100),
            None => Ok(()),
        }
    }
}

/// `{"endpoint": CreateEndpointOption}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    pub endpoint: CreateEndpointOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpointOption {
    pub resource_id: String,
    pub resource_type: EndpointType,
    /// 0–100, default 1; 0 takes no new traffic.
    pub weight: Option<u32>,
    pub ip_address: String,
}

impl CreateEndpointOption {
    pub fn check(&self) -> Result<(), HwError> {
        if self.resource_id.is_empty() || self.resource_id.chars().count() > 64 {
            return Err(bad("endpoint.resource_id", "must be 1-64 characters"));
        }
        if let Some(w) = self.weight {
            check_range("endpoint.weight", w.into(), 0, 100)?;
        }
        if self.ip_address.is_empty() || self.ip_address.len() > 255 {
            return Err(bad(
                "endpoint.ip_address",
                "must be an address (1-255 characters)",
            ));
        }
        Ok(())
    }
}

/// `{"endpoint": UpdateEndpointOption}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpoint {
    pub endpoint: UpdateEndpointOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpointOption {
    pub weight: Option<u32>,
}

impl UpdateEndpointOption {
    pub fn check(&self) -> Result<(), HwError> {
        match self.weight {
            Some(w) => check_range("endpoint.weight", w.into(), 0, 100),
            None => Ok(()),
        }
    }
}

/// `{"health_check": CreateHealthCheckOption}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateHealthCheck {
    pub health_check: CreateHealthCheckOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateHealthCheckOption {
    pub endpoint_group_id: String,
    pub protocol: HealthCheckProtocol,
    pub port: u32,
    pub interval: u32,
    pub timeout: u32,
    pub max_retries: u32,
    pub enabled: bool,
}

/// The ranges of a health check's numbers (`port` 1–65535, `interval` and `timeout` 1–60 s,
/// `max_retries` 1–10).
fn check_probe(
    port: Option<u32>,
    interval: Option<u32>,
    timeout: Option<u32>,
    retries: Option<u32>,
) -> Result<(), HwError> {
    for (field, v, lo, hi) in [
        ("health_check.port", port, 1, 65535),
        ("health_check.interval", interval, 1, 60),
        ("health_check.timeout", timeout, 1, 60),
        ("health_check.max_retries", retries, 1, 10),
    ] {
        if let Some(v) = v {
            check_range(field, v.into(), lo, hi)?;
        }
    }
    Ok(())
}

impl CreateHealthCheckOption {
    pub fn check(&self) -> Result<(), HwError> {
        if self.endpoint_group_id.is_empty() || self.endpoint_group_id.chars().count() > 36 {
            return Err(bad(
                "health_check.endpoint_group_id",
                "must be 1-36 characters",
            ));
        }
        check_probe(
            Some(self.port),
            Some(self.interval),
            Some(self.timeout),
            Some(self.max_retries),
        )
    }
}

/// `{"health_check": UpdateHealthCheckOption}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateHealthCheck {
    pub health_check: UpdateHealthCheckOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateHealthCheckOption {
    pub protocol: Option<HealthCheckProtocol>,
    pub port: Option<u32>,
    pub interval: Option<u32>,
    pub timeout: Option<u32>,
    pub max_retries: Option<u32>,
    pub enabled: Option<bool>,
}

impl UpdateHealthCheckOption {
    pub fn check(&self) -> Result<(), HwError> {
        check_probe(self.port, self.interval, self.timeout, self.max_retries)
    }
}

/// One CIDR of an IP address group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpGroupIp {
    pub cidr: String,
    pub description: Option<String>,
}

fn check_ips(field: &str, ips: &[IpGroupIp], lo: usize) -> Result<(), HwError> {
    check_count(field, ips.len(), lo, 20)?;
    for (i, ip) in ips.iter().enumerate() {
        let at = format!("{field}[{i}].cidr");
        if ip.cidr.is_empty() || ip.cidr.len() > 50 {
            return Err(bad(&at, "must be 1-50 characters"));
        }
        onramp_core::acl::Cidr::parse(&at, &ip.cidr).map_err(|e| bad(&at, e.reason))?;
        check_description(&format!("{field}.description"), ip.description.as_deref())?;
    }
    Ok(())
}

/// `{"ip_group": CreateIpGroupOption}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIpGroup {
    pub ip_group: CreateIpGroupOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIpGroupOption {
    pub name: String,
    pub description: Option<String>,
    pub ip_list: Option<Vec<IpGroupIp>>,
}

impl CreateIpGroupOption {
    pub fn check(&self) -> Result<(), HwError> {
        check_name("ip_group.name", &self.name)?;
        check_description("ip_group.description", self.description.as_deref())?;
        match &self.ip_list {
            Some(ips) => check_ips("ip_group.ip_list", ips, 0),
            None => Ok(()),
        }
    }
}

/// `{"ip_group": UpdateIpGroupOption}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateIpGroup {
    pub ip_group: UpdateIpGroupOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateIpGroupOption {
    pub name: Option<String>,
    pub description: Option<String>,
}

impl UpdateIpGroupOption {
    pub fn check(&self) -> Result<(), HwError> {
        if let Some(n) = &self.name {
            check_name("ip_group.name", n)?;
        }
        check_description("ip_group.description", self.description.as_deref())
    }
}

/// `AddIpGroupIp`: `{"ip_list": [{cidr, description}]}` (1–20).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddIps {
    pub ip_list: Vec<IpGroupIp>,
}

impl AddIps {
    pub fn check(&self) -> Result<(), HwError> {
        check_ips("ip_list", &self.ip_list, 1)
    }
}

/// `RemoveIpGroupIp`: `{"ip_list": ["<cidr>", …]}` (1–20).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveIps {
    pub ip_list: Vec<String>,
}

impl RemoveIps {
    pub fn check(&self) -> Result<(), HwError> {
        check_count("ip_list", self.ip_list.len(), 1, 20)?;
        for (i, c) in self.ip_list.iter().enumerate() {
            let at = format!("ip_list[{i}]");
            onramp_core::acl::Cidr::parse(&at, c).map_err(|e| bad(&at, e.reason))?;
        }
        Ok(())
    }
}

/// `AssociateListener`: `{"listener_id", "type": "BLACK"|"WHITE"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssociateListener {
    pub listener_id: String,
    #[serde(rename = "type")]
    pub kind: AccessControlType,
}

/// `DisassociateListener`: `{"listener_id"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisassociateListener {
    pub listener_id: String,
}

/// `{"logtank": CreateLogtankOption}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateLogtank {
    pub logtank: CreateLogtankOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateLogtankOption {
    pub resource_type: LogtankResourceType,
    pub resource_id: String,
    pub log_group_id: String,
    pub log_stream_id: String,
}

/// `{"logtank": {"log_group_id", "log_stream_id"}}` (both required).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateLogtank {
    pub logtank: UpdateLogtankOption,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateLogtankOption {
    pub log_group_id: String,
    pub log_stream_id: String,
}

/// `CreateTags`: `{"tags": [{key, value}]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTags {
    pub tags: Vec<ResourceTag>,
}

impl CreateTags {
    pub fn check(&self) -> Result<(), HwError> {
        check_tags("tags", &self.tags)
    }
}

/// A tag to delete, by key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletingTag {
    pub key: String,
}

/// `DeleteTags` (a DELETE with a body): `{"tags": [{key}]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteTags {
    pub tags: Vec<DeletingTag>,
}

impl DeleteTags {
    pub fn check(&self) -> Result<(), HwError> {
        check_count("tags", self.tags.len(), 1, 20)?;
        if self.tags.iter().any(|t| t.key.is_empty()) {
            return Err(HwError::new(
                http::StatusCode::BAD_REQUEST,
                "GA.9109",
                "Tag key is empty",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(t) = self.tags.iter().find(|t| !seen.insert(t.key.as_str())) {
            return Err(HwError::new(
                http::StatusCode::BAD_REQUEST,
                "GA.9110",
                format!("Duplicated entry: {}", t.key),
            ));
        }
        Ok(())
    }
}
