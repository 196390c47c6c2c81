//! Writing Open311 answers as JSON or XML from one tree, so both formats always carry the same
//! fields. XML is written by hand: a declaration, elements named as the spec names them and
//! every text escaped.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::html::escape;

/// The two formats of the spec, chosen by the path's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.json`: `application/json; charset=utf-8`.
    Json,
    /// `.xml` or no extension (the spec's default): `text/xml; charset=utf-8`.
    Xml,
}

impl Format {
    /// Splits `file` (e.g. `services.json`) into its stem and format; `Err(stem)` when the
    /// extension is neither `json` nor `xml`.
    pub fn split(file: &str) -> Result<(&str, Format), &str> {
        match file.rsplit_once('.') {
            None => Ok((file, Format::Xml)),
            Some((stem, "json")) => Ok((stem, Format::Json)),
            Some((stem, "xml")) => Ok((stem, Format::Xml)),
            Some((stem, _)) => Err(stem),
        }
    }

    /// The `Content-Type` of answers in this format.
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }
}

/// One value of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// JSON `null`; an empty XML element.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A decimal number (coordinates).
    Float(f64),
    /// Text.
    Text(String),
    /// Named fields, in order: a JSON object; child elements in XML.
    Object(Vec<(&'static str, Value)>),
    /// A JSON array; in XML, one element named by the first field per item.
    List(&'static str, Vec<Value>),
}

impl Value {
    /// Text, or null when empty.
    pub fn text_or_null(text: &str) -> Value {
        if text.is_empty() {
            Value::Null
        } else {
            Value::Text(text.to_owned())
        }
    }

    /// As a `serde_json` value.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(n) => J::from(*n),
            Value::Float(x) => serde_json::Number::from_f64(*x).map_or(J::Null, J::Number),
            Value::Text(text) => J::String(text.clone()),
            Value::Object(fields) => J::Object(
                fields
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), value.to_json()))
                    .collect(),
            ),
            Value::List(_, items) => J::Array(items.iter().map(Value::to_json).collect()),
        }
    }

    /// Appends this value as the element `<name>` to `out`.
    pub fn write_xml(&self, name: &str, out: &mut String) {
        match self {
            Value::Null => {
                out.push('<');
                out.push_str(name);
                out.push_str("/>");
            }
            Value::Bool(b) => element(name, if *b { "true" } else { "false" }, out),
            Value::Int(n) => element(name, &n.to_string(), out),
            Value::Float(x) => element(name, &x.to_string(), out),
            Value::Text(text) => element(name, &escape(text), out),
            Value::Object(fields) => {
                out.push_str(&format!("<{name}>"));
                for (field, value) in fields {
                    value.write_xml(field, out);
                }
                out.push_str(&format!("</{name}>"));
            }
            Value::List(item, items) => {
                out.push_str(&format!("<{name}>"));
                for value in items {
                    value.write_xml(item, out);
                }
                out.push_str(&format!("</{name}>"));
            }
        }
    }
}

fn element(name: &str, escaped: &str, out: &mut String) {
    out.push_str(&format!("<{name}>{escaped}</{name}>"));
}

/// A whole XML document: the declaration and `value` as the root element `root`.
pub fn xml_document(root: &str, value: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    value.write_xml(root, &mut out);
    out.push('\n');
    out
}

/// An answer: `value` in `format`, with root element `root` in XML.
pub fn reply(format: Format, status: StatusCode, root: &str, value: &Value) -> Response {
    let body = match format {
        Format::Json => value.to_json().to_string(),
        Format::Xml => xml_document(root, value),
    };
    (
        status,
        [(header::CONTENT_TYPE, format.content_type())],
        body,
    )
        .into_response()
}

/// An error in the spec's shape, `[{"code":…,"description":…}]` or
/// `<errors><error><code>…</code><description>…</description></error></errors>`, with the
/// code as the HTTP status.
pub fn error(format: Format, status: StatusCode, description: &str) -> Response {
    let value = Value::List(
        "error",
        vec![Value::Object(vec![
            ("code", Value::Int(i64::from(status.as_u16()))),
            ("description", Value::Text(description.to_owned())),
        ])],
    );
    reply(format, status, "errors", &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_tree_writes_both_formats() {
        let value = Value::List(
            "request",
            vec![Value::Object(vec![
                ("service_request_id", Value::Text("AB12-CD34".into())),
                ("description", Value::Text("a < b".into())),
                ("account_id", Value::Null),
                ("lat", Value::Float(30.25)),
            ])],
        );
        assert_eq!(
            xml_document("service_requests", &value),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_requests><request>\
<service_request_id>AB12-CD34</service_request_id><description>a &lt; b</description>\
<account_id/><lat>30.25</lat></request></service_requests>\n"
        );
        assert_eq!(
            value.to_json(),
            serde_json::json!([{
                "service_request_id": "AB12-CD34",
                "description": "a < b",
                "account_id": null,
                "lat": 30.25,
            }])
        );
    }

    #[test]
    fn extensions_choose_the_format() {
        assert_eq!(
            Format::split("services.json"),
            Ok(("services", Format::Json))
        );
        assert_eq!(Format::split("services.xml"), Ok(("services", Format::Xml)));
        assert_eq!(Format::split("services"), Ok(("services", Format::Xml)));
        assert_eq!(Format::split("services.csv"), Err("services"));
    }
}
