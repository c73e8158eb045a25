//! Checks on an incoming JSON-RPC message before rmcp sees it: malformed input gets a proper
//! JSON-RPC error reply (parse error, invalid request, invalid params) instead of ending the
//! session (stdio) or a bare 415 (HTTP).

use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage};
use serde_json::{Value as Json, json};

/// Methods of the MCP revisions served: a request for one of them whose params do not fit
/// its schema is an invalid-params error, not an unknown method.
const KNOWN_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "logging/setLevel",
    "completion/complete",
    "subscriptions/listen",
];

pub(super) fn error(id: Json, code: i64, message: String) -> Json {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// `Ok(true)`: pass to rmcp; `Ok(false)`: ignore (blank line, malformed notification);
/// `Err(reply)`: answer with this error.
pub(super) fn check(line: &str) -> Result<bool, Json> {
    if line.trim().is_empty() {
        return Ok(false);
    }
    let value: Json = serde_json::from_str(line).map_err(|e| error(Json::Null, -32700, format!("Parse error: {e}")))?;
    let Json::Object(obj) = &value else {
        return Err(error(
            Json::Null,
            -32600,
            "Invalid Request: expected a JSON-RPC object (batches are not supported)".into(),
        ));
    };
    let id = obj.get("id").cloned();
    let reply_id = match &id {
        Some(v @ (Json::String(_) | Json::Number(_))) => v.clone(),
        _ => Json::Null,
    };
    if obj.get("jsonrpc") != Some(&json!("2.0")) {
        return Err(error(reply_id, -32600, "Invalid Request: \"jsonrpc\" must be \"2.0\"".into()));
    }
    if matches!(id, Some(ref v) if !matches!(v, Json::String(_) | Json::Number(_))) {
        return Err(error(Json::Null, -32600, "Invalid Request: \"id\" must be a string or a number".into()));
    }
    let Some(method) = obj.get("method") else {
        // a response to one of our requests
        return Ok(true);
    };
    let Some(method) = method.as_str() else {
        return Err(error(reply_id, -32600, "Invalid Request: \"method\" must be a string".into()));
    };
    let is_request = id.is_some();
    match serde_json::from_value::<ClientJsonRpcMessage>(value.clone()) {
        Ok(JsonRpcMessage::Request(req)) => {
            if matches!(req.request, ClientRequest::CustomRequest(_)) && KNOWN_METHODS.contains(&method) {
                return Err(error(reply_id, -32602, format!("Invalid params for {method}")));
            }
            Ok(true)
        }
        Ok(_) => Ok(true),
        Err(e) if is_request => Err(error(reply_id, -32602, format!("Invalid params for {method}: {e}"))),
        // a notification gets no reply, even when malformed
        Err(_) => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_answers_malformed_messages() {
        assert_eq!(check("{oops").unwrap_err()["error"]["code"], -32700);
        assert_eq!(check("[1]").unwrap_err()["error"]["code"], -32600);
        assert_eq!(check(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#).unwrap_err()["error"]["code"], -32600);
        assert_eq!(check(r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#).unwrap_err()["error"]["code"], -32600);
        let bad = check(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":5}}"#).unwrap_err();
        assert_eq!((bad["id"].clone(), bad["error"]["code"].clone()), (json!(7), json!(-32602)));
        assert_eq!(check(r#"{"jsonrpc":"2.0","id":8,"method":"ping"}"#), Ok(true));
        assert_eq!(check(r#"{"jsonrpc":"2.0","id":9,"method":"no/such"}"#), Ok(true));
        assert_eq!(check(""), Ok(false));
    }
}
