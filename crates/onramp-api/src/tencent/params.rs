//! Typed access to an action's parameters, whatever the transport.
//!
//! JSON bodies carry numbers as numbers or numeric strings; GET and form requests carry every
//! leaf as a string. Every getter accepts both and names the parameter in its error. Keys an
//! action does not declare are refused with `UnknownParameter`.

use serde_json::{Map, Value};

use super::error::{TcError, TcResult};

#[derive(Debug, Clone)]
pub struct Params {
    obj: Map<String, Value>,
    /// Dotted path of this object, for nested error messages (`RealServerBindSet.0.`).
    prefix: String,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl Params {
    /// Wrap the action's parameter object, refusing keys not in `allowed`.
    pub fn new(v: Value, allowed: &[&str]) -> TcResult<Self> {
        Self::nested(v, allowed, String::new())
    }

    fn nested(v: Value, allowed: &[&str], prefix: String) -> TcResult<Self> {
        let obj = match v {
            Value::Object(o) => o,
            Value::Null => Map::new(),
            other => {
                return Err(TcError::invalid(
                    prefix.trim_end_matches('.'),
                    format!("must be an object, got {}", kind(&other)),
                ))
            }
        };
        if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(TcError::unknown_param(&format!("{prefix}{k}")));
        }
        Ok(Self { obj, prefix })
    }

    fn name(&self, k: &str) -> String {
        format!("{}{}", self.prefix, k)
    }

    fn get(&self, k: &str) -> Option<&Value> {
        self.obj.get(k).filter(|v| !v.is_null())
    }

    pub fn has(&self, k: &str) -> bool {
        self.get(k).is_some()
    }

    fn to_str(&self, k: &str, v: &Value) -> TcResult<String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(TcError::invalid(
                &self.name(k),
                format!("must be a string, got {}", kind(other)),
            )),
        }
    }

    fn to_i64(&self, k: &str, v: &Value) -> TcResult<i64> {
        let bad = || TcError::invalid(&self.name(k), "must be an integer");
        match v {
            Value::Number(n) => n.as_i64().ok_or_else(bad),
            Value::String(s) => s.trim().parse::<i64>().map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    pub fn str_opt(&self, k: &str) -> TcResult<Option<String>> {
        self.get(k).map(|v| self.to_str(k, v)).transpose()
    }

    pub fn str_req(&self, k: &str) -> TcResult<String> {
        self.str_opt(k)?
            .ok_or_else(|| TcError::missing(&self.name(k)))
    }

    /// A required string that must not be empty.
    pub fn nonempty(&self, k: &str) -> TcResult<String> {
        let s = self.str_req(k)?;
        if s.is_empty() {
            return Err(TcError::missing(&self.name(k)));
        }
        Ok(s)
    }

    pub fn i64_opt(&self, k: &str) -> TcResult<Option<i64>> {
        self.get(k).map(|v| self.to_i64(k, v)).transpose()
    }

    pub fn i64_req(&self, k: &str) -> TcResult<i64> {
        self.i64_opt(k)?
            .ok_or_else(|| TcError::missing(&self.name(k)))
    }

    /// An optional integer within `[lo, hi]`.
    pub fn int_in(&self, k: &str, lo: i64, hi: i64) -> TcResult<Option<i64>> {
        match self.i64_opt(k)? {
            Some(v) if v < lo || v > hi => Err(TcError::value(
                &self.name(k),
                format!("must be between {lo} and {hi}, got {v}"),
            )),
            v => Ok(v),
        }
    }

    /// An optional 0/1 flag.
    pub fn flag(&self, k: &str) -> TcResult<Option<bool>> {
        Ok(self.int_in(k, 0, 1)?.map(|v| v == 1))
    }

    /// An optional string from a closed set.
    pub fn one_of(&self, k: &str, allowed: &[&str]) -> TcResult<Option<String>> {
        match self.str_opt(k)? {
            Some(s) if !allowed.contains(&s.as_str()) => Err(TcError::value(
                &self.name(k),
                format!("must be one of {}, got '{s}'", allowed.join(", ")),
            )),
            v => Ok(v),
        }
    }

    fn list(&self, k: &str) -> TcResult<Option<&Vec<Value>>> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(TcError::invalid(
                &self.name(k),
                format!("must be a list, got {}", kind(other)),
            )),
        }
    }

    pub fn strs(&self, k: &str) -> TcResult<Vec<String>> {
        let Some(items) = self.list(k)? else {
            return Ok(Vec::new());
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| self.to_str(&format!("{k}.{i}"), v))
            .collect()
    }

    pub fn ints(&self, k: &str) -> TcResult<Vec<i64>> {
        let Some(items) = self.list(k)? else {
            return Ok(Vec::new());
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| self.to_i64(&format!("{k}.{i}"), v))
            .collect()
    }

    /// A list of objects, each checked against its own allowed keys.
    pub fn objects(&self, k: &str, allowed: &[&str]) -> TcResult<Vec<Params>> {
        let Some(items) = self.list(k)? else {
            return Ok(Vec::new());
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| Params::nested(v.clone(), allowed, format!("{}.{i}.", self.name(k))))
            .collect()
    }

    /// Offset/Limit with the documented default 20 and the action's maximum.
    pub fn page(&self, max_limit: i64) -> TcResult<(usize, usize)> {
        let offset = self.int_in("Offset", 0, i64::MAX)?.unwrap_or(0);
        let limit = self.int_in("Limit", 0, max_limit)?.unwrap_or(20);
        Ok((offset as usize, limit as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_may_be_strings() {
        let p = Params::new(json!({"A": "20", "B": 5, "L": ["1", 2]}), &["A", "B", "L"]).unwrap();
        assert_eq!(p.i64_req("A").unwrap(), 20);
        assert_eq!(p.i64_req("B").unwrap(), 5);
        assert_eq!(p.ints("L").unwrap(), vec![1, 2]);
        assert_eq!(p.str_req("B").unwrap_err().code, "InvalidParameter");
    }

    #[test]
    fn errors_name_the_parameter() {
        assert_eq!(
            Params::new(json!({"X": 1}), &["A"]).unwrap_err().code,
            "UnknownParameter"
        );
        let p = Params::new(json!({"A": "x", "O": [{"K": 1, "Z": 2}]}), &["A", "O"]).unwrap();
        let e = p.i64_req("A").unwrap_err();
        assert_eq!(e.code, "InvalidParameter");
        assert!(e.message.contains("`A`"));
        assert_eq!(p.i64_req("M").unwrap_err().code, "MissingParameter");
        let e = p.objects("O", &["K"]).unwrap_err();
        assert!(e.message.contains("O.0.Z"), "{}", e.message);
        let p = Params::new(json!({"D": 3}), &["D"]).unwrap();
        assert_eq!(
            p.int_in("D", 5, 300).unwrap_err().code,
            "InvalidParameterValue"
        );
    }
}
