//! Client-side restrictions from the element's attributes (`accept`, `max-file-size`,
//! `max-files`, `max-total-size`): a refused file costs no byte and no API call.

use crate::core::plan::MIB;

const KIB: u64 = 1024;
const GIB: u64 = 1024 * MIB;

/// A size as an attribute spells it: bytes, or a number with a unit (`KB`/`MB`/`GB`/`TB`
/// are powers of 1000, `KiB`/`MiB`/`GiB`/`TiB` of 1024), space optional, case-insensitive.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => KIB,
        "mib" => MIB,
        "gib" => GIB,
        "tib" => GIB * 1024,
        _ => return None,
    };
    let bytes = number * factor as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes.round() as u64)
}

/// One entry of an `accept` list, as `<input type=file accept>` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Accept {
    /// `.pdf`: the name ends so (case-insensitive).
    Extension(String),
    /// `image/*`.
    TypeFamily(String),
    /// `application/pdf`.
    Type(String),
}

/// Why a file was refused before upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Neither its type nor its extension is in `accept`.
    TypeNotAccepted,
    /// Larger than `max-file-size` (the limit in bytes).
    TooLarge(u64),
    /// The element already holds `max-files` rows.
    TooManyFiles(u32),
    /// All files together would pass `max-total-size`.
    TotalTooLarge(u64),
}

impl Rejection {
    /// The `code` of the `partway-reject` event.
    pub fn code(self) -> &'static str {
        match self {
            Rejection::TypeNotAccepted => "type_not_allowed",
            Rejection::TooLarge(_) => "file_too_large",
            Rejection::TooManyFiles(_) => "too_many_files",
            Rejection::TotalTooLarge(_) => "total_too_large",
        }
    }
}

/// The restrictions of one element, read from its attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restrictions {
    accept: Vec<Accept>,
    /// Largest file, in bytes.
    pub max_file_size: Option<u64>,
    /// Largest sum of all files' sizes, in bytes.
    pub max_total_size: Option<u64>,
    /// Most rows at once.
    pub max_files: Option<u32>,
}

/// What the element already holds when a file comes in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Rows on the element.
    pub files: u32,
    /// Their sizes added up.
    pub bytes: u64,
}

impl Restrictions {
    /// Restrictions with the `accept` list of an `<input type=file>` (`image/*,.pdf`).
    pub fn with_accept(mut self, accept: &str) -> Self {
        self.accept = accept
            .split(',')
            .map(|a| a.trim().to_ascii_lowercase())
            .filter(|a| !a.is_empty())
            .map(|a| {
                if a.starts_with('.') {
                    Accept::Extension(a)
                } else if let Some(family) = a.strip_suffix("/*") {
                    Accept::TypeFamily(format!("{family}/"))
                } else {
                    Accept::Type(a)
                }
            })
            .collect();
        self
    }

    /// Checks one file against the restrictions, given what the element already holds.
    pub fn check(&self, name: &str, mime: &str, size: u64, held: Held) -> Result<(), Rejection> {
        if !self.accepts(name, mime) {
            return Err(Rejection::TypeNotAccepted);
        }
        if let Some(limit) = self.max_file_size.filter(|&l| size > l) {
            return Err(Rejection::TooLarge(limit));
        }
        if let Some(limit) = self.max_files.filter(|&l| held.files >= l) {
            return Err(Rejection::TooManyFiles(limit));
        }
        if let Some(limit) = self
            .max_total_size
            .filter(|&l| held.bytes.saturating_add(size) > l)
        {
            return Err(Rejection::TotalTooLarge(limit));
        }
        Ok(())
    }

    fn accepts(&self, name: &str, mime: &str) -> bool {
        if self.accept.is_empty() {
            return true;
        }
        let (name, mime) = (name.to_ascii_lowercase(), mime.to_ascii_lowercase());
        // Parameters (`text/plain; charset=utf-8`) do not change the type.
        let mime = mime.split(';').next().unwrap_or("").trim();
        self.accept.iter().any(|a| match a {
            Accept::Extension(ext) => name.ends_with(ext.as_str()),
            Accept::TypeFamily(family) => mime.starts_with(family.as_str()),
            Accept::Type(t) => mime == t,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(parse_size("1234"), Some(1234));
        assert_eq!(parse_size("500 MiB"), Some(500 * MIB));
        assert_eq!(parse_size("2GiB"), Some(2 * GIB));
        assert_eq!(parse_size("2 gb"), Some(2_000_000_000));
        assert_eq!(parse_size("1.5 KB"), Some(1500));
        assert_eq!(parse_size(" 10 kib "), Some(10 * KIB));
        assert_eq!(parse_size("0"), Some(0));
        for bad in ["", "MiB", "-3", "2 GiBs", "1e9", "ten", "1..2 MB"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn accept_matches_extensions_families_and_types() {
        let r = Restrictions::default().with_accept("image/*, .PDF,text/csv");
        assert!(r.check("a.png", "image/png", 1, Held::default()).is_ok());
        assert!(r.check("Report.pdf", "", 1, Held::default()).is_ok());
        assert!(r
            .check("x.csv", "text/csv; charset=utf-8", 1, Held::default())
            .is_ok());
        assert_eq!(
            r.check("x.exe", "application/x-msdownload", 1, Held::default()),
            Err(Rejection::TypeNotAccepted)
        );
        assert!(Restrictions::default()
            .with_accept(" , ")
            .check("any", "", 1, Held::default())
            .is_ok());
    }

    #[test]
    fn limits_refuse_in_a_stable_order() {
        let r = Restrictions {
            max_file_size: Some(100),
            max_total_size: Some(250),
            max_files: Some(3),
            ..Restrictions::default()
        };
        let held = Held {
            files: 2,
            bytes: 200,
        };
        assert_eq!(r.check("a", "", 101, held), Err(Rejection::TooLarge(100)));
        assert_eq!(
            r.check("a", "", 60, held),
            Err(Rejection::TotalTooLarge(250))
        );
        assert!(r.check("a", "", 50, held).is_ok());
        let full = Held { files: 3, bytes: 0 };
        assert_eq!(r.check("a", "", 1, full), Err(Rejection::TooManyFiles(3)));
        assert_eq!(Rejection::TooManyFiles(3).code(), "too_many_files");
    }

    proptest! {
        #[test]
        fn a_size_written_in_bytes_reads_back(n in 0u64..(1u64 << 52)) {
            prop_assert_eq!(parse_size(&n.to_string()), Some(n));
            prop_assert_eq!(parse_size(&format!("{n} B")), Some(n));
        }

        #[test]
        fn a_file_within_every_limit_is_accepted(size in 0u64..1000, files in 0u32..10, bytes in 0u64..1000) {
            let r = Restrictions {
                max_file_size: Some(1000),
                max_total_size: Some(2000),
                max_files: Some(10),
                ..Restrictions::default()
            };
            let held = Held { files, bytes };
            prop_assert!(r.check("f", "", size, held).is_ok());
        }
    }
}
