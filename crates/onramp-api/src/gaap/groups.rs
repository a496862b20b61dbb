//! Proxy-group actions (GAAP `lg-…`).

use serde_json::{Map, Value};

use crate::tencent::{Ctx, Params, TcError, TcResult};

pub async fn create_proxy_group(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "CreateProxyGroup is not implemented yet."))
}

pub async fn describe_proxy_group_list(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DescribeProxyGroupList is not implemented yet."))
}

pub async fn describe_proxy_group_details(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DescribeProxyGroupDetails is not implemented yet."))
}

pub async fn modify_proxy_group_attribute(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "ModifyProxyGroupAttribute is not implemented yet."))
}

pub async fn delete_proxy_group(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DeleteProxyGroup is not implemented yet."))
}

pub async fn open_proxy_group(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "OpenProxyGroup is not implemented yet."))
}

pub async fn close_proxy_group(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "CloseProxyGroup is not implemented yet."))
}
