//! Smithy RPC v2 CBOR in front of moto's AWS JSON 1.0.
//!
//! The current AWS SDK for Rust calls CloudWatch with the Smithy RPC v2 CBOR protocol
//! (<https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html>): `POST
//! /service/<Service>/operation/<Operation>`, header `smithy-protocol: rpc-v2-cbor`, a CBOR body.
//! moto only speaks AWS JSON 1.0 for CloudWatch (`POST /`, `X-Amz-Target:
//! <Service>.<Operation>`). The proxy translates the request to JSON and moto's answer back to
//! CBOR. CBOR is typed and JSON is not, so the answer is typed with CloudWatch's model: which
//! members are timestamps, doubles and blobs (the SDK's decoder accepts nothing else for them).

use std::io::Read;

use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::http::request::Parts;
use minicbor::data::{Tag, Type};
use serde_json::{Map, Number, Value};

/// CBOR tag 1: epoch-based date/time (RFC 8949 §3.4.2), how Smithy sends timestamps.
const EPOCH_TAG: u64 = 1;

/// CloudWatch's timestamp members (each a timestamp, or for `Timestamps` a list of them).
const TIMESTAMPS: &[&str] = &[
    "AlarmConfigurationUpdatedTimestamp",
    "CreationDate",
    "EndDate",
    "EndTime",
    "ExpireDate",
    "LastModified",
    "LastUpdateDate",
    "LastUpdatedTimestamp",
    "StartDate",
    "StartTime",
    "StateTransitionedTimestamp",
    "StateUpdatedTimestamp",
    "Timestamp",
    "Timestamps",
];

/// CloudWatch's double members (`Counts` and `Values` are lists of doubles,
/// `ExtendedStatistics` a map of them).
const DOUBLES: &[&str] = &[
    "AggregateValue",
    "ApproximateAggregateValue",
    "ApproximateValue",
    "Average",
    "Counts",
    "ExtendedStatistics",
    "MaxContributorValue",
    "Maximum",
    "Minimum",
    "SampleCount",
    "Sum",
    "Threshold",
    "UniqueContributors",
    "Value",
    "Values",
];

/// CloudWatch's blob members (base64 in JSON, a byte string in CBOR).
const BLOBS: &[&str] = &["MetricWidgetImage"];

/// An RPC v2 CBOR call: the service (e.g. `GraniteServiceVersion20100801`) and the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Rpc {
    pub(super) service: String,
    pub(super) operation: String,
}

/// The call a request makes, when it is RPC v2 CBOR: `POST /service/S/operation/O`, either with
/// the `smithy-protocol: rpc-v2-cbor` header or without it (a replayed record keeps only the
/// path).
pub(super) fn rpc_of(method: &hyper::Method, path: &str) -> Option<Rpc> {
    if method != hyper::Method::POST {
        return None;
    }
    let rest = path.split('?').next()?.strip_prefix("/service/")?;
    let (service, operation) = rest.split_once("/operation/")?;
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    (plain(service) && plain(operation)).then(|| Rpc {
        service: service.to_owned(),
        operation: operation.to_owned(),
    })
}

/// Whether `body` is already JSON (a replayed record), not CBOR: a CBOR request body is a map,
/// whose first byte is never `{`.
pub(super) fn is_json(body: &[u8]) -> bool {
    body.first() == Some(&b'{')
}

/// The body of a request as the SDK meant it: the SDK compresses large `PutMetricData` bodies
/// with gzip (`Content-Encoding: gzip`, Smithy's `requestCompression`), which moto does not
/// read; the header is removed once the body is inflated.
pub(super) fn inflate(headers: &mut HeaderMap, body: Bytes) -> Result<Bytes, String> {
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|v| v.trim() == "gzip"));
    if !gzip {
        return Ok(body);
    }
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut inflated)
        .map_err(|error| format!("bad gzip body: {error}"))?;
    headers.remove(header::CONTENT_ENCODING);
    Ok(Bytes::from(inflated))
}

/// Turns the request line and headers of an RPC v2 CBOR call into AWS JSON 1.0 ones for a body
/// of `length` bytes. The `Authorization` header stays: moto reads the Region and the service
/// from its credential scope.
pub(super) fn to_json_parts(parts: &mut Parts, rpc: &Rpc, length: usize) {
    parts.uri = hyper::Uri::from_static("/");
    let headers = &mut parts.headers;
    headers.remove("smithy-protocol");
    headers.remove(header::ACCEPT);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    if let Ok(target) = HeaderValue::from_str(&format!("{}.{}", rpc.service, rpc.operation)) {
        headers.insert("x-amz-target", target);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
}

/// The headers of an RPC v2 CBOR answer.
pub(super) fn set_cbor_headers(headers: &mut HeaderMap, length: usize) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/cbor"),
    );
    headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.remove("x-amz-crc32");
}

// ---------------------------------------------------------------------------------------------
// CBOR -> JSON (requests)

/// The JSON of a CBOR request body: tag-1 timestamps become epoch-second numbers, byte strings
/// base64 strings, floats stay floats. An empty body is an empty object.
pub(super) fn cbor_to_json(body: &[u8]) -> Result<Vec<u8>, String> {
    if body.is_empty() {
        return Ok(b"{}".to_vec());
    }
    let mut decoder = minicbor::Decoder::new(body);
    let value = decode(&mut decoder).map_err(|error| format!("bad CBOR body: {error}"))?;
    serde_json::to_vec(&value).map_err(|error| error.to_string())
}

fn decode(d: &mut minicbor::Decoder<'_>) -> Result<Value, minicbor::decode::Error> {
    Ok(match d.datatype()? {
        Type::Bool => Value::Bool(d.bool()?),
        Type::Null => {
            d.null()?;
            Value::Null
        }
        Type::Undefined => {
            d.undefined()?;
            Value::Null
        }
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Value::from(d.u64()?),
        Type::I8 | Type::I16 | Type::I32 | Type::I64 => Value::from(d.i64()?),
        Type::Int => float(d.i128()? as f64),
        Type::F16 | Type::F32 | Type::F64 => float(d.f64()?),
        Type::String => Value::String(d.str()?.to_owned()),
        Type::StringIndef => {
            let mut text = String::new();
            for chunk in d.str_iter()? {
                text.push_str(chunk?);
            }
            Value::String(text)
        }
        Type::Bytes => Value::String(base64_encode(d.bytes()?)),
        Type::BytesIndef => {
            let mut bytes = Vec::new();
            for chunk in d.bytes_iter()? {
                bytes.extend_from_slice(chunk?);
            }
            Value::String(base64_encode(&bytes))
        }
        Type::Array | Type::ArrayIndef => {
            let mut items = Vec::new();
            match d.array()? {
                Some(n) => {
                    for _ in 0..n {
                        items.push(decode(d)?);
                    }
                }
                None => {
                    while d.datatype()? != Type::Break {
                        items.push(decode(d)?);
                    }
                    d.skip()?;
                }
            }
            Value::Array(items)
        }
        Type::Map | Type::MapIndef => {
            let mut members = Map::new();
            match d.map()? {
                Some(n) => {
                    for _ in 0..n {
                        let key = d.str()?.to_owned();
                        members.insert(key, decode(d)?);
                    }
                }
                None => {
                    while d.datatype()? != Type::Break {
                        let key = d.str()?.to_owned();
                        members.insert(key, decode(d)?);
                    }
                    d.skip()?;
                }
            }
            Value::Object(members)
        }
        // Tag 1 (a timestamp) holds its epoch seconds: JSON takes the number itself; other tags
        // are not used by CloudWatch.
        Type::Tag => {
            d.tag()?;
            decode(d)?
        }
        Type::Simple | Type::Break | Type::Unknown(_) => {
            d.skip()?;
            Value::Null
        }
    })
}

/// A JSON float; NaN and the infinities are strings, as AWS JSON writes them.
fn float(x: f64) -> Value {
    match Number::from_f64(x) {
        Some(number) => Value::Number(number),
        None if x.is_nan() => Value::String("NaN".into()),
        None if x > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON -> CBOR (answers)

/// How a member is typed in CloudWatch's model, as far as JSON leaves it open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Timestamp,
    Double,
    Blob,
    Other,
}

fn kind_of(member: &str) -> Kind {
    if TIMESTAMPS.contains(&member) {
        Kind::Timestamp
    } else if DOUBLES.contains(&member) {
        Kind::Double
    } else if BLOBS.contains(&member) {
        Kind::Blob
    } else {
        Kind::Other
    }
}

type Encoder = minicbor::Encoder<Vec<u8>>;
type EncodeError = minicbor::encode::Error<std::convert::Infallible>;

/// The CBOR of moto's JSON answer, typed with CloudWatch's model. An empty body is an empty map.
pub(super) fn json_to_cbor(body: &[u8]) -> Result<Vec<u8>, String> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body)
            .map_err(|error| format!("moto's answer is not JSON: {error}"))?
    };
    let mut encoder = Encoder::new(Vec::new());
    encode(&mut encoder, &value, Kind::Other).map_err(|error| error.to_string())?;
    Ok(encoder.into_writer())
}

fn encode(e: &mut Encoder, value: &Value, kind: Kind) -> Result<(), EncodeError> {
    match value {
        Value::Null => {
            e.null()?;
        }
        Value::Bool(b) => {
            e.bool(*b)?;
        }
        Value::Number(number) => encode_number(e, number, kind)?,
        Value::String(text) => encode_string(e, text, kind)?,
        Value::Array(items) => {
            e.array(items.len() as u64)?;
            for item in items {
                // A list member's kind is its elements' (`Timestamps`, `Values`, `Counts`).
                encode(e, item, kind)?;
            }
        }
        Value::Object(members) => {
            e.map(members.len() as u64)?;
            for (key, member) in members {
                e.str(key)?;
                // A map of doubles (`ExtendedStatistics`) keeps its kind for its values.
                let member_kind = if kind == Kind::Double {
                    Kind::Double
                } else {
                    kind_of(key)
                };
                encode(e, member, member_kind)?;
            }
        }
    }
    Ok(())
}

fn encode_number(e: &mut Encoder, number: &Number, kind: Kind) -> Result<(), EncodeError> {
    let x = number.as_f64().unwrap_or_default();
    match kind {
        Kind::Timestamp => {
            e.tag(Tag::new(EPOCH_TAG))?;
            match number.as_i64() {
                Some(seconds) => e.i64(seconds)?,
                None => e.f64(x)?,
            };
        }
        Kind::Double => {
            e.f64(x)?;
        }
        Kind::Blob | Kind::Other => {
            if let Some(n) = number.as_u64() {
                e.u64(n)?;
            } else if let Some(n) = number.as_i64() {
                e.i64(n)?;
            } else if x.fract() == 0.0 && x.abs() < 9.0e15 {
                // An integer member written as `60.0`.
                e.i64(x as i64)?;
            } else {
                e.f64(x)?;
            }
        }
    }
    Ok(())
}

fn encode_string(e: &mut Encoder, text: &str, kind: Kind) -> Result<(), EncodeError> {
    match kind {
        Kind::Timestamp => match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(time) => {
                e.tag(Tag::new(EPOCH_TAG))?;
                e.f64(time.timestamp_millis() as f64 / 1000.0)?;
            }
            Err(_) => {
                e.str(text)?;
            }
        },
        Kind::Double => match text {
            "NaN" => {
                e.f64(f64::NAN)?;
            }
            "Infinity" => {
                e.f64(f64::INFINITY)?;
            }
            "-Infinity" => {
                e.f64(f64::NEG_INFINITY)?;
            }
            _ => {
                e.str(text)?;
            }
        },
        Kind::Blob => match base64_decode(text) {
            Some(bytes) => {
                e.bytes(&bytes)?;
            }
            None => {
                e.str(text)?;
            }
        },
        Kind::Other => {
            e.str(text)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Errors

/// An RPC v2 CBOR error: a map with `__type` and `message`, the two keys the SDK's error parser
/// reads (`aws-sdk-cloudwatch`'s `cbor_errors::parse_error_metadata`).
pub(super) fn error_body(code: &str, message: &str) -> Vec<u8> {
    let mut encoder = Encoder::new(Vec::new());
    let written = encoder
        .map(2)
        .and_then(|e| e.str("__type"))
        .and_then(|e| e.str(code))
        .and_then(|e| e.str("message"))
        .and_then(|e| e.str(message))
        .is_ok();
    debug_assert!(written, "CBOR into a Vec cannot fail");
    encoder.into_writer()
}

/// The code and message of moto's (or an injected) error answer: the JSON `__type` and
/// `message`, or the `<Code>`/`<Message>` of an XML error; `None` for anything else (moto's HTML
/// page for an operation it does not implement).
pub(super) fn error_of(body: &[u8]) -> Option<(String, String)> {
    if let Ok(Value::Object(members)) = serde_json::from_slice::<Value>(body) {
        let text = |key: &str| members.get(key).and_then(Value::as_str).map(str::to_owned);
        let code = text("__type").or_else(|| text("code"))?;
        let code = code.rsplit('#').next().unwrap_or(&code).to_owned();
        let message = text("message")
            .or_else(|| text("Message"))
            .unwrap_or_default();
        return Some((code, message));
    }
    let text = std::str::from_utf8(body).ok()?;
    let element = |name: &str| {
        let start = text.find(&format!("<{name}>"))? + name.len() + 2;
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].to_owned())
    };
    Some((element("Code")?, element("Message").unwrap_or_default()))
}

// ---------------------------------------------------------------------------------------------
// base64 (RFC 4648, standard alphabet, padded), as AWS JSON writes blobs

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text
        .trim_end_matches('=')
        .bytes()
        .map(|c| ALPHABET.iter().position(|&a| a == c).map(|p| p as u8))
        .collect::<Option<_>>()?;
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &d)| n | (u32::from(d) << (18 - 6 * i)));
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip_json(value: &Value) -> Value {
        let cbor = json_to_cbor(value.to_string().as_bytes()).expect("encodes");
        let json = cbor_to_json(&cbor).expect("decodes");
        serde_json::from_slice(&json).expect("JSON")
    }

    #[test]
    fn rpc_calls_are_told_by_their_path() {
        let rpc = rpc_of(
            &hyper::Method::POST,
            "/service/GraniteServiceVersion20100801/operation/GetMetricData",
        );
        assert_eq!(
            rpc,
            Some(Rpc {
                service: "GraniteServiceVersion20100801".into(),
                operation: "GetMetricData".into()
            })
        );
        assert_eq!(rpc_of(&hyper::Method::POST, "/"), None);
        assert_eq!(rpc_of(&hyper::Method::GET, "/service/A/operation/B"), None);
    }

    #[test]
    fn answers_are_typed_with_the_model() {
        let answer = serde_json::json!({
            "MetricDataResults": [{
                "Id": "m1",
                "Timestamps": [1796077817, 1796077757],
                "Values": [42.5, 40],
                "StatusCode": "Complete"
            }],
            "MetricAlarms": [{"Threshold": 0, "EvaluationPeriods": 2,
                              "StateUpdatedTimestamp": 1796077817.987}]
        });
        let cbor = json_to_cbor(answer.to_string().as_bytes()).expect("encodes");
        // The SDK's own decoder reads each typed member.
        let mut d = minicbor::Decoder::new(&cbor);
        let mut tags = 0;
        let mut floats = 0;
        while let Ok(kind) = d.datatype() {
            match kind {
                Type::Tag => tags += 1,
                Type::F64 => floats += 1,
                _ => {}
            }
            if kind == Type::Tag {
                d.tag().expect("tag");
            } else if matches!(kind, Type::Map | Type::Array) {
                let _ = if kind == Type::Map {
                    d.map()
                } else {
                    d.array()
                };
            } else {
                d.skip().expect("skip");
            }
        }
        assert_eq!(tags, 3, "three timestamps");
        // 42.5, 40 as a double, Threshold 0 as a double, and the fractional timestamp.
        assert_eq!(floats, 4);
        assert_eq!(
            roundtrip_json(&answer)["MetricAlarms"][0]["EvaluationPeriods"],
            2
        );
    }

    #[test]
    fn errors_carry_type_and_message() {
        let body = error_body("AccessDenied", "injected");
        let json: Value =
            serde_json::from_slice(&cbor_to_json(&body).expect("decodes")).expect("JSON");
        assert_eq!(json["__type"], "AccessDenied");
        assert_eq!(json["message"], "injected");
        assert_eq!(
            error_of(br#"{"__type":"com.amazonaws#ResourceNotFound","message":"no"}"#),
            Some(("ResourceNotFound".into(), "no".into()))
        );
        assert_eq!(error_of(b"<html>500</html>"), None);
    }

    #[test]
    fn gzipped_bodies_are_inflated() {
        use std::io::Write;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(&error_body("A", "b")).expect("gzip");
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        let body =
            inflate(&mut headers, Bytes::from(gzip.finish().expect("gzip"))).expect("inflates");
        assert_eq!(&body[..], &error_body("A", "b")[..]);
        assert!(!headers.contains_key(header::CONTENT_ENCODING));
    }

    #[test]
    fn base64_round_trips() {
        for bytes in [&b""[..], b"a", b"ab", b"abc", b"abcd", &[0, 255, 17, 3, 9]] {
            let text = base64_encode(bytes);
            assert_eq!(base64_decode(&text).as_deref(), Some(bytes), "{text}");
        }
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
    }
}
