//! CRC-64/NVME, the checksum S3 verifies over a whole object ("full object" mode): each
//! part's CRC is computed on its own, and the whole file's is combined from them and the
//! part lengths, without reading the file again.

use crate::core::checksum::BadChecksum;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use crc::{Crc, CRC_64_NVME};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The algorithm: reflected polynomial 0xAD93D23594C93659, init and xorout all ones.
static NVME: Crc<u64> = Crc::<u64>::new(&CRC_64_NVME);

/// The reflected polynomial, for combining.
const POLY_REFLECTED: u64 = 0x9A6C_9329_AC4B_C9B5;

/// A CRC-64/NVME value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Crc64(pub u64);

impl Crc64 {
    /// The CRC of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Crc64(NVME.checksum(bytes))
    }

    /// A CRC computed over bytes fed in pieces, as they stream past.
    pub fn hasher() -> Crc64Hasher {
        Crc64Hasher(NVME.digest())
    }

    /// The CRC of this data followed by data of `next_len` bytes whose CRC is `next`.
    pub fn then(self, next: Crc64, next_len: u64) -> Crc64 {
        Crc64(shift(self.0, next_len) ^ next.0)
    }

    /// The CRC of parts one after the other, from each part's CRC and length.
    pub fn of_parts(parts: impl IntoIterator<Item = (Crc64, u64)>) -> Option<Crc64> {
        parts
            .into_iter()
            .reduce(|(whole, len), (part, part_len)| {
                (whole.then(part, part_len), len.saturating_add(part_len))
            })
            .map(|(whole, _)| whole)
    }

    /// Standard padded base64 of the 8 bytes, big-endian: `x-amz-checksum-crc64nvme`.
    pub fn to_base64(self) -> String {
        STANDARD.encode(self.0.to_be_bytes())
    }

    /// Reads the S3 header form.
    pub fn from_base64(s: &str) -> Result<Self, BadChecksum> {
        let bytes = STANDARD.decode(s).map_err(|_| BadChecksum)?;
        let bytes: [u8; 8] = bytes.try_into().map_err(|_| BadChecksum)?;
        Ok(Crc64(u64::from_be_bytes(bytes)))
    }
}

/// A CRC-64/NVME being computed; see [`Crc64::hasher`].
pub struct Crc64Hasher(crc::Digest<'static, u64>);

impl Crc64Hasher {
    /// Feeds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The CRC of everything fed.
    pub fn finish(self) -> Crc64 {
        Crc64(self.0.finalize())
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Crc64 {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::core::part_sum::base64_schema(
            "A CRC-64/NVME, standard base64 of its 8 big-endian bytes (12 characters).",
            12,
        )
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Crc64 {}

impl Serialize for Crc64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Crc64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Crc64::from_base64(&s).map_err(serde::de::Error::custom)
    }
}

/// `crc` moved past `len` zero bytes: multiplication by x^(8·len) in GF(2)[x] modulo the
/// polynomial, by squaring an operator matrix (zlib's `crc32_combine`, for 64 bits).
/// With init and xorout both all ones, the CRC of `a ++ b` is `shift(crc(a), |b|) ^
/// crc(b)`.
fn shift(mut crc: u64, mut len: u64) -> u64 {
    if len == 0 {
        return crc;
    }
    // The operator for one zero bit.
    let mut odd = [0u64; 64];
    odd[0] = POLY_REFLECTED;
    for (n, row) in odd.iter_mut().enumerate().skip(1) {
        *row = 1 << (n - 1);
    }
    let mut even = square(&odd); // two zero bits
    odd = square(&even); // four zero bits
    loop {
        even = square(&odd); // one zero byte, then 4, 16…
        if len & 1 == 1 {
            crc = times(&even, crc);
        }
        len >>= 1;
        if len == 0 {
            return crc;
        }
        odd = square(&even);
        if len & 1 == 1 {
            crc = times(&odd, crc);
        }
        len >>= 1;
        if len == 0 {
            return crc;
        }
    }
}

/// The matrix `mat` (64 columns) applied to the vector `vec`.
fn times(mat: &[u64; 64], mut vec: u64) -> u64 {
    let mut sum = 0;
    let mut i = 0;
    while vec != 0 {
        if vec & 1 == 1 {
            sum ^= mat[i];
        }
        vec >>= 1;
        i += 1;
    }
    sum
}

/// `mat` times itself.
fn square(mat: &[u64; 64]) -> [u64; 64] {
    let mut out = [0u64; 64];
    for (n, row) in out.iter_mut().enumerate() {
        *row = times(mat, mat[n]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_catalogue_check_value() {
        assert_eq!(Crc64::of(b"123456789"), Crc64(0xAE8B_1486_0A79_9888));
    }

    #[test]
    fn the_header_form_is_base64_of_the_big_endian_bytes() {
        let crc = Crc64(0xAE8B_1486_0A79_9888);
        assert_eq!(crc.to_base64(), "rosUhgp5mIg=");
        assert_eq!(Crc64::from_base64("rosUhgp5mIg="), Ok(crc));
        assert!(Crc64::from_base64("AAAA").is_err());
    }

    #[test]
    fn fed_in_pieces_it_is_the_same_crc() {
        let mut h = Crc64::hasher();
        h.update(b"1234");
        h.update(b"56789");
        assert_eq!(h.finish(), Crc64::of(b"123456789"));
    }

    #[test]
    fn parts_of_zero_bytes_change_nothing() {
        let a = Crc64::of(b"abc");
        assert_eq!(a.then(Crc64::of(b""), 0), a);
        assert_eq!(Crc64::of_parts([]), None);
    }

    proptest! {
        #[test]
        fn combining_part_crcs_gives_the_whole_files(
            parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..6)
        ) {
            let whole: Vec<u8> = parts.concat();
            let combined = Crc64::of_parts(
                parts.iter().map(|p| (Crc64::of(p), p.len() as u64)),
            );
            prop_assert_eq!(combined, Some(Crc64::of(&whole)));
        }
    }

    #[test]
    fn combining_scales_to_large_parts_without_reading_them() {
        // 4 GiB of zeros two ways, from the CRC of 1 MiB of zeros: 4,096 parts folded
        // one after the other, and doubling twelve times (shifts of up to 2 GiB).
        let mib: u64 = 1 << 20;
        let one = Crc64::of(&vec![0u8; mib as usize]);
        let folded = Crc64::of_parts((0..4096).map(|_| (one, mib))).expect("parts");
        let mut doubled = one;
        let mut len = mib;
        for _ in 0..12 {
            doubled = doubled.then(doubled, len);
            len *= 2;
        }
        assert_eq!(len, 4 << 30);
        assert_eq!(folded, doubled);
        assert_eq!(one.then(one, mib), Crc64::of(&vec![0u8; 2 * mib as usize]));
    }
}
