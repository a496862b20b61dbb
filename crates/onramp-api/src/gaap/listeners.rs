//! TCP/UDP listener actions.

use serde_json::{Map, Value};

use crate::tencent::{Ctx, Params, TcError, TcResult};

pub async fn create_tcp(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "CreateTCPListeners is not implemented yet."))
}

pub async fn create_udp(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "CreateUDPListeners is not implemented yet."))
}

pub async fn describe_tcp(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DescribeTCPListeners is not implemented yet."))
}

pub async fn describe_udp(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DescribeUDPListeners is not implemented yet."))
}

pub async fn modify_tcp(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "ModifyTCPListenerAttribute is not implemented yet."))
}

pub async fn modify_udp(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "ModifyUDPListenerAttribute is not implemented yet."))
}

pub async fn delete_listeners(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DeleteListeners is not implemented yet."))
}
