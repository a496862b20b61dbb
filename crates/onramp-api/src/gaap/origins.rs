//! Real-server (origin) and binding actions.

use serde_json::{Map, Value};

use crate::tencent::{Ctx, Params, TcError, TcResult};

pub async fn add_real_servers(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "AddRealServers is not implemented yet."))
}

pub async fn describe_real_servers(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DescribeRealServers is not implemented yet."))
}

pub async fn modify_real_server_name(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "ModifyRealServerName is not implemented yet."))
}

pub async fn remove_real_servers(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "RemoveRealServers is not implemented yet."))
}

pub async fn bind_listener_real_servers(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "BindListenerRealServers is not implemented yet."))
}

pub async fn describe_listener_real_servers(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DescribeListenerRealServers is not implemented yet."))
}

pub async fn describe_real_servers_status(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DescribeRealServersStatus is not implemented yet."))
}
