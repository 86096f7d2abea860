//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`), written to *verify* requests
//! the way AWS's non-S3 services do, with a matching signer for tests.
//!
//! Design: [`parse`] only reads the request (the `Authorization` header, or
//! the presigned `X-Amz-*` query parameters) into a [`Parsed`] value, failing
//! with AWS's own error names and wording; the caller then looks the access
//! key up and hands the secret to [`verify`], which checks scope, clock and
//! payload header and recomputes the signature from the request *as it was
//! received*: the raw path is normalised and every segment URI-encoded once
//! more (so `%3A` on the wire becomes `%253A`, the non-S3 "double encoding"),
//! query pairs are percent-decoded, RFC 3986-encoded and sorted, and header
//! values are trimmed with whitespace runs collapsed. [`sign`] and [`presign`]
//! share that very canonicalisation, so a round trip proves nothing on its
//! own: the tests pin it to AWS's published suite and to botocore's output.
//! Nothing here panics on hostile input, and signatures are compared in
//! constant time (`subtle`). No date/time crate: the civil-date arithmetic
//! for `X-Amz-Date` is at the bottom of the file.

#![forbid(unsafe_code)]

use crate::hmac_sha256;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The only algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Allowed clock skew between the request's date and the server's clock.
pub const MAX_SKEW_SECS: i64 = 300;
/// Longest `X-Amz-Expires` a presigned request may carry (one week).
pub const MAX_PRESIGN_EXPIRES: u64 = 604_800;

const TERMINATOR: &str = "aws4_request";
const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// A request as received, before any normalisation.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// Raw path as sent, e.g. "/" or "/identitypools/us-east-1%3Aabc/identities".
    pub path: &'a str,
    /// Raw query string without '?', "" if none.
    pub query: &'a str,
    /// Names in any case; repeated names possible. Must include `host`.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// The `Credential` scope: `AKID/YYYYMMDD/region/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    /// YYYYMMDD
    pub date: String,
    pub region: String,
    pub service: String,
}

impl Credential {
    /// `date/region/service/aws4_request`, as it appears in the string to sign.
    pub fn scope(&self) -> String {
        format!("{}/{}/{}/{TERMINATOR}", self.date, self.region, self.service)
    }
}

/// What [`parse`] read from a request; no check against a secret yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub credential: Credential,
    /// YYYYMMDD'T'HHMMSS'Z' (from `X-Amz-Date`, or converted from `Date`).
    pub amz_date: String,
    /// Lowercased, in the order the client listed them.
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// `X-Amz-Expires` of a presigned request, if it carried one.
    pub presigned_expires: Option<u64>,
    /// True for the query-string (presigned) form.
    pub presigned: bool,
    /// `X-Amz-Security-Token` (header or query), for callers using temporary keys.
    pub session_token: Option<String>,
}

/// Authentication failures, each mapping to an AWS error name and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No `Authorization` header and no `X-Amz-Algorithm` query parameter.
    Missing,
    /// Malformed or incomplete authorization data (message in AWS wording).
    Incomplete(String),
    /// Signature mismatch, bad scope, clock skew, expiry and the like.
    InvalidSignature(String),
    /// The access key id is not known (for the caller to return after lookup).
    UnknownKey,
}

impl Error {
    /// The AWS error code (`__type` / `x-amzn-ErrorType`).
    pub fn aws_error_code(&self) -> &'static str {
        match self {
            Error::Missing => "MissingAuthenticationTokenException",
            Error::Incomplete(_) => "IncompleteSignatureException",
            Error::InvalidSignature(_) => "InvalidSignatureException",
            Error::UnknownKey => "UnrecognizedClientException",
        }
    }

    /// The human-readable message AWS sends with the code.
    pub fn message(&self) -> String {
        match self {
            Error::Missing => "Missing Authentication Token".to_string(),
            Error::Incomplete(m) | Error::InvalidSignature(m) => m.clone(),
            Error::UnknownKey => "The security token included in the request is invalid.".to_string(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.aws_error_code(), self.message())
    }
}

impl std::error::Error for Error {}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// Reads the authorization data of `req`: the `Authorization` header form if
/// that header is present, else the presigned query form if `X-Amz-Algorithm`
/// is in the query, else [`Error::Missing`].
pub fn parse(req: &Request) -> Result<Parsed, Error> {
    if let Some(auth) = header(req, "authorization") {
        return parse_header_form(req, auth);
    }
    let query = query_pairs(req.query);
    if query.iter().any(|(k, _)| k == b"X-Amz-Algorithm") {
        return parse_query_form(&query);
    }
    Err(Error::Missing)
}

fn parse_header_form(req: &Request, auth: &str) -> Result<Parsed, Error> {
    let auth = auth.trim();
    let (algorithm, rest) = match auth.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((a, r)) => (a, r),
        None => (auth, ""),
    };
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    if algorithm == ALGORITHM {
        for part in rest.split(|c: char| c == ',' || c.is_ascii_whitespace()) {
            if part.is_empty() {
                continue;
            }
            let Some((key, value)) = part.split_once('=') else {
                return Err(Error::Incomplete(format!(
                    "Invalid key=value pair (missing equal-sign) in Authorization header \
                     (hashed with SHA-256 and encoded with Base64): '{}'.",
                    base64(&Sha256::digest(auth.as_bytes()))
                )));
            };
            let slot = match key {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
    }
    // Anything but AWS4-HMAC-SHA256 ("Bearer x", "AWS4-HMAC-SHA512 ...") reads
    // as a header carrying none of the parameters, as AWS reports it.
    let date = request_date(req);
    let mut missing = String::new();
    for (name, value) in [("Credential", credential), ("Signature", signature), ("SignedHeaders", signed_headers)] {
        if value.is_none() {
            missing.push_str(&format!("Authorization header requires '{name}' parameter. "));
        }
    }
    if date.is_none() {
        missing.push_str("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ");
    }
    let (Some(credential), Some(signed_headers), Some(signature), Some(date), true) =
        (credential, signed_headers, signature, date, missing.is_empty())
    else {
        return Err(Error::Incomplete(format!("{missing}Authorization={auth}")));
    };
    Ok(Parsed {
        credential: parse_credential(credential)?,
        amz_date: date?,
        signed_headers: split_signed_headers(signed_headers),
        signature: signature.to_string(),
        presigned_expires: None,
        presigned: false,
        session_token: header(req, "x-amz-security-token").map(|v| v.trim().to_string()),
    })
}

fn parse_query_form(query: &[(Vec<u8>, Vec<u8>)]) -> Result<Parsed, Error> {
    let get = |name: &str| {
        query.iter().find(|(k, _)| k == name.as_bytes()).map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    let names = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"];
    let [algorithm, credential, signature, signed_headers, date] = names.map(get);
    let mut missing = String::new();
    for (name, value) in names.iter().zip([&algorithm, &credential, &signature, &signed_headers, &date]) {
        if value.is_none() {
            missing.push_str(&format!("AWS query-string parameters must include '{name}'. "));
        }
    }
    let (Some(algorithm), Some(credential), Some(signature), Some(signed_headers), Some(date), true) =
        (algorithm, credential, signature, signed_headers, date, missing.is_empty())
    else {
        return Err(Error::Incomplete(format!("{missing}Re-examine the query-string parameters.")));
    };
    if algorithm != ALGORITHM {
        return Err(Error::Incomplete(format!("X-Amz-Algorithm only supports \"{ALGORITHM}\"")));
    }
    let presigned_expires = match get("X-Amz-Expires") {
        None => None,
        Some(e) => match e.parse::<u64>() {
            Ok(n) if e.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(Error::Incomplete("X-Amz-Expires should be a number".to_string())),
        },
    };
    Ok(Parsed {
        credential: parse_credential(&credential)?,
        amz_date: checked_amz_date(&date)?,
        signed_headers: split_signed_headers(&signed_headers),
        signature,
        presigned_expires,
        presigned: true,
        session_token: get("X-Amz-Security-Token"),
    })
}

fn parse_credential(text: &str) -> Result<Credential, Error> {
    let parts: Vec<&str> = text.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
        return Err(Error::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, \
             e.g. keyid/date/region/service/term, got '{text}'"
        )));
    };
    if *terminator != TERMINATOR {
        return Err(Error::InvalidSignature(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'. "
        )));
    }
    if access_key_id.is_empty() {
        return Err(Error::Incomplete(format!("Credential must contain an access key id, got '{text}'")));
    }
    Ok(Credential {
        access_key_id: access_key_id.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
    })
}

fn split_signed_headers(list: &str) -> Vec<String> {
    list.split(';').map(|h| h.trim().to_ascii_lowercase()).collect()
}

/// The request time: `X-Amz-Date`, else an RFC 7231 `Date` header. `None` if
/// neither header exists; `Some(Err)` if the one used is unreadable.
fn request_date(req: &Request) -> Option<Result<String, Error>> {
    if let Some(v) = header(req, "x-amz-date") {
        return Some(checked_amz_date(v.trim()));
    }
    let v = header(req, "date")?.trim();
    Some(parse_http_date(v).map(format_amz_date).ok_or_else(|| bad_date(v)))
}

fn checked_amz_date(v: &str) -> Result<String, Error> {
    match parse_amz_date(v) {
        Some(_) => Ok(v.to_string()),
        None => Err(bad_date(v)),
    }
}

fn bad_date(v: &str) -> Error {
    Error::InvalidSignature(format!(
        "Date must be in ISO-8601 'basic format'. Got '{v}'. See http://en.wikipedia.org/wiki/ISO_8601"
    ))
}

// ---------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------

/// Checks scope (service must equal `service`; region any non-empty), time
/// window (|now - amz_date| <= 300 s; presigned: now <= date + expires,
/// expires <= 604800), recomputes the signature with `secret_access_key`,
/// compares in constant time.
pub fn verify(
    req: &Request,
    parsed: &Parsed,
    secret_access_key: &str,
    service: &str,
    now_unix: i64,
) -> Result<(), Error> {
    let cred = &parsed.credential;
    if cred.service != service {
        return Err(Error::InvalidSignature(format!("Credential should be scoped to correct service: '{service}'. ")));
    }
    if cred.region.is_empty() {
        return Err(Error::InvalidSignature("Credential should be scoped to a valid region. ".to_string()));
    }
    let amz = parsed.amz_date.as_str();
    let Some(signed_at) = parse_amz_date(amz) else {
        return Err(bad_date(amz));
    };
    let amz_day = amz.get(..8).unwrap_or(amz);
    if cred.date != amz_day {
        return Err(Error::InvalidSignature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
             '{}' != '{amz_day}', from '{amz}'.",
            cred.date
        )));
    }
    if !parsed.signed_headers.iter().any(|h| h == "host") {
        return Err(Error::InvalidSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".to_string(),
        ));
    }
    check_clock(signed_at, parsed, now_unix)?;

    let payload_hash = payload_hash(req, &parsed.signed_headers);
    if payload_hash != hex::encode(Sha256::digest(req.body)) {
        // A signed x-amz-content-sha256 that is not the body's hash (including
        // UNSIGNED-PAYLOAD) would leave the body unauthenticated: refuse it.
        return Err(Error::InvalidSignature(
            "The provided 'x-amz-content-sha256' header does not match what was computed.".to_string(),
        ));
    }
    let canonical = canonical_request(req, &parsed.signed_headers, &payload_hash, parsed.presigned);
    let expected = signature(secret_access_key, cred, amz, &canonical);
    if bool::from(expected.as_bytes().ct_eq(parsed.signature.as_bytes())) {
        Ok(())
    } else {
        Err(Error::InvalidSignature(MISMATCH.to_string()))
    }
}

fn check_clock(signed_at: i64, parsed: &Parsed, now: i64) -> Result<(), Error> {
    let fmt = format_amz_date;
    if let Some(expires) = parsed.presigned_expires {
        if expires > MAX_PRESIGN_EXPIRES {
            return Err(Error::InvalidSignature(format!(
                "X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGN_EXPIRES}"
            )));
        }
        // expires <= 604800, so the conversion and the additions cannot overflow
        // for any plausible `now`; saturate anyway.
        let expires_i = i64::try_from(expires).unwrap_or(i64::MAX);
        if now > signed_at.saturating_add(expires_i) {
            return Err(Error::InvalidSignature(format!(
                "Signature expired: {} is now earlier than {} ({} - {expires} sec.)",
                parsed.amz_date,
                fmt(now.saturating_sub(expires_i)),
                fmt(now)
            )));
        }
    } else if signed_at < now.saturating_sub(MAX_SKEW_SECS) {
        return Err(Error::InvalidSignature(format!(
            "Signature expired: {} is now earlier than {} ({} - 5 min.)",
            parsed.amz_date,
            fmt(now.saturating_sub(MAX_SKEW_SECS)),
            fmt(now)
        )));
    }
    if signed_at > now.saturating_add(MAX_SKEW_SECS) {
        return Err(Error::InvalidSignature(format!(
            "Signature not yet current: {} is still later than {} ({} + 5 min.)",
            parsed.amz_date,
            fmt(now.saturating_add(MAX_SKEW_SECS)),
            fmt(now)
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Signing (for tests and clients)
// ---------------------------------------------------------------------------

/// Signs `req` in the `Authorization` header form and returns the headers to
/// set: `("x-amz-date", ..)` and `("authorization", ..)`. Every header of
/// `req` is signed (it must include `host`); any `authorization` or
/// `x-amz-date` already in `req.headers` is ignored, to be replaced by these.
pub fn sign(
    req: &Request,
    access_key_id: &str,
    secret_access_key: &str,
    region: &str,
    service: &str,
    now_unix: i64,
) -> Vec<(String, String)> {
    let amz_date = format_amz_date(now_unix);
    let mut headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .copied()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("authorization") && !n.eq_ignore_ascii_case("x-amz-date"))
        .collect();
    headers.push(("x-amz-date", &amz_date));
    let signing_req = Request { headers: &headers, ..*req };
    let signed_headers = names_to_sign(&headers);
    let cred = credential(access_key_id, &amz_date, region, service);
    let payload_hash = payload_hash(&signing_req, &signed_headers);
    let canonical = canonical_request(&signing_req, &signed_headers, &payload_hash, false);
    let sig = signature(secret_access_key, &cred, &amz_date, &canonical);
    let authorization = format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={sig}",
        cred.access_key_id,
        cred.scope(),
        signed_headers.join(";")
    );
    vec![("x-amz-date".to_string(), amz_date), ("authorization".to_string(), authorization)]
}

/// Presigns `req` (query form, `expires_secs` of validity): returns the full
/// query string to send, i.e. `req.query` followed by the `X-Amz-*`
/// parameters with `X-Amz-Signature` last. All headers of `req` are signed.
pub fn presign(
    req: &Request,
    access_key_id: &str,
    secret_access_key: &str,
    region: &str,
    service: &str,
    now_unix: i64,
    expires_secs: u64,
) -> String {
    let amz_date = format_amz_date(now_unix);
    let cred = credential(access_key_id, &amz_date, region, service);
    let signed_headers = names_to_sign(req.headers);
    let added = [
        ("X-Amz-Algorithm", ALGORITHM.to_string()),
        ("X-Amz-Credential", format!("{}/{}", cred.access_key_id, cred.scope())),
        ("X-Amz-Date", amz_date.clone()),
        ("X-Amz-Expires", expires_secs.to_string()),
        ("X-Amz-SignedHeaders", signed_headers.join(";")),
    ];
    let mut query = req.query.to_string();
    for (k, v) in &added {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&format!("{}={}", uri_encode(k.as_bytes(), true), uri_encode(v.as_bytes(), true)));
    }
    let signing_req = Request { query: &query, ..*req };
    let payload_hash = payload_hash(&signing_req, &signed_headers);
    let canonical = canonical_request(&signing_req, &signed_headers, &payload_hash, true);
    let sig = signature(secret_access_key, &cred, &amz_date, &canonical);
    query.push_str("&X-Amz-Signature=");
    query.push_str(&sig);
    query
}

fn credential(access_key_id: &str, amz_date: &str, region: &str, service: &str) -> Credential {
    Credential {
        access_key_id: access_key_id.to_string(),
        date: amz_date.get(..8).unwrap_or(amz_date).to_string(),
        region: region.to_string(),
        service: service.to_string(),
    }
}

/// Lowercased, deduplicated, sorted header names plus `host`.
fn names_to_sign(headers: &[(&str, &str)]) -> Vec<String> {
    let mut names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.trim().to_ascii_lowercase())
        .filter(|n| n != "authorization")
        .chain(std::iter::once("host".to_string()))
        .collect();
    names.sort();
    names.dedup();
    names
}

// ---------------------------------------------------------------------------
// Canonicalisation and the signature itself
// ---------------------------------------------------------------------------

/// The canonical request for `req` over `signed_headers`; `presigned` drops
/// `X-Amz-Signature` from the query.
fn canonical_request(req: &Request, signed_headers: &[String], payload_hash: &str, presigned: bool) -> String {
    let mut out = String::with_capacity(req.path.len().saturating_add(req.query.len()).saturating_add(256));
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.path));
    out.push('\n');
    out.push_str(&canonical_query(req.query, presigned));
    out.push('\n');
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        let values: Vec<String> =
            req.headers.iter().filter(|(n, _)| n.trim().eq_ignore_ascii_case(name)).map(|(_, v)| trim_all(v)).collect();
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// Remove dot segments and empty segments, keep a trailing slash, then
/// URI-encode every segment of the path exactly as received (which is the
/// second encoding for a path the client had already encoded).
fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len().saturating_add(1));
    out.push('/');
    let encoded: Vec<String> = segments.iter().map(|s| uri_encode(s.as_bytes(), true)).collect();
    out.push_str(&encoded.join("/"));
    if !segments.is_empty() && path.ends_with('/') {
        out.push('/');
    }
    out
}

/// Decoded `(key, value)` pairs of a raw query string; `+` stays a literal `+`.
fn query_pairs(query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn canonical_query(query: &str, presigned: bool) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .into_iter()
        .filter(|(k, _)| !(presigned && k == b"X-Amz-Signature"))
        .map(|(k, v)| (uri_encode(&k, true), uri_encode(&v, true)))
        .collect();
    pairs.sort();
    let joined: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    joined.join("&")
}

/// The payload hash: a signed `x-amz-content-sha256` header's value, else the
/// hex SHA-256 of the body.
fn payload_hash(req: &Request, signed_headers: &[String]) -> String {
    if signed_headers.iter().any(|h| h == "x-amz-content-sha256")
        && let Some(v) = header(req, "x-amz-content-sha256")
    {
        return v.trim().to_string();
    }
    hex::encode(Sha256::digest(req.body))
}

/// Hex signature of `canonical` under the key derived for `cred`.
fn signature(secret: &str, cred: &Credential, amz_date: &str, canonical: &str) -> String {
    let string_to_sign =
        format!("{ALGORITHM}\n{amz_date}\n{}\n{}", cred.scope(), hex::encode(Sha256::digest(canonical.as_bytes())));
    let key = signing_key(secret, &cred.date, &cred.region, &cred.service);
    hex::encode(hmac_sha256(&key, string_to_sign.as_bytes()))
}

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
/// Depends only on the scope, so a server may cache it per key and day.
pub fn signing_key(secret_access_key: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret_access_key}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

// ---------------------------------------------------------------------------
// Small text helpers
// ---------------------------------------------------------------------------

/// First value of header `name` (case-insensitive).
fn header<'a>(req: &Request<'a>, name: &str) -> Option<&'a str> {
    req.headers.iter().find(|(n, _)| n.trim().eq_ignore_ascii_case(name)).map(|(_, v)| *v)
}

/// Trim and collapse runs of ASCII whitespace to one space, as botocore's
/// `' '.join(value.split())` and the JS SDK's `/\s+/g` do for ASCII input.
fn trim_all(v: &str) -> String {
    v.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// RFC 3986 encoding: unreserved bytes kept, every other byte as `%XX`
/// (uppercase). `/` is encoded too if `encode_slash`.
fn uri_encode(input: &[u8], encode_slash: bool) -> String {
    let hex_digit = |n: u8| char::from_digit(u32::from(n & 0x0f), 16).map_or('0', |c| c.to_ascii_uppercase());
    let mut out = String::with_capacity(input.len());
    for &b in input {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (b == b'/' && !encode_slash) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b));
        }
    }
    out
}

/// `%XX` to bytes; a `%` not followed by two hex digits stays literal.
fn percent_decode(input: &str) -> Vec<u8> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| char::from(*c).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|c| char::from(*c).to_digit(16));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'%'));
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Standard padded base64 (only for AWS's "hashed with SHA-256 and encoded
/// with Base64" message).
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |n: u32| {
        let i = usize::try_from(n & 63).unwrap_or(0);
        ALPHABET.get(i).map_or('=', |c| char::from(*c))
    };
    let mut out = String::with_capacity(input.len().saturating_mul(2));
    for chunk in input.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

// ---------------------------------------------------------------------------
// Dates (proleptic Gregorian, UTC, no leap seconds)
// ---------------------------------------------------------------------------

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn unix_from_parts(year: i64, month: i64, day: i64, h: i64, m: i64, s: i64) -> Option<i64> {
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && (0..24).contains(&h)
        && (0..60).contains(&m)
        && (0..60).contains(&s);
    valid.then(|| days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// `YYYYMMDD'T'HHMMSS'Z'` for a Unix time.
pub fn format_amz_date(unix: i64) -> String {
    let (year, month, day) = civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Unix time of a `YYYYMMDD'T'HHMMSS'Z'` string; `None` unless exactly that
/// shape and a real calendar time.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let digits = b.get(from..to)?;
        digits.iter().try_fold(0i64, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0')))
    };
    unix_from_parts(num(0, 4)?, num(4, 6)?, num(6, 8)?, num(9, 11)?, num(11, 13)?, num(13, 15)?)
}

/// Unix time of an IMF-fixdate `Date` header ("Sun, 06 Nov 1994 08:49:37 GMT").
fn parse_http_date(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split_ascii_whitespace().collect();
    let [weekday, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    if !weekday.ends_with(',') {
        return None;
    }
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| m == month)?;
    let num = |t: &str, len: usize| -> Option<i64> {
        (t.len() == len && t.bytes().all(|c| c.is_ascii_digit())).then(|| t.parse().ok())?
    };
    let hms: Vec<&str> = time.split(':').collect();
    let [h, m, sec] = hms.as_slice() else {
        return None;
    };
    let month = i64::try_from(month).ok()? + 1;
    unix_from_parts(num(year, 4)?, month, num(day, 2)?, num(h, 2)?, num(m, 2)?, num(sec, 2)?)
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SUITE_DATE: &str = "20150830T123600Z";
    const HOST: (&str, &str) = ("Host", "example.amazonaws.com");
    const DATE: (&str, &str) = ("X-Amz-Date", SUITE_DATE);

    fn suite_now() -> i64 {
        parse_amz_date(SUITE_DATE).unwrap()
    }

    fn suite_auth(signed_headers: &str, sig: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders={signed_headers}, Signature={sig}"
        )
    }

    /// Verifies a request from the AWS SigV4 test suite (2015 edition, as
    /// shipped at docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite):
    /// `extra` headers are the request's own, the Authorization header is the
    /// suite's expected one. Also checks that our signer produces the same.
    fn check_suite(
        name: &str,
        method: &str,
        target: &str,
        extra: &[(&str, &str)],
        body: &[u8],
        signed: &str,
        sig: &str,
    ) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let auth = suite_auth(signed, sig);
        let mut headers = vec![HOST];
        headers.extend_from_slice(extra);
        headers.push(DATE);
        let mut with_auth = headers.clone();
        with_auth.push(("Authorization", &auth));
        let req = Request { method, path, query, headers: &with_auth, body };
        let parsed = parse(&req).unwrap_or_else(|e| panic!("{name}: parse: {e}"));
        assert_eq!(parsed.signature, sig, "{name}");
        verify(&req, &parsed, SECRET, "service", suite_now()).unwrap_or_else(|e| panic!("{name}: verify: {e}"));
        // Our signer, over the same headers, must produce the suite's header.
        let unsigned = Request { method, path, query, headers: &headers, body };
        let out = sign(&unsigned, AKID, SECRET, "us-east-1", "service", suite_now());
        assert_eq!(out[1].1, auth, "{name}: signer");
    }

    #[test]
    fn aws_suite_vectors() {
        let empty = b"";
        let v = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        let hd = "host;x-amz-date";
        check_suite("get-vanilla", "GET", "/", &[], empty, hd, v);
        check_suite("get-vanilla-query", "GET", "/", &[], empty, hd, v);
        check_suite("get-slash", "GET", "//", &[], empty, hd, v);
        check_suite("get-slash-dot-slash", "GET", "/./", &[], empty, hd, v);
        check_suite("get-relative", "GET", "/example/..", &[], empty, hd, v);
        check_suite("get-relative-relative", "GET", "/example1/example2/../..", &[], empty, hd, v);
        check_suite(
            "get-slash-pointless-dot",
            "GET",
            "/./example",
            &[],
            empty,
            hd,
            "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
        );
        check_suite(
            "get-slashes",
            "GET",
            "//example//",
            &[],
            empty,
            hd,
            "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
        );
        check_suite(
            "get-space",
            "GET",
            "/example space/",
            &[],
            empty,
            hd,
            "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
        );
        check_suite(
            "get-utf8",
            "GET",
            "/ሴ",
            &[],
            empty,
            hd,
            "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
        );
        check_suite(
            "get-unreserved",
            "GET",
            "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            &[],
            empty,
            hd,
            "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
        );
        check_suite(
            "get-vanilla-empty-query-key",
            "GET",
            "/?Param1=value1",
            &[],
            empty,
            hd,
            "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
        );
        check_suite(
            "get-vanilla-query-order-key",
            "GET",
            "/?Param1=value2&Param1=Value1",
            &[],
            empty,
            hd,
            "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1",
        );
        check_suite(
            "get-vanilla-query-order-key-case",
            "GET",
            "/?Param2=value2&Param1=value1",
            &[],
            empty,
            hd,
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        );
        check_suite(
            "get-vanilla-query-order-value",
            "GET",
            "/?Param1=value2&Param1=value1",
            &[],
            empty,
            hd,
            "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694",
        );
        check_suite(
            "get-vanilla-query-unreserved",
            "GET",
            "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            &[],
            empty,
            hd,
            "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
        );
        check_suite(
            "get-vanilla-utf8-query",
            "GET",
            "/?ሴ=bar",
            &[],
            empty,
            hd,
            "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
        );
        // aws-signing-test-suite v4/get-query-plus: '+' is a literal plus (%2B).
        check_suite(
            "get-query-plus",
            "GET",
            "/?c+d",
            &[],
            empty,
            hd,
            "ae684ce3aadc299e3ac7d9216fcc039c7edf40dea57cf5b3005821dd2f176654",
        );
        check_suite(
            "get-header-key-duplicate",
            "GET",
            "/",
            &[("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")],
            empty,
            "host;my-header1;x-amz-date",
            "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        );
        check_suite(
            "get-header-value-order",
            "GET",
            "/",
            &[("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"), ("My-Header1", "value2")],
            empty,
            "host;my-header1;x-amz-date",
            "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
        );
        check_suite(
            "get-header-value-trim",
            "GET",
            "/",
            &[("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
            empty,
            "host;my-header1;my-header2;x-amz-date",
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        );
        check_suite(
            "post-vanilla",
            "POST",
            "/",
            &[],
            empty,
            hd,
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        );
        check_suite(
            "post-vanilla-query",
            "POST",
            "/?Param1=value1",
            &[],
            empty,
            hd,
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        );
        check_suite(
            "post-header-key-case",
            "POST",
            "/",
            &[],
            empty,
            hd,
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        );
        check_suite(
            "post-header-key-sort",
            "POST",
            "/",
            &[("My-Header1", "value1")],
            empty,
            "host;my-header1;x-amz-date",
            "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
        );
        check_suite(
            "post-header-value-case",
            "POST",
            "/",
            &[("My-Header1", "VALUE1")],
            empty,
            "host;my-header1;x-amz-date",
            "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
        );
        check_suite(
            "post-x-www-form-urlencoded",
            "POST",
            "/",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"Param1=value1",
            "content-type;host;x-amz-date",
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        );
        check_suite(
            "post-x-www-form-urlencoded-parameters",
            "POST",
            "/",
            &[("Content-Type", "application/x-www-form-urlencoded; charset=utf8")],
            b"Param1=value1",
            "content-type;host;x-amz-date",
            "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
        );
        check_suite(
            "post-sts-header-before",
            "POST",
            "/",
            &[(
                "X-Amz-Security-Token",
                "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==",
            )],
            empty,
            "host;x-amz-date;x-amz-security-token",
            "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        );
    }

    #[test]
    fn suite_canonical_request_text() {
        // get-header-value-trim's published canonical request, byte for byte.
        let headers = [HOST, ("My-Header1", " value1"), ("My-Header2", " \"a   b   c\""), DATE];
        let req = Request { method: "GET", path: "/", query: "", headers: &headers, body: b"" };
        let signed: Vec<String> = ["host", "my-header1", "my-header2", "x-amz-date"].map(String::from).to_vec();
        let hash = payload_hash(&req, &signed);
        assert_eq!(
            canonical_request(&req, &signed, &hash, false),
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n\
             x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn signing_key_matches_aws_docs() {
        // Published in the AWS "deriving the signing key" examples.
        assert_eq!(
            hex::encode(signing_key(SECRET, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        assert_eq!(
            hex::encode(signing_key(SECRET, "20120215", "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn hmac_long_keys_match_the_crate() {
        for len in [0usize, 1, 63, 64, 65, 200] {
            let key = vec![0x5au8; len];
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
            mac.update(b"data");
            let want: [u8; 32] = mac.finalize().into_bytes().into();
            assert_eq!(hmac_sha256(&key, b"data"), want, "key length {len}");
        }
    }

    #[test]
    fn canonical_uri_double_encodes_the_wire_path() {
        assert_eq!(
            canonical_uri("/identitypools/us-east-1%3Aabc/identities"),
            "/identitypools/us-east-1%253Aabc/identities"
        );
        assert_eq!(canonical_uri("/example%20space/"), "/example%2520space/");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a/b/../c/./d/"), "/a/c/d/");
        assert_eq!(canonical_uri("/.."), "/");
        assert_eq!(canonical_query("b=2&a=1&a&c=%7e+x%2f", false), "a=&a=1&b=2&c=~%2Bx%2F");
        assert_eq!(canonical_query("a=1&X-Amz-Signature=ff", true), "a=1");
    }

    /// Produced with botocore 1.44.5 in a scratch venv (/tmp/sigv4-venv), clock
    /// frozen at 2026-11-22T00:15:00Z by replacing `botocore.auth.get_current_datetime`,
    /// a client per service with endpoint_url http://127.0.0.1:9229, region
    /// us-east-1 and the suite's AKIDEXAMPLE credentials, and a `before-send`
    /// hook that captured the prepared request instead of sending it.
    mod botocore {
        use super::*;

        const NOW: &str = "20261122T001500Z";
        const LOCAL: (&str, &str) = ("Host", "127.0.0.1:9229");
        const UA: (&str, &str) = (
            "User-Agent",
            "Botocore/1.44.5 ua/2.1 os/linux#6.18.44-fc-v669 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/Z,N,E,e,b cfg/retry-mode#standard",
        );

        fn accept(req: &Request, service: &str) {
            let parsed = parse(req).unwrap();
            verify(req, &parsed, SECRET, service, parse_amz_date(NOW).unwrap()).unwrap();
            // And the same request with a different secret is refused.
            assert!(verify(req, &parsed, "other", service, parse_amz_date(NOW).unwrap()).is_err());
        }

        #[test]
        fn cognito_idp_admin_get_user_json_post() {
            // client("cognito-idp").admin_get_user(UserPoolId="us-east-1_Example", Username="alice")
            let headers = [
                ("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminGetUser"),
                ("Content-Type", "application/x-amz-json-1.1"),
                UA,
                ("X-Amz-Date", NOW),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/cognito-idp/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=648cc7c0f82664a4270b7e23cdc07fc7529bb3f938b0dec9e2b413a95233b7da",
                ),
                ("amz-sdk-invocation-id", "e6b5fcdb-0e6e-462b-9245-1bc1d1561291"),
                ("amz-sdk-request", "attempt=1; max=3"),
                ("Content-Length", "56"),
                LOCAL,
            ];
            let body = br#"{"UserPoolId": "us-east-1_Example", "Username": "alice"}"#;
            accept(&Request { method: "POST", path: "/", query: "", headers: &headers, body }, "cognito-idp");
        }

        #[test]
        fn cognito_sync_path_with_encoded_colons() {
            // client("cognito-sync").list_datasets(IdentityPoolId="us-east-1:abc", IdentityId="us-east-1:def")
            let headers = [
                UA,
                ("X-Amz-Date", NOW),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/cognito-sync/aws4_request, SignedHeaders=host;x-amz-date, Signature=dc26697bcc98ef4b4f3702203a0879855e05e9f33f1043ea514d904d386786c2",
                ),
                ("amz-sdk-invocation-id", "ecc4cd28-87da-4304-934f-b617e29f8fb6"),
                ("amz-sdk-request", "attempt=1; max=3"),
                LOCAL,
            ];
            let path = "/identitypools/us-east-1%3Aabc/identities/us-east-1%3Adef/datasets";
            accept(&Request { method: "GET", path, query: "", headers: &headers, body: b"" }, "cognito-sync");
            // The decoded path is a different request as far as the signature goes.
            let decoded = Request {
                method: "GET",
                path: "/identitypools/us-east-1:abc/identities/us-east-1:def/datasets",
                query: "",
                headers: &headers,
                body: b"",
            };
            let parsed = parse(&decoded).unwrap();
            assert!(verify(&decoded, &parsed, SECRET, "cognito-sync", parse_amz_date(NOW).unwrap()).is_err());
        }

        #[test]
        fn sts_query_protocol_form_post() {
            // client("sts").get_caller_identity()
            let headers = [
                ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
                UA,
                ("X-Amz-Date", NOW),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=41e05dc368170a5d2abcf4d1438b9d84f0f54af8896c87b59c9bb744c26729aa",
                ),
                ("Content-Length", "43"),
                LOCAL,
            ];
            let body = b"Action=GetCallerIdentity&Version=2011-06-15";
            accept(&Request { method: "POST", path: "/", query: "", headers: &headers, body }, "sts");
        }

        #[test]
        fn sts_presigned_query() {
            // botocore.auth.SigV4QueryAuth(creds, "sts", "us-east-1", expires=900) on
            // GET http://127.0.0.1:9229/?Action=GetCallerIdentity&Version=2011-06-15
            let query = "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261122%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20261122T001500Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=fcd2b890f627aa5d7524016f3d742683b4f1893395e6a3b50b45d6229007cdde";
            let headers = [LOCAL];
            let req = Request { method: "GET", path: "/", query, headers: &headers, body: b"" };
            accept(&req, "sts");
            let parsed = parse(&req).unwrap();
            assert_eq!(parsed.presigned_expires, Some(900));
            let now = parse_amz_date(NOW).unwrap();
            assert!(verify(&req, &parsed, SECRET, "sts", now + 900).is_ok());
            assert!(verify(&req, &parsed, SECRET, "sts", now + 901).is_err());
        }
    }

    #[test]
    fn signing_suite_presigned_vector() {
        // aws-signing-test-suite v4/get-query-plus, query form (X-Amz-Expires=3600).
        let query = "c+d=&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=0eab864b028f58edbf5290cbe84acc5db34e5f92786a96fe01434e515f9342b8";
        let headers = [HOST];
        let req = Request { method: "GET", path: "/", query, headers: &headers, body: b"" };
        let parsed = parse(&req).unwrap();
        assert!(parsed.presigned);
        verify(&req, &parsed, SECRET, "service", suite_now()).unwrap();
        // Our presigner yields the same signature for the same request.
        let unsigned = Request { query: "c+d=", ..req };
        let ours = presign(&unsigned, AKID, SECRET, "us-east-1", "service", suite_now(), 3600);
        assert!(
            ours.ends_with("X-Amz-Signature=0eab864b028f58edbf5290cbe84acc5db34e5f92786a96fe01434e515f9342b8"),
            "{ours}"
        );
    }

    // --- behaviour around the vectors -----------------------------------------

    const NOW: i64 = 1_795_305_600; // 2026-11-22T00:00:00Z

    struct Signed {
        headers: Vec<(String, String)>,
    }

    impl Signed {
        fn new(extra: &[(&str, &str)], path: &str, query: &str, body: &[u8], service: &str, at: i64) -> Signed {
            let mut base = vec![("host", "127.0.0.1:9229"), ("Content-Type", "application/x-amz-json-1.1")];
            base.extend_from_slice(extra);
            let req = Request { method: "POST", path, query, headers: &base, body };
            let mut headers: Vec<(String, String)> = base.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
            headers.extend(sign(&req, AKID, SECRET, "us-east-1", service, at));
            Signed { headers }
        }

        fn pairs(&self) -> Vec<(&str, &str)> {
            self.headers.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
        }
    }

    fn check(
        headers: &[(&str, &str)],
        path: &str,
        query: &str,
        body: &[u8],
        service: &str,
        now: i64,
    ) -> Result<(), Error> {
        let req = Request { method: "POST", path, query, headers, body };
        let parsed = parse(&req)?;
        verify(&req, &parsed, SECRET, service, now)
    }

    const TARGET: (&str, &str) = ("X-Amz-Target", "AWSCognitoIdentityProviderService.ListUsers");
    const BODY: &[u8] = br#"{"UserPoolId":"us-east-1_x"}"#;

    #[test]
    fn round_trip_and_tampering() {
        let s = Signed::new(&[TARGET], "/", "", BODY, "cognito-idp", NOW);
        let h = s.pairs();
        check(&h, "/", "", BODY, "cognito-idp", NOW).unwrap();
        let mismatch = Err(Error::InvalidSignature(MISMATCH.to_string()));
        assert_eq!(check(&h, "/", "", br#"{"UserPoolId":"us-east-1_y"}"#, "cognito-idp", NOW), mismatch);
        assert_eq!(check(&h, "/other", "", BODY, "cognito-idp", NOW), mismatch);
        assert_eq!(check(&h, "/", "a=b", BODY, "cognito-idp", NOW), mismatch);
        let mut tampered = h.clone();
        for (n, v) in tampered.iter_mut() {
            if *n == "X-Amz-Target" {
                *v = "AWSCognitoIdentityProviderService.AdminDeleteUser";
            }
        }
        assert_eq!(check(&tampered, "/", "", BODY, "cognito-idp", NOW), mismatch);
        // An added second value of a signed header changes its canonical value.
        let mut doubled = h.clone();
        doubled.push(("x-amz-target", "x"));
        assert_eq!(check(&doubled, "/", "", BODY, "cognito-idp", NOW), mismatch);
        // Unsigned headers may change freely.
        let mut extra = h.clone();
        extra.push(("User-Agent", "anything"));
        check(&extra, "/", "", BODY, "cognito-idp", NOW).unwrap();
        // Wrong secret.
        let req = Request { method: "POST", path: "/", query: "", headers: &h, body: BODY };
        let parsed = parse(&req).unwrap();
        assert_eq!(verify(&req, &parsed, "not-the-secret", "cognito-idp", NOW), mismatch);
        assert_eq!(parsed.credential.access_key_id, AKID);
        assert_eq!(parsed.credential.region, "us-east-1");
    }

    #[test]
    fn header_names_and_spacing_are_tolerated() {
        // Same request, header names in other cases and values with spacing.
        let s = Signed::new(&[("X-Custom", "a  b")], "/p%3Aq/", "z=1&a=%20", b"", "cognito-identity", NOW);
        let h: Vec<(String, String)> = s
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_uppercase(), format!("  {}\t", v.replace("a  b", "a \t b"))))
            .collect();
        let h: Vec<(&str, &str)> = h.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        check(&h, "/p%3Aq/", "a=%20&z=1", b"", "cognito-identity", NOW).unwrap();
    }

    #[test]
    fn wrong_service_and_scope() {
        let s = Signed::new(&[TARGET], "/", "", BODY, "cognito-identity", NOW);
        let err = check(&s.pairs(), "/", "", BODY, "cognito-idp", NOW).unwrap_err();
        assert_eq!(err.aws_error_code(), "InvalidSignatureException");
        assert_eq!(err.message(), "Credential should be scoped to correct service: 'cognito-idp'. ");

        // Scope date different from X-Amz-Date.
        let h = [
            ("host", "h"),
            ("x-amz-date", "20261122T000000Z"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/cognito-idp/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
            ),
        ];
        let err = check(&h, "/", "", b"", "cognito-idp", NOW).unwrap_err();
        assert_eq!(
            err.message(),
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261121' != '20261122', from '20261122T000000Z'."
        );

        // 'host' not signed.
        let h = [
            ("host", "h"),
            ("x-amz-date", "20261122T000000Z"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/cognito-idp/aws4_request, SignedHeaders=x-amz-date, Signature=00",
            ),
        ];
        let err = check(&h, "/", "", b"", "cognito-idp", NOW).unwrap_err();
        assert_eq!(
            err,
            Error::InvalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into())
        );

        // Bad terminator.
        let h = [
            ("host", "h"),
            ("x-amz-date", "20261122T000000Z"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/cognito-idp/aws5_request, SignedHeaders=host, Signature=00",
            ),
        ];
        assert!(
            matches!(check(&h, "/", "", b"", "cognito-idp", NOW), Err(Error::InvalidSignature(m)) if m.contains("valid terminator"))
        );
    }

    #[test]
    fn clock_skew_both_ways() {
        let at = NOW + 15 * 60; // signed at 00:15:00
        let s = Signed::new(&[TARGET], "/", "", BODY, "cognito-idp", at);
        let h = s.pairs();
        check(&h, "/", "", BODY, "cognito-idp", at + 300).unwrap();
        check(&h, "/", "", BODY, "cognito-idp", at - 300).unwrap();
        // Server clock 00:20:01 -> signature older than 5 minutes.
        let err = check(&h, "/", "", BODY, "cognito-idp", at + 301).unwrap_err();
        assert_eq!(
            err.message(),
            "Signature expired: 20261122T001500Z is now earlier than 20261122T001501Z (20261122T002001Z - 5 min.)"
        );
        // Server clock 00:05:00 -> signature more than 5 minutes in the future.
        let err = check(&h, "/", "", BODY, "cognito-idp", NOW + 5 * 60).unwrap_err();
        assert_eq!(
            err.message(),
            "Signature not yet current: 20261122T001500Z is still later than 20261122T001000Z (20261122T000500Z + 5 min.)"
        );
        assert_eq!(err.aws_error_code(), "InvalidSignatureException");
    }

    #[test]
    fn brief_message_example() {
        // amz date 00:00:00, server 00:15:00.
        let s = Signed::new(&[], "/", "", b"", "cognito-idp", NOW);
        let err = check(&s.pairs(), "/", "", b"", "cognito-idp", NOW + 900).unwrap_err();
        assert_eq!(
            err.message(),
            "Signature expired: 20261122T000000Z is now earlier than 20261122T001000Z (20261122T001500Z - 5 min.)"
        );
    }

    #[test]
    fn presigned_round_trip_and_expiry() {
        let headers = [("Host", "127.0.0.1:9229")];
        let base = Request {
            method: "GET",
            path: "/identitypools/us-east-1%3Aabc",
            query: "Action=X&b=a%20b",
            headers: &headers,
            body: b"",
        };
        let query = presign(&base, AKID, SECRET, "us-east-1", "cognito-sync", NOW, 60);
        let req = Request { query: &query, ..base };
        let parsed = parse(&req).unwrap();
        assert_eq!(parsed.presigned_expires, Some(60));
        assert_eq!(parsed.signed_headers, vec!["host".to_string()]);
        verify(&req, &parsed, SECRET, "cognito-sync", NOW + 60).unwrap();
        let err = verify(&req, &parsed, SECRET, "cognito-sync", NOW + 61).unwrap_err();
        assert!(err.message().starts_with("Signature expired: 20261122T000000Z"), "{}", err.message());
        assert!(verify(&req, &parsed, SECRET, "cognito-sync", NOW - 301).is_err());
        // Tampering with a query parameter.
        let bad = query.replace("Action=X", "Action=Y");
        let bad_req = Request { query: &bad, ..base };
        assert!(verify(&bad_req, &parse(&bad_req).unwrap(), SECRET, "cognito-sync", NOW).is_err());
        // Expiry beyond a week.
        let long = presign(&base, AKID, SECRET, "us-east-1", "cognito-sync", NOW, MAX_PRESIGN_EXPIRES + 1);
        let long_req = Request { query: &long, ..base };
        let err = verify(&long_req, &parse(&long_req).unwrap(), SECRET, "cognito-sync", NOW).unwrap_err();
        assert!(err.message().contains("604800"));
        // Missing parts of the query form.
        let partial = Request { query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261122T000000Z", ..base };
        assert_eq!(
            parse(&partial).unwrap_err(),
            Error::Incomplete(
                "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include \
                 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. \
                 Re-examine the query-string parameters."
                    .into()
            )
        );
    }

    #[test]
    fn content_sha256_header() {
        let hash = hex::encode(Sha256::digest(BODY));
        let s = Signed::new(&[("x-amz-content-sha256", hash.as_str())], "/", "", BODY, "cognito-idp", NOW);
        check(&s.pairs(), "/", "", BODY, "cognito-idp", NOW).unwrap();
        // UNSIGNED-PAYLOAD would leave the body unauthenticated.
        let s = Signed::new(&[("x-amz-content-sha256", "UNSIGNED-PAYLOAD")], "/", "", BODY, "cognito-idp", NOW);
        let err = check(&s.pairs(), "/", "", BODY, "cognito-idp", NOW).unwrap_err();
        assert!(err.message().contains("x-amz-content-sha256"));
    }

    #[test]
    fn date_header_instead_of_x_amz_date() {
        // Signed by hand with a Date header (as the pre-2015 suite did).
        let headers = [("Host", "h"), ("Date", "Sun, 22 Nov 2026 00:00:00 GMT")];
        let req = Request { method: "GET", path: "/", query: "", headers: &headers, body: b"" };
        let signed: Vec<String> = vec!["date".into(), "host".into()];
        let cred = credential(AKID, "20261122T000000Z", "us-east-1", "cognito-idp");
        let canonical = canonical_request(&req, &signed, &payload_hash(&req, &signed), false);
        let sig = signature(SECRET, &cred, "20261122T000000Z", &canonical);
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/cognito-idp/aws4_request, SignedHeaders=date;host, Signature={sig}"
        );
        let with_auth = [headers[0], headers[1], ("Authorization", auth.as_str())];
        let req = Request { headers: &with_auth, ..req };
        let parsed = parse(&req).unwrap();
        assert_eq!(parsed.amz_date, "20261122T000000Z");
        verify(&req, &parsed, SECRET, "cognito-idp", NOW).unwrap();
    }

    #[test]
    fn missing_and_incomplete() {
        let none = Request { method: "GET", path: "/", query: "a=b", headers: &[("host", "h")], body: b"" };
        let err = parse(&none).unwrap_err();
        assert_eq!(err, Error::Missing);
        assert_eq!(err.aws_error_code(), "MissingAuthenticationTokenException");
        assert_eq!(err.message(), "Missing Authentication Token");

        let bearer = [("host", "h"), ("Authorization", "Bearer abc")];
        let err = parse(&Request { headers: &bearer, ..none }).unwrap_err();
        assert_eq!(err.aws_error_code(), "IncompleteSignatureException");
        assert_eq!(
            err.message(),
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. \
             Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either \
             a 'X-Amz-Date' or a 'Date' header. Authorization=Bearer abc"
        );

        let partial = [
            ("host", "h"),
            ("x-amz-date", "20261122T000000Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=A/20261122/us-east-1/s/aws4_request"),
        ];
        let err = parse(&Request { headers: &partial, ..none }).unwrap_err();
        assert_eq!(
            err.message(),
            "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. \
             Authorization=AWS4-HMAC-SHA256 Credential=A/20261122/us-east-1/s/aws4_request"
        );

        let short = [
            ("host", "h"),
            ("x-amz-date", "20261122T000000Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=A/20261122/us-east-1, SignedHeaders=host, Signature=00"),
        ];
        let err = parse(&Request { headers: &short, ..none }).unwrap_err();
        assert!(matches!(&err, Error::Incomplete(m) if m.contains("exactly 5 slash-delimited")), "{err}");

        let no_eq = [
            ("host", "h"),
            ("x-amz-date", "20261122T000000Z"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=A/b/c/d/aws4_request, junk, SignedHeaders=host, Signature=00",
            ),
        ];
        let err = parse(&Request { headers: &no_eq, ..none }).unwrap_err();
        assert!(matches!(&err, Error::Incomplete(m) if m.starts_with("Invalid key=value pair")), "{err}");

        let bad_date = [
            ("host", "h"),
            ("x-amz-date", "2026-11-22T00:00:00Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=A/b/c/d/aws4_request, SignedHeaders=host, Signature=00"),
        ];
        let err = parse(&Request { headers: &bad_date, ..none }).unwrap_err();
        assert_eq!(err.aws_error_code(), "InvalidSignatureException");

        assert_eq!(Error::UnknownKey.aws_error_code(), "UnrecognizedClientException");
        assert_eq!(Error::UnknownKey.message(), "The security token included in the request is invalid.");
    }

    #[test]
    fn dates() {
        assert_eq!(format_amz_date(0), "19700101T000000Z");
        assert_eq!(format_amz_date(1_440_938_160), SUITE_DATE);
        assert_eq!(parse_amz_date(SUITE_DATE), Some(1_440_938_160));
        assert_eq!(format_amz_date(NOW), "20261122T000000Z");
        assert_eq!(parse_amz_date("20000229T235959Z"), Some(951_868_799));
        assert_eq!(parse_amz_date("19000229T000000Z"), None);
        assert_eq!(parse_amz_date("20150830T246000Z"), None);
        assert_eq!(parse_amz_date("20150830T123600"), None);
        assert_eq!(parse_amz_date("2015083OT123600Z"), None);
        assert_eq!(parse_amz_date("+0150830T123600Z"), None);
        assert_eq!(parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"), Some(1_440_938_160));
        for t in (-100_000_000_000i64..100_000_000_000).step_by(7_777_777_777) {
            let s = format_amz_date(t);
            if (0..=9999).contains(&civil_from_days(t.div_euclid(86_400)).0) {
                assert_eq!(parse_amz_date(&s), Some(t), "{s}");
            }
        }
        for t in [i64::MIN, i64::MAX, -1] {
            let _ = format_amz_date(t);
        }
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn garbage_never_panics() {
        let odd = [
            "",
            " ",
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 ",
            "AWS4-HMAC-SHA256 ,,,",
            "AWS4-HMAC-SHA256 =",
            "AWS4-HMAC-SHA256 Credential=",
            "AWS4-HMAC-SHA256 Credential=////, SignedHeaders=, Signature=",
            "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=;;;, Signature=é",
            "AWS4-HMAC-SHA256 Credential=ሴ/ሴ/ሴ/ሴ/aws4_request, SignedHeaders=HOST, Signature=%%",
            "AWS4-HMAC-SHA256\tCredential=a/b/c/d/aws4_request,SignedHeaders=host,Signature=00",
            "\u{0}\u{1}\u{7f}",
            "Credential=a",
        ];
        let dates =
            ["", "20261122T000000Z", "99999999T999999Z", "ሴሴሴሴሴT", "2026112ሴ00000Z", "Mon, 99 Foo 2026 xx:yy:zz GMT"];
        let paths = ["", "/", "%", "/%zz/%/%4", "/../../..", "//./ሴ/%E1%88"];
        let queries = [
            "",
            "&",
            "=",
            "%",
            "&&=&=%&%g",
            "X-Amz-Algorithm",
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%2F%2F&X-Amz-Signature=&X-Amz-SignedHeaders=&X-Amz-Date=20261122T000000Z&X-Amz-Expires=-1",
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb%2Fc%2Fd%2Faws4_request&X-Amz-Signature=0&X-Amz-SignedHeaders=host&X-Amz-Date=20261122T000000Z&X-Amz-Expires=99999999999999999999999",
        ];
        let mut n = 0;
        for auth in odd {
            for date in dates {
                for path in paths {
                    for query in queries {
                        let with = [("host", "h"), ("x-amz-date", date), ("authorization", auth)];
                        let without = [("Host", "h"), ("Date", date)];
                        for headers in [&with[..], &without[..]] {
                            let req = Request { method: "GET", path, query, headers, body: b"\xff\x00" };
                            if let Ok(p) = parse(&req) {
                                for now in [i64::MIN, 0, NOW, i64::MAX] {
                                    let r = verify(&req, &p, "s", "d", now);
                                    assert!(r.is_err());
                                    n += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(n > 0);
        // Hand-built Parsed values with junk in every field.
        let junk = Parsed {
            credential: Credential {
                access_key_id: String::new(),
                date: "ሴ".into(),
                region: String::new(),
                service: "d".into(),
            },
            amz_date: "ሴሴሴሴሴ".into(),
            signed_headers: vec![],
            signature: String::new(),
            presigned_expires: Some(u64::MAX),
            presigned: true,
            session_token: None,
        };
        let req = Request { method: "", path: "", query: "", headers: &[], body: b"" };
        assert!(verify(&req, &junk, "", "d", 0).is_err());
        let junk2 = Parsed { credential: Credential { region: "r".into(), ..junk.credential.clone() }, ..junk.clone() };
        assert!(verify(&req, &junk2, "", "d", 0).is_err());
        let _ = sign(&req, "", "", "", "", i64::MIN);
        let _ = presign(&req, "", "", "", "", i64::MAX, u64::MAX);
    }
}
