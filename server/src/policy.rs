//! What the server accepts for upload: names, sizes and types, as configured.

use crate::config::Config;
use crate::error::ApiError;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Longest file name accepted, in characters (what common file systems allow).
pub const MAX_NAME_CHARS: usize = 255;

/// The type a file with no browser-reported type counts as.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Checks a file name: shown to people only, never used as a path.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::invalid("The file needs a name."));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid(format!(
            "File names may be at most {MAX_NAME_CHARS} characters long."
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "File names may not contain control characters.",
        ));
    }
    // Format characters (bidirectional overrides, zero-width spaces, tags...) are
    // invisible and make a name display as another: `invoice\u{202E}fdp.exe`. The
    // joiners (U+200C, U+200D) stay: emoji sequences and Persian or Indic names need them.
    if name.chars().any(|c| {
        c.general_category() == GeneralCategory::Format && !matches!(c, '\u{200C}' | '\u{200D}')
    }) {
        return Err(ApiError::invalid(
            "File names may not contain invisible formatting characters (such as \
             right-to-left overrides).",
        ));
    }
    Ok(())
}

/// Checks a size against `--max-file-size`.
pub fn check_size(size: u64, config: &Config) -> Result<(), ApiError> {
    if size > config.max_file_size {
        return Err(ApiError::FileTooLarge {
            size,
            limit: config.max_file_size,
        });
    }
    Ok(())
}

/// Longest media type accepted, in bytes, parameters included.
pub const MAX_TYPE_LEN: usize = 255;

/// The type as stored, from what the browser reported: `type/subtype` in lower case,
/// with a `charset` parameter kept (it changes how text is read) and any other parameter
/// dropped; `application/octet-stream` when the browser did not know. Anything that is
/// not a media type by RFC 6838's rules (names of letters, digits and `!#$&-^_.+`, at
/// most 127 each) is refused: the type goes into storage's headers and onto downloads.
pub fn normalise_type(reported: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::invalid(format!(
            "The file type `{}` is not a valid media type (like `image/png`).",
            reported
                .chars()
                .take(60)
                .filter(|c| !c.is_control())
                .collect::<String>()
        ))
    };
    if reported.len() > MAX_TYPE_LEN {
        return Err(ApiError::invalid(format!(
            "A file type may be at most {MAX_TYPE_LEN} characters long."
        )));
    }
    let reported_trimmed = reported.trim_matches([' ', '\t']);
    if reported_trimmed.is_empty() {
        return Ok(DEFAULT_CONTENT_TYPE.to_string());
    }
    let mut pieces = reported_trimmed.split(';');
    let essence = pieces.next().unwrap_or_default().trim_matches([' ', '\t']);
    let (kind, subtype) = essence.split_once('/').ok_or_else(bad)?;
    if !is_restricted_name(kind) || !is_restricted_name(subtype) {
        return Err(bad());
    }
    let mut out = format!("{kind}/{subtype}").to_ascii_lowercase();
    for parameter in pieces.map(|p| p.trim_matches([' ', '\t'])) {
        if parameter.is_empty() {
            continue; // `text/plain;`
        }
        let (name, value) = parameter.split_once('=').ok_or_else(bad)?;
        let unquoted = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
        let value_ok = match unquoted {
            // RFC 9110 quoted-string, without escapes: any printable character but `"`.
            Some(v) => v
                .chars()
                .all(|c| (c == ' ' || c.is_ascii_graphic()) && c != '"'),
            None => !value.is_empty() && value.chars().all(is_token_char),
        };
        if !is_restricted_name(name) || !value_ok {
            return Err(bad());
        }
        let value = unquoted.unwrap_or(value);
        if name.eq_ignore_ascii_case("charset") {
            if !is_restricted_name(value) {
                return Err(bad());
            }
            out.push_str("; charset=");
            out.push_str(&value.to_ascii_lowercase());
        }
    }
    Ok(out)
}

/// RFC 9110 section 5.6.2 `tchar`.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// RFC 6838 section 4.2: a letter or digit, then up to 126 of letters, digits and
/// `!#$&-^_.+`.
fn is_restricted_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.len() <= 127
        && chars.all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
}

/// Checks a (normalised) type against `--allowed-types`.
pub fn check_type(content_type: &str, config: &Config) -> Result<(), ApiError> {
    // Parameters (`; charset=...`) don't change what kind of file it is.
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if config
        .allowed_types
        .iter()
        .any(|p| type_matches(p.trim(), essence))
    {
        Ok(())
    } else {
        Err(ApiError::TypeNotAllowed {
            content_type: content_type.to_string(),
        })
    }
}

fn type_matches(pattern: &str, essence: &str) -> bool {
    if pattern == "*" || pattern == "*/*" {
        return true;
    }
    match pattern.strip_suffix("/*") {
        Some(family) => essence
            .split_once('/')
            .is_some_and(|(f, _)| f.eq_ignore_ascii_case(family)),
        None => pattern.eq_ignore_ascii_case(essence),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(types: &[&str]) -> Config {
        Config {
            allowed_types: types.iter().map(|t| t.to_string()).collect(),
            ..Config::default()
        }
    }

    #[test]
    fn patterns() {
        let c = config(&["image/*", "application/pdf"]);
        assert!(check_type("image/png", &c).is_ok());
        assert!(check_type("application/pdf", &c).is_ok());
        assert!(check_type("text/plain; charset=utf-8", &c).is_err());
        assert!(check_type(&normalise_type("").expect("empty is octet-stream"), &c).is_err());
        assert!(check_type("imagex/png", &c).is_err());
        assert!(check_type("text/plain", &config(&["*"])).is_ok());
    }

    #[test]
    fn names() {
        assert!(check_name("a.txt").is_ok());
        assert!(check_name("  ").is_err());
        assert!(check_name(&"é".repeat(255)).is_ok());
        assert!(check_name(&"é".repeat(256)).is_err());
        assert!(check_name("a\nb").is_err());
        assert!(
            check_name("invoice\u{202E}fdp.exe").is_err(),
            "right-to-left override"
        );
        assert!(check_name("a\u{200B}b").is_err(), "zero-width space");
        assert!(check_name("\u{FEFF}a").is_err(), "byte order mark");
        assert!(check_name("Übersicht 2024 — März.pdf").is_ok());
        assert!(
            check_name("مرحبا.txt").is_ok(),
            "right-to-left text itself is fine"
        );
        assert!(
            check_name("می\u{200C}خواهم.txt").is_ok(),
            "a zero-width non-joiner (Persian)"
        );
        assert!(
            check_name("👩\u{200D}💻.png").is_ok(),
            "a zero-width joiner (emoji)"
        );
    }

    #[test]
    fn media_types() {
        let ok = |t: &str| normalise_type(t).expect(t);
        assert_eq!(ok(""), "application/octet-stream");
        assert_eq!(ok("Image/PNG"), "image/png");
        assert_eq!(ok("text/plain; charset=UTF-8"), "text/plain; charset=utf-8");
        assert_eq!(
            ok("text/plain;charset=\"utf-8\""),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            ok("application/vnd.ms-excel; name=x"),
            "application/vnd.ms-excel"
        );
        assert_eq!(ok("text/plain;"), "text/plain");
        assert_eq!(ok("multipart/mixed; boundary=--x"), "multipart/mixed");
        assert_eq!(ok("application/pdf; name=\"a b.pdf\""), "application/pdf");
        assert_eq!(
            ok("application/x-www-form-urlencoded"),
            "application/x-www-form-urlencoded"
        );
        for bad in [
            "text/plain\r\nSet-Cookie: a=b",
            "image/png\r\nX-Injected: 1",
            "text",
            "/plain",
            "text/",
            "text/pl ain",
            "text/plain; charset",
            "text/plain; charset=\"a\u{7f}\"",
            "*/*",
            "image/*",
            "tëxt/plain",
        ] {
            assert!(normalise_type(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(normalise_type(&format!("application/{}", "x".repeat(127))).is_ok());
        assert!(normalise_type(&format!("application/{}", "x".repeat(128))).is_err());
        assert!(normalise_type(&"a".repeat(100_000)).is_err());
    }
}
