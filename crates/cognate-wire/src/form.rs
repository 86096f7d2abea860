//! `application/x-www-form-urlencoded`: the query protocol's bodies, and the
//! query strings and forms of the hosted OAuth endpoints and pages.

/// `a=1&b=x%20y` as (name, value) pairs, in order. `+` is a space; a `%`
/// not followed by two hex digits stays as it is; bytes that are not UTF-8
/// become U+FFFD.
pub fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    raw.split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut kv = pair.splitn(2, |b| *b == b'=');
            let k = decode(kv.next().unwrap_or_default());
            let v = decode(kv.next().unwrap_or_default());
            (k, v)
        })
        .collect()
}

/// One name or value, percent- and plus-decoded.
pub fn decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(byte) = hex {
                    out.push(byte);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One name or value encoded: unreserved characters as they are, a space
/// as `+`, every other byte as `%XX`.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
    out
}

/// Pairs encoded as a query string or form body.
pub fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&encode(k));
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let got = pairs(b"a=1&b=x%20y+z&&c&d=%zz&e=%C3%A9");
        let want = [("a", "1"), ("b", "x y z"), ("c", ""), ("d", "%zz"), ("e", "é")];
        assert_eq!(got, want.map(|(k, v)| (k.to_string(), v.to_string())));
        let text = "a b&c=d/é~";
        assert_eq!(encode(text), "a+b%26c%3Dd%2F%C3%A9~");
        assert_eq!(decode(encode(text).as_bytes()), text);
        assert_eq!(encode_pairs([("x", "1"), ("y", "a b")]), "x=1&y=a+b");
    }
}
