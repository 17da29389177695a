//! Part planning: how a file of a given size is cut into parts within S3's limits.
//!
//! S3 (and R2, Garage, MinIO) take 1 to 10,000 parts of 5 MiB to 5 GiB, all the same size
//! but the last, which may be smaller. R2 insists on the equal sizes, so we never vary them.

use crate::core::ids::{ByteRange, PartNumber};
use serde::{Deserialize, Serialize};

/// One mebibyte.
pub const MIB: u64 = 1024 * 1024;
/// Smallest part S3 accepts, except for the last one.
pub const MIN_PART_SIZE: u64 = 5 * MIB;
/// Largest part S3 accepts.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;
/// Most parts one multipart upload may have.
pub const MAX_PARTS: u32 = 10_000;
/// Largest object S3 stores (5 TiB).
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * MIB;

/// How the client wants files cut.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanConfig {
    /// Preferred part size; clamped to S3's limits and grown so no file needs more
    /// than 10,000 parts. Default 8 MiB.
    pub part_size: u64,
    /// Files of at most this many bytes go up as one PUT. Default 8 MiB.
    pub single_put_max: u64,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            part_size: 8 * MIB,
            single_put_max: 8 * MIB,
        }
    }
}

/// Why a file cannot be planned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Larger than any object storage keeps.
    #[error("file of {size} bytes is larger than the 5 TiB storage allows")]
    TooLarge {
        /// The file's size.
        size: u64,
    },
    /// A part size outside 5 MiB..=5 GiB for a multipart upload, or zero.
    #[error("part size {0} is outside what storage accepts")]
    BadPartSize(u64),
    /// So many parts that storage would refuse the upload.
    #[error("{0} parts is more than the 10,000 storage allows")]
    TooManyParts(u64),
}

/// How one file is cut into parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The file's size in bytes.
    pub file_size: u64,
    /// Size of every part but the last.
    pub part_size: u64,
    /// Number of parts; at least 1, even for an empty file.
    pub part_count: u32,
}

impl Plan {
    /// Chooses a plan for a file of `file_size` bytes.
    pub fn for_file(file_size: u64, config: &PlanConfig) -> Result<Plan, PlanError> {
        if file_size > MAX_OBJECT_SIZE {
            return Err(PlanError::TooLarge { size: file_size });
        }
        if file_size <= config.single_put_max.min(MAX_PART_SIZE) {
            return Plan::with_part_size(file_size, file_size.max(1));
        }
        // Grow the part to whole MiB until 10,000 of them hold the file.
        let needed = file_size.div_ceil(MAX_PARTS as u64).div_ceil(MIB) * MIB;
        let part_size = config
            .part_size
            .clamp(MIN_PART_SIZE, MAX_PART_SIZE)
            .max(needed);
        Plan::with_part_size(file_size, part_size)
    }

    /// Checks a plan proposed by a client: the server's side of [`Plan::for_file`].
    pub fn with_part_size(file_size: u64, part_size: u64) -> Result<Plan, PlanError> {
        if file_size > MAX_OBJECT_SIZE {
            return Err(PlanError::TooLarge { size: file_size });
        }
        if part_size == 0 || part_size > MAX_PART_SIZE {
            return Err(PlanError::BadPartSize(part_size));
        }
        let count = file_size.div_ceil(part_size).max(1);
        if count > 1 && part_size < MIN_PART_SIZE {
            return Err(PlanError::BadPartSize(part_size));
        }
        if count > MAX_PARTS as u64 {
            return Err(PlanError::TooManyParts(count));
        }
        Ok(Plan {
            file_size,
            part_size,
            part_count: count as u32,
        })
    }

    /// Whether the file goes up as one plain PUT rather than a multipart upload.
    pub fn is_single(&self) -> bool {
        self.part_count == 1
    }

    /// The bytes of one part. Part numbers outside the plan give an empty range.
    pub fn range(&self, part: PartNumber) -> ByteRange {
        let start = (part.index() as u64)
            .saturating_mul(self.part_size)
            .min(self.file_size);
        let end = start.saturating_add(self.part_size).min(self.file_size);
        ByteRange { start, end }
    }

    /// Every part number of the plan, in order.
    pub fn parts(&self) -> impl Iterator<Item = PartNumber> {
        (1..=self.part_count).map(PartNumber)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn small_and_empty_files_are_one_put() {
        let c = PlanConfig::default();
        let empty = Plan::for_file(0, &c).unwrap();
        assert_eq!((empty.part_count, empty.range(PartNumber(1)).len()), (1, 0));
        let three = Plan::for_file(3, &c).unwrap();
        assert!(three.is_single());
        assert_eq!(three.range(PartNumber(1)), ByteRange { start: 0, end: 3 });
    }

    #[test]
    fn default_is_8_mib_parts() {
        let p = Plan::for_file(64 * MIB, &PlanConfig::default()).unwrap();
        assert_eq!((p.part_size, p.part_count), (8 * MIB, 8));
    }

    #[test]
    fn grows_parts_to_reach_five_tib() {
        let p = Plan::for_file(MAX_OBJECT_SIZE, &PlanConfig::default()).unwrap();
        assert!(p.part_count <= MAX_PARTS);
        assert!(Plan::for_file(MAX_OBJECT_SIZE + 1, &PlanConfig::default()).is_err());
    }

    #[test]
    fn server_rejects_plans_storage_would_refuse() {
        assert_eq!(
            Plan::with_part_size(10 * MIB, MIB),
            Err(PlanError::BadPartSize(MIB))
        );
        assert_eq!(Plan::with_part_size(10, 0), Err(PlanError::BadPartSize(0)));
        assert!(matches!(
            Plan::with_part_size(MAX_PARTS as u64 * MIN_PART_SIZE + 1, MIN_PART_SIZE),
            Err(PlanError::TooManyParts(_))
        ));
        // A single small part is fine: the last part may be smaller than 5 MiB.
        assert!(Plan::with_part_size(3, 3).is_ok());
    }

    proptest! {
        #[test]
        fn parts_cover_the_file_exactly_in_order(
            size in prop_oneof![0u64..64 * MIB, 0u64..=MAX_OBJECT_SIZE],
            part_size in 1u64..=64 * MIB,
            single in 0u64..=16 * MIB,
        ) {
            let config = PlanConfig { part_size, single_put_max: single };
            let plan = Plan::for_file(size, &config).unwrap();
            prop_assert!(plan.part_count >= 1 && plan.part_count <= MAX_PARTS);
            prop_assert!(plan.part_size <= MAX_PART_SIZE);
            if plan.part_count > 1 {
                prop_assert!(plan.part_size >= MIN_PART_SIZE);
            }
            let mut next = 0;
            for part in plan.parts() {
                let r = plan.range(part);
                prop_assert_eq!(r.start, next);
                let last = part.0 == plan.part_count;
                if !last {
                    prop_assert_eq!(r.len(), plan.part_size);
                } else {
                    prop_assert!(r.len() <= plan.part_size);
                    prop_assert!(!r.is_empty() || size == 0);
                }
                next = r.end;
            }
            prop_assert_eq!(next, size);
            // What the client plans, the server accepts as the same plan.
            prop_assert_eq!(Plan::with_part_size(size, plan.part_size), Ok(plan));
        }
    }
}
