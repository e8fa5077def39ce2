//! A YAML rendering of any model object for the describe pane, printed as block YAML (two-space
//! indent, `- ` for list items, quoted strings only where YAML needs it), fields in the order the
//! model declares them.

use std::fmt;

use serde::Serialize;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value that keeps the order of object keys (serde_json's own map sorts them).
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor;
        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                Value::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Number(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
                Ok(Value::Number(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Number(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Value, E> {
                Ok(Value::String(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Value, E> {
                Ok(Value::String(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Value::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    entries.push((key, value));
                }
                Ok(Value::Object(entries))
            }
        }
        deserializer.deserialize_any(OrderedVisitor)
    }
}

/// Any serializable object as YAML lines, fields in declaration order.
pub fn to_yaml_lines<T: Serialize + ?Sized>(object: &T) -> Vec<String> {
    let value = serde_json::to_string(object)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .unwrap_or(Value::Null);
    let mut out = Vec::new();
    match &value {
        Value::Object(map) if !map.is_empty() => write_object(map, 0, &mut out),
        Value::Array(items) if !items.is_empty() => write_array(items, 0, &mut out),
        scalar => out.push(scalar_text(scalar)),
    }
    out
}

fn pad(indent: usize) -> String {
    " ".repeat(indent)
}

fn write_object(map: &[(String, Value)], indent: usize, out: &mut Vec<String>) {
    for (key, value) in map {
        let key = key_text(key);
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push(format!("{}{key}:", pad(indent)));
                write_object(inner, indent + 2, out);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push(format!("{}{key}:", pad(indent)));
                // Block sequences under a key are not indented further (the usual YAML style).
                write_array(items, indent, out);
            }
            scalar => out.push(format!("{}{key}: {}", pad(indent), scalar_text(scalar))),
        }
    }
}

fn write_array(items: &[Value], indent: usize, out: &mut Vec<String>) {
    for item in items {
        match item {
            Value::Object(inner) if !inner.is_empty() => {
                let mut lines = Vec::new();
                write_object(inner, indent + 2, &mut lines);
                for (i, line) in lines.into_iter().enumerate() {
                    if i == 0 {
                        out.push(format!("{}- {}", pad(indent), &line[indent + 2..]));
                    } else {
                        out.push(line);
                    }
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push(format!("{}-", pad(indent)));
                write_array(inner, indent + 2, out);
            }
            scalar => out.push(format!("{}- {}", pad(indent), scalar_text(scalar))),
        }
    }
}

fn key_text(key: &str) -> String {
    if needs_quotes(key) {
        quoted(key)
    } else {
        key.to_string()
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.clone(),
        Value::String(s) if needs_quotes(s) => quoted(s),
        Value::String(s) => s.clone(),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Whether a plain scalar would be read back as something else (or not at all).
fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "null" | "~" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    ) {
        return true;
    }
    if s.parse::<f64>().is_ok() {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // `-1` and `-` alone are caught above or here; `arn:…` and paths start with letters.
        return !(first == '-' && s.len() > 1 && !s.starts_with("- "));
    }
    s.contains(": ") || s.contains(" #") || s.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Port {
        id: &'static str,
        port: i32,
    }

    #[derive(Serialize)]
    struct Sample {
        id: &'static str,
        state: &'static str,
        tags: BTreeMap<&'static str, &'static str>,
        security_group_ids: Vec<&'static str>,
        targets: Vec<Port>,
        empty: Vec<String>,
        reason: Option<String>,
        description: &'static str,
        version: &'static str,
        protocol: &'static str,
        text: &'static str,
        ratio: f64,
    }

    #[test]
    fn prints_fields_in_declaration_order_as_block_yaml() {
        let sample = Sample {
            id: "i-0abc",
            state: "running",
            tags: BTreeMap::from([("Name", "web"), ("aws:autoscaling:groupName", "lab-asg")]),
            security_group_ids: vec!["sg-1", "sg-2"],
            targets: vec![
                Port {
                    id: "i-1",
                    port: 80,
                },
                Port {
                    id: "i-2",
                    port: 80,
                },
            ],
            empty: Vec::new(),
            reason: None,
            description: "",
            version: "1",
            protocol: "-1",
            text: "a: b",
            ratio: 50.0,
        };
        let text = to_yaml_lines(&sample).join("\n");
        assert_eq!(
            text,
            "id: i-0abc\n\
             state: running\n\
             tags:\n  Name: web\n  aws:autoscaling:groupName: lab-asg\n\
             security_group_ids:\n- sg-1\n- sg-2\n\
             targets:\n- id: i-1\n  port: 80\n- id: i-2\n  port: 80\n\
             empty: []\n\
             reason: null\n\
             description: \"\"\n\
             version: \"1\"\n\
             protocol: \"-1\"\n\
             text: \"a: b\"\n\
             ratio: 50"
        );
    }
}
