//! Proxy actions (GAAP `link-…`).

use serde_json::{Map, Value};

use crate::tencent::{Ctx, Params, TcError, TcResult};

pub async fn create_proxy(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "CreateProxy is not implemented yet."))
}

pub async fn describe_proxies(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DescribeProxies is not implemented yet."))
}

pub async fn describe_proxy_detail(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DescribeProxyDetail is not implemented yet."))
}

pub async fn describe_proxies_status(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DescribeProxiesStatus is not implemented yet."))
}

pub async fn modify_proxies_attribute(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "ModifyProxiesAttribute is not implemented yet."))
}

pub async fn modify_proxy_configuration(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "ModifyProxyConfiguration is not implemented yet."))
}

pub async fn open_proxies(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "OpenProxies is not implemented yet."))
}

pub async fn close_proxies(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "CloseProxies is not implemented yet."))
}

pub async fn destroy_proxies(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DestroyProxies is not implemented yet."))
}

pub async fn check_proxy_create(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "CheckProxyCreate is not implemented yet."))
}
