//! What the server accepts for upload: names, sizes and types, as configured.

use crate::config::Config;
use crate::error::ApiError;

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

/// The type as stored: lower-case, and `application/octet-stream` when the browser
/// did not know.
pub fn normalise_type(content_type: &str) -> String {
    let t = content_type.trim();
    if t.is_empty() {
        DEFAULT_CONTENT_TYPE.to_string()
    } else {
        t.to_ascii_lowercase()
    }
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
        assert!(check_type(&normalise_type(""), &c).is_err());
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
    }
}
