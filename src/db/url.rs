//! What the job reads from a database URL before tokio-postgres does: its `sslmode`, which
//! tokio-postgres would let fall back to plaintext by default and does not know in its libpq
//! spellings `verify-ca` and `verify-full`, and a description of the server for messages.

use std::borrow::Cow;
use std::ops::Range;

use tokio_postgres::config::Host;

use super::{SslMode, UrlSource};

/// The strictest `sslmode` the URL names (`None` when it names none), and the URL with every
/// `sslmode` value replaced by one tokio-postgres accepts: the caller sets the mode itself.
/// A URL whose parameters do not parse is returned as it is, for tokio-postgres to report.
pub(super) fn take_sslmode(url: &str) -> Result<(Option<SslMode>, Cow<'_, str>), String> {
    let Some(values) = sslmode_values(url) else {
        return Ok((None, Cow::Borrowed(url)));
    };
    let mut mode = None;
    let mut rewritten = String::with_capacity(url.len());
    let mut copied = 0;
    for (value, range) in values {
        mode = mode.max(Some(parse_mode(&value)?));
        rewritten.push_str(&url[copied..range.start]);
        rewritten.push_str("disable");
        copied = range.end;
    }
    if mode.is_none() {
        return Ok((None, Cow::Borrowed(url)));
    }
    rewritten.push_str(&url[copied..]);
    Ok((mode, Cow::Owned(rewritten)))
}

/// libpq's spellings. This client always verifies the certificate chain and the host name
/// once TLS is on, so `verify-ca` is as strict as `verify-full`; `allow` (plaintext first) is
/// taken as the nearest stricter mode, `prefer`.
fn parse_mode(value: &str) -> Result<SslMode, String> {
    match value {
        "disable" => Ok(SslMode::Disable),
        "allow" | "prefer" => Ok(SslMode::Prefer),
        "require" => Ok(SslMode::Require),
        "verify-ca" | "verify-full" => Ok(SslMode::VerifyFull),
        _ => Err(
            "unknown sslmode in the database URL (expected disable, allow, prefer, \
                  require, verify-ca or verify-full)"
                .into(),
        ),
    }
}

/// Each `sslmode` value with its byte range in `url`, in either URL form, following the
/// grammar tokio-postgres parses; `None` when that grammar does not match.
fn sslmode_values(url: &str) -> Option<Vec<(String, Range<usize>)>> {
    let params = match ["postgresql://", "postgres://"]
        .iter()
        .find_map(|prefix| url.strip_prefix(prefix))
    {
        Some(rest) => query_params(url, rest),
        None => keyword_params(url)?,
    };
    Some(
        params
            .into_iter()
            .filter(|(key, _, _)| key == "sslmode")
            .map(|(_, value, range)| (value, range))
            .collect(),
    )
}

/// `key=value` pairs after the `?` of a `postgresql://` URL, separated by `&`.
fn query_params(url: &str, rest: &str) -> Vec<(String, String, Range<usize>)> {
    let Some(query_at) = rest.find('?') else {
        return Vec::new();
    };
    let mut at = url.len() - rest.len() + query_at + 1;
    let mut params = Vec::new();
    for pair in url[at..].split('&') {
        if let Some((key, value)) = pair.split_once('=') {
            let start = at + key.len() + 1;
            params.push((
                key.to_string(),
                value.to_string(),
                start..start + value.len(),
            ));
        }
        at += pair.len() + 1;
    }
    params
}

/// `key = value` pairs of the keyword form, where a value is bare (backslash escapes) or
/// single-quoted.
fn keyword_params(url: &str) -> Option<Vec<(String, String, Range<usize>)>> {
    let bytes = url.as_bytes();
    let mut i = 0;
    let mut params = Vec::new();
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    loop {
        i = skip_ws(i);
        if i == bytes.len() {
            return Some(params);
        }
        let key_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'=' {
            i += 1;
        }
        let key = &url[key_start..i];
        i = skip_ws(i);
        if bytes.get(i) != Some(&b'=') {
            return None;
        }
        i = skip_ws(i + 1);
        let value_start = i;
        let quoted = bytes.get(i) == Some(&b'\'');
        if quoted {
            i += 1;
        }
        let mut value = Vec::new();
        loop {
            match bytes.get(i) {
                None if quoted => return None,
                None => break,
                Some(b'\'') if quoted => {
                    i += 1;
                    break;
                }
                Some(c) if !quoted && c.is_ascii_whitespace() => break,
                Some(b'\\') => {
                    value.extend(bytes.get(i + 1));
                    i += 2;
                }
                Some(&c) => {
                    value.push(c);
                    i += 1;
                }
            }
        }
        let value = String::from_utf8(value).ok()?;
        params.push((key.to_string(), value, value_start..i.min(bytes.len())));
    }
}

/// The servers a URL points at, each with its port (or socket path), and where the URL came
/// from: `127.0.0.1:5432 (URL from CERTANON_DATABASE_URL)`. Never the user or the password.
pub(super) fn describe_target(config: &tokio_postgres::Config, source: &UrlSource) -> String {
    let ports = config.get_ports();
    let port = |i: usize| match ports {
        [] => 5432,
        [one] => *one,
        many => many.get(i).copied().unwrap_or(5432),
    };
    let hostaddrs = config.get_hostaddrs();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| match (host, hostaddrs.get(i)) {
            (Host::Tcp(name), Some(addr)) => format!("{name} ({addr}) port {}", port(i)),
            (Host::Tcp(name), None) if name.contains(':') => format!("[{name}]:{}", port(i)),
            (Host::Tcp(name), None) => format!("{name}:{}", port(i)),
            (Host::Unix(dir), _) => {
                format!(
                    "socket {}",
                    dir.join(format!(".s.PGSQL.{}", port(i))).display()
                )
            }
        })
        .collect();
    if hosts.is_empty() {
        format!("no host in the database URL ({source})")
    } else {
        format!("{} ({source})", hosts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_and_url(url: &str) -> (Option<SslMode>, String) {
        let (mode, url) = take_sslmode(url).expect("a known sslmode");
        (mode, url.into_owned())
    }

    #[test]
    fn the_strictest_sslmode_of_either_url_form_is_taken_and_replaced() {
        let cases = [
            (
                "postgresql://u:p@db.example.jp/ca?sslmode=require",
                SslMode::Require,
                "postgresql://u:p@db.example.jp/ca?sslmode=disable",
            ),
            (
                "postgres://db/ca?application_name=x&sslmode=verify-full&a=b",
                SslMode::VerifyFull,
                "postgres://db/ca?application_name=x&sslmode=disable&a=b",
            ),
            (
                "host=db sslmode = 'verify-ca' password='a b\\' c' dbname=ca",
                SslMode::VerifyFull,
                "host=db sslmode = disable password='a b\\' c' dbname=ca",
            ),
            (
                "host=db sslmode=require sslmode=prefer",
                SslMode::Require,
                "host=db sslmode=disable sslmode=disable",
            ),
        ];
        for (url, mode, rewritten) in cases {
            assert_eq!(
                mode_and_url(url),
                (Some(mode), rewritten.to_string()),
                "{url}"
            );
        }
        assert_eq!(
            mode_and_url("host=db password=sslmode=disable").0,
            None,
            "a value that looks like a parameter is not one"
        );
        assert_eq!(mode_and_url("host=db dbname=ca").0, None);
        assert_eq!(mode_and_url("postgresql://db/ca").0, None);
        assert!(take_sslmode("host=db sslmode=sometimes").is_err());
    }

    #[test]
    fn a_target_names_host_port_and_source_but_no_secret() {
        let describe = |url: &str, source: &UrlSource| {
            describe_target(&url.parse().expect("a valid URL"), source)
        };
        assert_eq!(
            describe(
                "postgresql://certanon:s3cret@127.0.0.1:1/ca",
                &UrlSource::Env
            ),
            "127.0.0.1:1 (URL from CERTANON_DATABASE_URL)"
        );
        assert_eq!(
            describe(
                "host=/run/postgresql port=5433 password=s3cret",
                &UrlSource::Flag
            ),
            "socket /run/postgresql/.s.PGSQL.5433 (URL from --database-url)"
        );
        assert_eq!(
            describe(
                "host=a.example.jp,b.example.jp port=5432,5433",
                &UrlSource::File("/etc/certanon/database-url".into())
            ),
            "a.example.jp:5432, b.example.jp:5433 (URL from database.url_file \
             /etc/certanon/database-url)"
        );
    }
}
