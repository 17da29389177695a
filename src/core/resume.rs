//! The resume record: what the browser keeps of an unfinished upload so that a reload,
//! a closed tab or a lost network costs at most the parts that were in flight.
//!
//! Records live in IndexedDB as JSON text. Anything can be found there (another
//! version's record, a half-written one, garbage), so reading one is a validation that
//! ends in a record or in a reason to drop it, never in a crash.

use crate::core::checksum::Checksum;
use crate::core::ids::{ETag, PartNumber, UploadId};
use crate::core::part_sum::PartSum;
use crate::core::plan::Plan;
use crate::core::wire::{CompletedPart, StoredPart};
use serde::{Deserialize, Serialize};

/// The record layout this code writes and reads. Bump it when the layout changes:
/// records of other versions are dropped, not misread.
pub const SCHEMA_VERSION: u32 = 1;

/// How much of the file's start and end is hashed into its fingerprint: enough to tell
/// apart two files with the same name, size and date, cheap enough to do on every pick.
pub const FINGERPRINT_EDGE: u64 = 64 * 1024;

/// What identifies "the same file" when the person picks it again after a reload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type as the browser reported it.
    pub content_type: String,
    /// `File.lastModified`, milliseconds since the Unix epoch.
    pub last_modified: u64,
    /// SHA-256 of the first [`FINGERPRINT_EDGE`] bytes.
    pub head_sha256: Checksum,
    /// SHA-256 of the last [`FINGERPRINT_EDGE`] bytes.
    pub tail_sha256: Checksum,
}

impl Fingerprint {
    /// The IndexedDB key of the record for this file at this endpoint.
    pub fn key(&self, endpoint: &str) -> String {
        format!(
            "{endpoint}|{}|{}|{}|{}|{}",
            self.name,
            self.size,
            self.last_modified,
            self.head_sha256.to_base64(),
            self.tail_sha256.to_base64()
        )
    }
}

/// A part storage confirmed, as remembered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedPart {
    /// Which part.
    pub part_number: PartNumber,
    /// The ETag storage answered.
    pub etag: ETag,
    /// The part's checksum, in the upload's mode: a `sha256` or `crc64nvme` field.
    #[serde(flatten)]
    pub sum: PartSum,
}

/// One unfinished upload, as kept in IndexedDB.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeRecord {
    /// Layout version; see [`SCHEMA_VERSION`].
    pub schema: u32,
    /// The file.
    pub fingerprint: Fingerprint,
    /// The API the upload belongs to.
    pub endpoint: String,
    /// The server's upload id.
    pub upload_id: UploadId,
    /// Part size.
    pub part_size: u64,
    /// Number of parts.
    pub part_count: u32,
    /// Parts storage confirmed, in the order they finished.
    pub parts: Vec<RecordedPart>,
    /// When the upload was created, milliseconds since the Unix epoch.
    pub created_at: u64,
    /// After this (milliseconds since the Unix epoch) the server may have swept the upload.
    pub expires_at: u64,
}

/// The parts storage lists that a resumed upload keeps; every other part is sent again.
/// A part is kept only if it is one of the plan's, of its planned size, and this browser
/// recorded it with the same ETag and, where storage lists one, the same checksum. A part
/// storage holds but the record lacks (in flight when the page went away) is sent again:
/// nothing vouches that those bytes are this file's.
pub fn keepable_parts(
    plan: &Plan,
    recorded: &[RecordedPart],
    listed: Vec<StoredPart>,
) -> Vec<CompletedPart> {
    listed
        .into_iter()
        .filter(|p| {
            let in_plan = (1..=plan.part_count).contains(&p.part_number.0)
                && p.size == plan.range(p.part_number).len();
            in_plan
                && recorded.iter().any(|r| {
                    r.part_number == p.part_number
                        // Quoted or not, as storages and proxies differ.
                        && r.etag.0.trim_matches('"') == p.etag.0.trim_matches('"')
                        && p.sum(r.sum.mode()).is_none_or(|listed| listed == r.sum)
                })
        })
        .map(|p| CompletedPart {
            part_number: p.part_number,
            etag: p.etag,
        })
        .collect()
}

/// The parts to name when asking the server again for an upload it is joining or has
/// joined: the server answers from its own record of the parts then, so a part this
/// browser did not get to record (its answer came as the page went away) is named with
/// an empty ETag rather than sent again.
pub fn parts_for_finishing(plan: &Plan, recorded: &[RecordedPart]) -> Vec<CompletedPart> {
    (1..=plan.part_count)
        .map(|n| {
            let part_number = PartNumber(n);
            let etag = recorded
                .iter()
                .find(|r| r.part_number == part_number)
                .map(|r| r.etag.clone())
                .unwrap_or_else(|| ETag(String::new()));
            CompletedPart { part_number, etag }
        })
        .collect()
}

/// Why a stored record was dropped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Not a record at all: unreadable JSON or missing fields.
    #[error("a saved upload could not be read and was discarded ({0})")]
    Corrupt(String),
    /// Written by another version of the widget.
    #[error("a saved upload from another version (schema {0}) was discarded")]
    OtherSchema(u32),
    /// Older than the upload's expiry.
    #[error("a saved upload had expired and was discarded")]
    Expired,
    /// Its numbers do not describe a valid plan for its file.
    #[error("a saved upload was inconsistent and was discarded")]
    Inconsistent,
}

impl ResumeRecord {
    /// A record for a freshly created upload with no part stored yet.
    pub fn new(
        fingerprint: Fingerprint,
        endpoint: String,
        upload_id: UploadId,
        plan: &Plan,
        now_ms: u64,
        lifetime_ms: u64,
    ) -> Self {
        ResumeRecord {
            schema: SCHEMA_VERSION,
            fingerprint,
            endpoint,
            upload_id,
            part_size: plan.part_size,
            part_count: plan.part_count,
            parts: Vec::new(),
            created_at: now_ms,
            expires_at: now_ms.saturating_add(lifetime_ms),
        }
    }

    /// Notes a stored part (a repeat of the same part replaces the old entry).
    pub fn record_part(&mut self, part: RecordedPart) {
        self.parts.retain(|p| p.part_number != part.part_number);
        self.parts.push(part);
    }

    /// The JSON text kept in IndexedDB.
    pub fn to_json(&self) -> String {
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads and checks a stored record at `now_ms` (milliseconds since the Unix epoch).
    /// The browser reads records with its own JSON parser and calls the two checks.
    pub fn parse(json: &str, now_ms: u64) -> Result<ResumeRecord, RecordError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| RecordError::Corrupt(e.to_string()))?;
        ResumeRecord::check_schema(value.get("schema").and_then(|s| s.as_f64()))?;
        let record: ResumeRecord =
            serde_json::from_value(value).map_err(|e| RecordError::Corrupt(e.to_string()))?;
        record.checked(now_ms)
    }

    /// Refuses a record written by another version of the widget (its `schema` field).
    pub fn check_schema(schema: Option<f64>) -> Result<(), RecordError> {
        match schema {
            Some(v) if v == f64::from(SCHEMA_VERSION) => Ok(()),
            Some(v) if v >= 0.0 && v <= f64::from(u32::MAX) && v.fract() == 0.0 => {
                Err(RecordError::OtherSchema(v as u32))
            }
            _ => Err(RecordError::Corrupt("no schema version".into())),
        }
    }

    /// The record, if it has not expired at `now_ms` and agrees with its own plan.
    pub fn checked(self, now_ms: u64) -> Result<ResumeRecord, RecordError> {
        let record = self;
        if now_ms >= record.expires_at {
            return Err(RecordError::Expired);
        }
        let plan = Plan::with_part_size(record.fingerprint.size, record.part_size)
            .map_err(|_| RecordError::Inconsistent)?;
        let parts_fit = record
            .parts
            .iter()
            .all(|p| p.part_number.0 >= 1 && p.part_number.0 <= plan.part_count);
        if plan.part_count != record.part_count || !parts_fit {
            return Err(RecordError::Inconsistent);
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::MIB;

    #[test]
    fn resuming_keeps_only_parts_recorded_with_the_same_etag_and_checksum() {
        // 20 MiB in 8 MiB parts: 8, 8 and 4 MiB.
        let plan = Plan::with_part_size(20 * MIB, 8 * MIB).unwrap();
        let recorded: Vec<_> = (1..=3)
            .map(|n| RecordedPart {
                part_number: PartNumber(n),
                etag: ETag(format!("\"e{n}\"")),
                sum: PartSum::Sha256(Checksum::of(&[n as u8])),
            })
            .collect();
        let listed = |n: u32, etag: &str, size: u64, sha: Option<u8>| StoredPart {
            part_number: PartNumber(n),
            etag: ETag(etag.into()),
            size,
            sha256: sha.map(|b| Checksum::of(&[b])),
            crc64nvme: None,
        };
        let kept = |parts: Vec<StoredPart>, recorded: &[RecordedPart]| -> Vec<u32> {
            keepable_parts(&plan, recorded, parts)
                .iter()
                .map(|p| p.part_number.0)
                .collect()
        };
        let all = || {
            vec![
                listed(1, "\"e1\"", 8 * MIB, Some(1)),
                listed(2, "e2", 8 * MIB, None),
                listed(3, "\"e3\"", 4 * MIB, Some(3)),
            ]
        };
        assert_eq!(kept(all(), &recorded), [1, 2, 3], "quotes aside, all match");
        assert_eq!(
            kept(all(), &recorded[..1]),
            [1],
            "unrecorded parts go again"
        );
        assert_eq!(
            kept(vec![listed(1, "\"e1\"", 8 * MIB, Some(9))], &recorded),
            [] as [u32; 0],
            "checksum differs"
        );
        assert_eq!(
            kept(vec![listed(1, "\"x\"", 8 * MIB, Some(1))], &recorded),
            [] as [u32; 0],
            "ETag differs"
        );
        assert_eq!(
            kept(vec![listed(3, "\"e3\"", 8 * MIB, Some(3))], &recorded),
            [] as [u32; 0],
            "wrong size"
        );
        assert_eq!(
            kept(vec![listed(4, "\"e4\"", MIB, None)], &recorded),
            [] as [u32; 0],
            "not in the plan"
        );
        assert_eq!(
            kept(vec![listed(0, "\"e1\"", 8 * MIB, None)], &recorded),
            [] as [u32; 0],
            "part 0"
        );
    }

    #[test]
    fn finishing_names_every_part_recorded_or_not() {
        let plan = Plan::with_part_size(20 * MIB, 8 * MIB).unwrap();
        let parts = parts_for_finishing(&plan, &record().parts);
        let named: Vec<(u32, &str)> = parts
            .iter()
            .map(|p| (p.part_number.0, p.etag.0.as_str()))
            .collect();
        assert_eq!(named, [(1, ""), (2, "\"b\""), (3, "")]);
    }

    fn record() -> ResumeRecord {
        let fingerprint = Fingerprint {
            name: "film.mov".into(),
            size: 20 * MIB,
            content_type: "video/quicktime".into(),
            last_modified: 1_700_000_000_000,
            head_sha256: Checksum::of(b"head"),
            tail_sha256: Checksum::of(b"tail"),
        };
        let plan = Plan::with_part_size(20 * MIB, 8 * MIB).unwrap();
        let mut r = ResumeRecord::new(
            fingerprint,
            "http://api".into(),
            UploadId("u1".into()),
            &plan,
            1000,
            60_000,
        );
        r.record_part(RecordedPart {
            part_number: PartNumber(2),
            etag: ETag("\"b\"".into()),
            sum: PartSum::Sha256(Checksum::of(b"2")),
        });
        r
    }

    #[test]
    fn crc_parts_are_kept_only_when_storage_lists_the_same_crc() {
        use crate::core::crc64::Crc64;
        let plan = Plan::with_part_size(20 * MIB, 8 * MIB).unwrap();
        let recorded = [RecordedPart {
            part_number: PartNumber(1),
            etag: ETag("e1".into()),
            sum: PartSum::Crc64nvme(Crc64(7)),
        }];
        let listed = |crc: u64| StoredPart {
            part_number: PartNumber(1),
            etag: ETag("e1".into()),
            size: 8 * MIB,
            sha256: None,
            crc64nvme: Some(Crc64(crc)),
        };
        assert_eq!(keepable_parts(&plan, &recorded, vec![listed(7)]).len(), 1);
        assert!(keepable_parts(&plan, &recorded, vec![listed(8)]).is_empty());
    }

    #[test]
    fn records_of_sha256_parts_read_as_before() {
        // The layout records had before the CRC mode existed.
        let part: RecordedPart = serde_json::from_str(
            r#"{"part_number":2,"etag":"\"b\"","sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}"#,
        )
        .unwrap();
        assert_eq!(part.sum, PartSum::Sha256(Checksum::of(b"")));
    }

    #[test]
    fn round_trips_through_json() {
        let r = record();
        assert_eq!(ResumeRecord::parse(&r.to_json(), 2000), Ok(r));
    }

    #[test]
    fn a_repeated_part_replaces_the_old_entry() {
        let mut r = record();
        r.record_part(RecordedPart {
            part_number: PartNumber(2),
            etag: ETag("\"c\"".into()),
            sum: PartSum::Sha256(Checksum::of(b"2")),
        });
        assert_eq!(r.parts.len(), 1);
        assert_eq!(r.parts[0].etag, ETag("\"c\"".into()));
    }

    #[test]
    fn garbage_other_versions_expired_and_inconsistent_records_are_dropped() {
        assert!(matches!(
            ResumeRecord::parse("{not json", 0),
            Err(RecordError::Corrupt(_))
        ));
        assert!(matches!(
            ResumeRecord::parse("42", 0),
            Err(RecordError::Corrupt(_))
        ));
        assert!(matches!(
            ResumeRecord::parse(r#"{"schema":1}"#, 0),
            Err(RecordError::Corrupt(_))
        ));
        let mut other = record();
        other.schema = 99;
        assert_eq!(
            ResumeRecord::parse(&other.to_json(), 2000),
            Err(RecordError::OtherSchema(99))
        );
        assert_eq!(
            ResumeRecord::parse(&record().to_json(), 61_000),
            Err(RecordError::Expired)
        );
        let mut bad = record();
        bad.part_count = 7;
        assert_eq!(
            ResumeRecord::parse(&bad.to_json(), 2000),
            Err(RecordError::Inconsistent)
        );
        let mut bad = record();
        bad.parts[0].part_number = PartNumber(9);
        assert_eq!(
            ResumeRecord::parse(&bad.to_json(), 2000),
            Err(RecordError::Inconsistent)
        );
    }

    #[test]
    fn keys_differ_when_the_content_differs() {
        let a = record().fingerprint;
        let mut b = a.clone();
        b.tail_sha256 = Checksum::of(b"other tail");
        assert_ne!(a.key("x"), b.key("x"));
        assert_ne!(a.key("x"), a.key("y"));
    }
}
