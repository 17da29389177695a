//! Whether a file's content is what was declared: its real type from its first bytes
//! (magic numbers, by the `infer` crate), judged against the declared type and the
//! types the server accepts. Pure: the job reads the bytes, this decides.

/// How many first bytes sniffing reads: enough for every signature `infer` knows.
pub const HEAD_LEN: u64 = 8192;

/// What the first bytes say of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its content fits the declared type (`detected`: what it showed, if anything).
    Fits { detected: Option<String> },
    /// It does not, for the reason given: quarantine it.
    Misfit {
        /// What it showed, if anything.
        detected: Option<String>,
        /// Why, for the file's record and the operator.
        why: String,
    },
}

/// Judges `head` (a file's first bytes) against its `declared` type; `allowed` says
/// whether the server accepts a type (its `--allowed-types`).
///
/// A file is a misfit when its bytes show a type of another kind (top-level type) than
/// declared (a program declared as an image), a type the server does not accept, or
/// when it was declared as a type with a known signature and its bytes lack it (a PDF
/// that does not start `%PDF`). Within one kind a mislabel passes (a JPEG named `.png`
/// is still an image), and types without signatures (text, JSON, CSV) pass unseen.
pub fn judge(declared: &str, head: &[u8], allowed: impl Fn(&str) -> bool) -> Verdict {
    let declared = canonical(declared);
    // "Some bytes": a declaration that promises no format (infer lists it as supported).
    let generic = declared.is_empty() || declared == "application/octet-stream";
    let detected = infer::get(head).map(|t| canonical(t.mime_type()).to_string());
    let Some(found) = detected.clone() else {
        if !generic
            && infer::is_mime_supported(declared)
            && !unreliable(declared)
            && !head.is_empty()
        {
            return Verdict::Misfit {
                detected,
                why: format!("declared as {declared}, but its first bytes are not a {declared}'s"),
            };
        }
        return Verdict::Fits { detected };
    };
    if !allowed(&found) {
        return Verdict::Misfit {
            why: format!("its content is {found}, a type this server does not accept"),
            detected,
        };
    }
    if generic || declared == found || same_kind(declared, &found) || zipped(declared, &found) {
        return Verdict::Fits { detected };
    }
    Verdict::Misfit {
        why: format!("declared as {declared}, but its content is {found}"),
        detected,
    }
}

/// Types browsers give files that need not have their signature: Windows labels a
/// `.csv` `application/vnd.ms-excel`, and old Office formats share one container.
fn unreliable(declared: &str) -> bool {
    matches!(
        declared,
        "application/vnd.ms-excel" | "application/msword" | "application/vnd.ms-powerpoint"
    )
}

/// One spelling per type: browsers and systems name some types several ways.
fn canonical(mime: &str) -> &str {
    let mime = mime.split(';').next().unwrap_or_default().trim();
    match mime {
        "image/jpg" | "image/pjpeg" => "image/jpeg",
        "audio/mp3" => "audio/mpeg",
        "application/x-zip-compressed" | "application/x-zip" => "application/zip",
        "application/x-pdf" => "application/pdf",
        other => other,
    }
}

/// Both of one kind (`image/…`, `audio/…`, `video/…`), where a mislabel is harmless.
fn same_kind(a: &str, b: &str) -> bool {
    let kind = |m: &str| m.split('/').next().unwrap_or_default().to_string();
    matches!(kind(a).as_str(), "image" | "audio" | "video") && kind(a) == kind(b)
}

/// Office documents, EPUBs, JARs and APKs are ZIP archives, and may sniff as one.
fn zipped(declared: &str, found: &str) -> bool {
    found == "application/zip"
        && (declared.starts_with("application/vnd.openxmlformats-officedocument.")
            || declared.starts_with("application/vnd.oasis.opendocument.")
            || matches!(
                declared,
                "application/epub+zip"
                    | "application/java-archive"
                    | "application/vnd.android.package-archive"
            ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0";
    const PDF: &[u8] = b"%PDF-1.7\n";
    const ZIP: &[u8] = b"PK\x03\x04\x14\0\0\0\x08\0";

    fn any(_: &str) -> bool {
        true
    }

    #[test]
    fn content_of_the_declared_kind_fits() {
        assert_eq!(
            judge("image/png", PNG, any),
            Verdict::Fits {
                detected: Some("image/png".into())
            }
        );
        // A JPEG-ish mislabel within images, a generic declaration, an alias.
        assert!(matches!(
            judge("image/jpeg", PNG, any),
            Verdict::Fits { .. }
        ));
        assert!(matches!(
            judge("application/octet-stream", PDF, any),
            Verdict::Fits { .. }
        ));
        assert!(matches!(
            judge("application/x-pdf", PDF, any),
            Verdict::Fits { .. }
        ));
        let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        assert!(matches!(judge(docx, ZIP, any), Verdict::Fits { .. }));
        // Types without a signature pass unseen.
        assert_eq!(
            judge("text/csv", b"a,b\n1,2\n", any),
            Verdict::Fits { detected: None }
        );
        assert!(matches!(judge("image/png", b"", any), Verdict::Fits { .. }));
        // Bytes of no known format, declared as just bytes.
        assert_eq!(
            judge(
                "application/octet-stream",
                b"\x01\x02\x03 no signature",
                any
            ),
            Verdict::Fits { detected: None }
        );
        assert!(matches!(judge("", b"\x01\x02", any), Verdict::Fits { .. }));
        // Windows calls a CSV an Excel file.
        assert!(matches!(
            judge("application/vnd.ms-excel", b"a,b\n1,2\n", any),
            Verdict::Fits { .. }
        ));
    }

    #[test]
    fn content_of_another_kind_or_refused_type_or_missing_signature_is_a_misfit() {
        let Verdict::Misfit { detected, why } = judge("image/png", EXE, any) else {
            panic!("a program declared as an image passed");
        };
        assert_eq!(
            detected.as_deref(),
            Some("application/vnd.microsoft.portable-executable")
        );
        assert!(why.contains("declared as image/png"), "{why}");
        let images_only = |t: &str| t.starts_with("image/");
        assert!(matches!(
            judge("application/octet-stream", PDF, images_only),
            Verdict::Misfit { .. }
        ));
        assert!(matches!(
            judge("application/pdf", b"hello, not a pdf", any),
            Verdict::Misfit { detected: None, .. }
        ));
    }
}
