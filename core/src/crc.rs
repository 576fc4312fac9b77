//! CRC-32/ISO-HDLC (zlib's CRC-32, check value `0xCBF43926`) as the wire format uses it.
//!
//! # Engines, chosen by a feature of this crate
//!
//! Every engine computes the same function; they differ in speed and in the flash their tables
//! take. The fastest engine whose feature is on is used ([`Selected`]):
//!
//! | feature | engine | table | where it is on |
//! | --- | --- | --- | --- |
//! | `fast-crc` | `Clmul`: `crc32fast` (PCLMULQDQ on x86-64, the CRC instructions on aarch64; with `std`, detected at run time, else only if the build targets those features) | crc32fast's own 16 KiB fallback | every hosted crate of the workspace (the workspace dependency turns it on) |
//! | `crc-slice-by-16` | [`Slice16`]: slice-by-16 from the `crc` crate | 16 KiB | firmware that wants speed and has the flash |
//! | (none) | [`Table1`]: one 256-entry table | 1 KiB | firmware by default |
//! | `crc-no-table` | [`Bitwise`]: eight shift/xor steps per byte | none | firmware short of flash (slowest) |
//!
//! `crc-no-table` only applies when neither faster engine is on: features are additive, so a
//! dependency that asks for more speed wins.
//!
//! # Zero runs
//!
//! [`extend_zeros`] appends `n` zero bytes to a finished CRC without feeding them: it multiplies
//! the CRC register by `x^(8n) mod P` (zlib's `crc32_combine` arithmetic). That operator is the
//! product of at most five entries of a 300-byte table of `x^(8 j 16^i) mod P` (one per nibble
//! of `n`), so a reader checksums a 4 KiB slot holding a 150-byte payload at the cost of the
//! 174 bytes it holds, on every engine. The feature `crc-zero-tables` (on with `fast-crc`)
//! swaps in three 1 KiB tables (one per byte of `n`, at most three entries); it saves about
//! one multiplication, measured in `docs/firmware.md`.

use core::marker::PhantomData;

use crc::{Crc, NoTable, Table, CRC_32_ISO_HDLC};

/// Reflected CRC-32 polynomial.
const POLY: u32 = 0xEDB8_8320;
/// The CRC's final xor (and initial register).
const XOROUT: u32 = 0xFFFF_FFFF;

/// A CRC-32/ISO-HDLC implementation.
pub trait Engine {
    /// Name, for benchmarks and logs.
    const NAME: &'static str;
    /// Bytes of lookup tables this engine links in.
    const TABLE_BYTES: usize;
    /// Up to this many zero bytes, [`extend_zeros`] feeds them through the engine rather than
    /// using the algebra (measured crossover, rounded down).
    const FEED_ZEROS_UP_TO: usize;
    /// The CRC of `A ‖ bytes` given `crc = CRC(A)` (`0` for an empty `A`).
    fn update(crc: u32, bytes: &[u8]) -> u32;
}

/// Bitwise CRC, no table (the `crc` crate's `NoTable`).
#[derive(Debug, Clone, Copy)]
pub struct Bitwise;
/// One 256-entry table, a byte per step (the `crc` crate's `Table<1>`).
#[derive(Debug, Clone, Copy)]
pub struct Table1;
/// Slice-by-16: sixteen 256-entry tables, 16 bytes per step (the `crc` crate's `Table<16>`).
#[derive(Debug, Clone, Copy)]
pub struct Slice16;
/// Carry-less multiplication where the CPU has it (`crc32fast`).
#[cfg(any(feature = "fast-crc", test))]
#[derive(Debug, Clone, Copy)]
pub struct Clmul;

// Statics, not consts: one copy of each table, and only the tables an engine that is used
// references end up in a firmware image.
static BITWISE: Crc<u32, NoTable> = Crc::<u32, NoTable>::new(&CRC_32_ISO_HDLC);
static TABLE_1: Crc<u32, Table<1>> = Crc::<u32, Table<1>>::new(&CRC_32_ISO_HDLC);
static SLICE_16: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISO_HDLC);

/// The `crc` crate's initial value that continues from the finished CRC `crc`: its register is
/// `crc ^ xorout`, and the crate bit-reverses a custom initial value for reflected algorithms.
const fn resume(crc: u32) -> u32 {
    (crc ^ XOROUT).reverse_bits()
}

impl Engine for Bitwise {
    const NAME: &'static str = "bitwise";
    const TABLE_BYTES: usize = 0;
    const FEED_ZEROS_UP_TO: usize = 4;
    #[inline]
    fn update(crc: u32, bytes: &[u8]) -> u32 {
        let mut d = BITWISE.digest_with_initial(resume(crc));
        d.update(bytes);
        d.finalize()
    }
}

impl Engine for Table1 {
    const NAME: &'static str = "table-1k";
    const TABLE_BYTES: usize = 1024;
    const FEED_ZEROS_UP_TO: usize = 16;
    #[inline]
    fn update(crc: u32, bytes: &[u8]) -> u32 {
        let mut d = TABLE_1.digest_with_initial(resume(crc));
        d.update(bytes);
        d.finalize()
    }
}

impl Engine for Slice16 {
    const NAME: &'static str = "slice-by-16";
    const TABLE_BYTES: usize = 16 * 1024;
    const FEED_ZEROS_UP_TO: usize = 32;
    #[inline]
    fn update(crc: u32, bytes: &[u8]) -> u32 {
        let mut d = SLICE_16.digest_with_initial(resume(crc));
        d.update(bytes);
        d.finalize()
    }
}

#[cfg(any(feature = "fast-crc", test))]
impl Engine for Clmul {
    const NAME: &'static str = "crc32fast";
    const TABLE_BYTES: usize = 16 * 1024;
    const FEED_ZEROS_UP_TO: usize = 64;
    #[inline]
    fn update(crc: u32, bytes: &[u8]) -> u32 {
        let mut h = crc32fast::Hasher::new_with_initial(crc);
        h.update(bytes);
        h.finalize()
    }
}

/// The engine this build uses (see the module docs for the features).
#[cfg(feature = "fast-crc")]
pub type Selected = Clmul;
/// The engine this build uses (see the module docs for the features).
#[cfg(all(not(feature = "fast-crc"), feature = "crc-slice-by-16"))]
pub type Selected = Slice16;
/// The engine this build uses (see the module docs for the features).
#[cfg(all(
    not(feature = "fast-crc"),
    not(feature = "crc-slice-by-16"),
    feature = "crc-no-table"
))]
pub type Selected = Bitwise;
/// The engine this build uses (see the module docs for the features).
#[cfg(not(any(
    feature = "fast-crc",
    feature = "crc-slice-by-16",
    feature = "crc-no-table"
)))]
pub type Selected = Table1;

/// A running CRC-32 over [`Selected`] (or another engine).
#[derive(Debug, Clone, Copy)]
pub struct Digest<E: Engine = Selected> {
    crc: u32,
    engine: PhantomData<E>,
}

impl<E: Engine> Digest<E> {
    /// An empty digest.
    pub const fn new() -> Self {
        Self {
            crc: 0,
            engine: PhantomData,
        }
    }

    /// Appends `bytes`.
    #[inline]
    pub fn update(&mut self, bytes: &[u8]) {
        self.crc = E::update(self.crc, bytes);
    }

    /// The CRC of everything appended.
    #[inline]
    pub fn finalize(self) -> u32 {
        self.crc
    }
}

impl<E: Engine> Default for Digest<E> {
    fn default() -> Self {
        Self::new()
    }
}

/// A running CRC-32.
pub const fn digest() -> Digest {
    Digest::new()
}

/// CRC-32 of `bytes`.
#[inline]
pub fn checksum(bytes: &[u8]) -> u32 {
    Selected::update(0, bytes)
}

/// `p * x mod P` (reflected: a right shift, and the polynomial where a bit falls off).
const fn times_x(p: u32) -> u32 {
    (p >> 1) ^ (POLY & 0u32.wrapping_sub(p & 1))
}

/// `TIMES_X4[k] = k * x^4 mod P` for `k` holding only the four lowest bits.
const TIMES_X4: [u32; 16] = {
    let mut t = [0u32; 16];
    let mut k = 0;
    while k < 16 {
        t[k] = times_x(times_x(times_x(times_x(k as u32))));
        k += 1;
    }
    t
};

/// `a * b mod P` over GF(2), both in the reflected representation (bit `31 - i` is the
/// coefficient of `x^i`). Horner's rule over the eight nibbles of `a`, highest degree first,
/// with the sixteen multiples of `b` by a nibble built on the stack (one XOR each): about 50
/// operations.
const fn mul_mod_p(a: u32, b: u32) -> u32 {
    // Multiples of b by every polynomial of degree < 4; index bit 3 is x^0 ... bit 0 is x^3.
    // `basis[t]` is the multiple for index bit t alone; every other entry is an earlier entry
    // (its index without its lowest set bit) plus one basis element.
    let b1 = times_x(b);
    let b2 = times_x(b1);
    let b3 = times_x(b2);
    let basis = [b3, b2, b1, b];
    let mut m = [0u32; 16];
    let mut j = 1;
    while j < 16 {
        m[j] = m[j & (j - 1)] ^ basis[(j as u32).trailing_zeros() as usize];
        j += 1;
    }
    // Nibble g (coefficients x^(4g) .. x^(4g+3)) sits at bits 28 - 4g .. 31 - 4g.
    let mut p: u32 = 0;
    let mut g = 8;
    while g > 0 {
        g -= 1;
        p = (p >> 4) ^ TIMES_X4[(p & 0xF) as usize] ^ m[((a >> (28 - 4 * g)) & 0xF) as usize];
    }
    p
}

/// `x^0` in the reflected representation.
const ONE: u32 = 1 << 31;

/// `X2N[k] = x^(2^k) mod P`.
const X2N: [u32; 32] = {
    let mut table = [0u32; 32];
    let mut p: u32 = 1 << 30; // x^1
    table[0] = p;
    let mut k = 1;
    while k < 32 {
        p = mul_mod_p(p, p);
        table[k] = p;
        k += 1;
    }
    table
};

/// `x^(8 n) mod P` by square-and-multiply over the bits of `n` (const; builds the tables, and
/// serves `n` beyond them).
const fn zeros_operator_slow(n: u64) -> u32 {
    let mut p = ONE;
    let mut n = n;
    let mut k = 3; // 2^3 = 8 bits per byte
    while n != 0 {
        if n & 1 != 0 {
            p = mul_mod_p(X2N[k & 31], p);
        }
        n >>= 1;
        k += 1;
    }
    p
}

/// How [`extend_zeros`] gets `x^(8 n) mod P`.
pub trait ZeroShift {
    /// Name, for benchmarks.
    const NAME: &'static str;
    /// Bytes of tables.
    const TABLE_BYTES: usize;
    /// `x^(8 n) mod P`: the operator that moves a CRC register over `n` zero bytes.
    fn operator(n: usize) -> u32;
}

/// Nibble tables: `x^(8 j 16^i) mod P` for `j` in `1..16`, `i` in `0..5` (300 bytes); at most
/// four multiplications for `n < 2^20` (any slot), square-and-multiply beyond.
#[derive(Debug, Clone, Copy)]
pub struct NibbleShift;

/// Byte tables: `x^(8 j 256^i) mod P` for `j` in `0..256`, `i` in `0..3` (3 KiB); at most two
/// multiplications for `n < 2^24`.
#[derive(Debug, Clone, Copy)]
pub struct ByteShift;

const NIBBLES: usize = 5;
static NIBBLE_TABLE: [[u32; 15]; NIBBLES] = {
    let mut t = [[0u32; 15]; NIBBLES];
    let mut i = 0;
    while i < NIBBLES {
        let mut j = 1;
        while j < 16 {
            t[i][j - 1] = zeros_operator_slow((j as u64) << (4 * i));
            j += 1;
        }
        i += 1;
    }
    t
};

impl ZeroShift for NibbleShift {
    const NAME: &'static str = "nibble-tables-300b";
    const TABLE_BYTES: usize = NIBBLES * 15 * 4;
    #[inline]
    fn operator(n: usize) -> u32 {
        if n >> (4 * NIBBLES) != 0 {
            return zeros_operator_slow(n as u64);
        }
        let mut p = ONE;
        let mut first = true;
        for (i, row) in NIBBLE_TABLE.iter().enumerate() {
            let j = (n >> (4 * i)) & 0xF;
            if j != 0 {
                let t = row[j - 1];
                p = if first { t } else { mul_mod_p(t, p) };
                first = false;
            }
        }
        p
    }
}

const fn byte_table(step_bytes: u64) -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut k = 0;
    while k < 256 {
        table[k] = zeros_operator_slow(step_bytes * k as u64);
        k += 1;
    }
    table
}
static BYTES_LO: [u32; 256] = byte_table(1);
static BYTES_MID: [u32; 256] = byte_table(1 << 8);
static BYTES_HI: [u32; 256] = byte_table(1 << 16);

impl ZeroShift for ByteShift {
    const NAME: &'static str = "byte-tables-3k";
    const TABLE_BYTES: usize = 3 * 1024;
    #[inline]
    fn operator(n: usize) -> u32 {
        if n >> 24 != 0 {
            return zeros_operator_slow(n as u64);
        }
        let mut p = BYTES_LO[n & 0xFF];
        if (n >> 8) & 0xFF != 0 {
            p = mul_mod_p(BYTES_MID[(n >> 8) & 0xFF], p);
        }
        if n >> 16 != 0 {
            p = mul_mod_p(BYTES_HI[(n >> 16) & 0xFF], p);
        }
        p
    }
}

/// The zero-run method this build uses: [`ByteShift`] with `crc-zero-tables` (which `fast-crc`
/// turns on: hosted builds have the memory), else [`NibbleShift`].
#[cfg(feature = "crc-zero-tables")]
pub type SelectedShift = ByteShift;
/// The zero-run method this build uses: [`ByteShift`] with `crc-zero-tables` (which `fast-crc`
/// turns on: hosted builds have the memory), else [`NibbleShift`].
#[cfg(not(feature = "crc-zero-tables"))]
pub type SelectedShift = NibbleShift;

static ZEROS: [u8; 64] = [0; 64];

/// The CRC of `A ‖ 0ⁿ` given `crc = CRC(A)`, with a chosen engine and zero-run method.
#[inline]
pub fn extend_zeros_with<E: Engine, Z: ZeroShift>(crc: u32, n: usize) -> u32 {
    if n == 0 {
        return crc;
    }
    let feed = if E::FEED_ZEROS_UP_TO < ZEROS.len() {
        E::FEED_ZEROS_UP_TO
    } else {
        ZEROS.len()
    };
    if n <= feed {
        return E::update(crc, &ZEROS[..n]);
    }
    mul_mod_p(Z::operator(n), crc ^ XOROUT) ^ XOROUT
}

/// The CRC of `A ‖ 0ⁿ` given `crc = CRC(A)`.
#[inline]
pub fn extend_zeros(crc: u32, n: usize) -> u32 {
    extend_zeros_with::<Selected, SelectedShift>(crc, n)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec;

    fn check_engine<E: Engine>() {
        assert_eq!(E::update(0, b"123456789"), 0xCBF4_3926, "{}", E::NAME);
        assert_eq!(E::update(0, b""), 0, "{}", E::NAME);
        // Resuming from a finished value continues the same CRC.
        let whole = E::update(0, b"123456789");
        assert_eq!(E::update(E::update(0, b"1234"), b"56789"), whole);
        let mut d = Digest::<E>::new();
        d.update(b"123");
        d.update(b"456789");
        assert_eq!(d.finalize(), whole);
    }

    #[test]
    fn every_engine_has_the_check_value() {
        check_engine::<Bitwise>();
        check_engine::<Table1>();
        check_engine::<Slice16>();
        check_engine::<Clmul>();
        check_engine::<Selected>();
        assert_eq!(checksum(b"123456789"), 0xCBF4_3926);
    }

    fn zeros_case<E: Engine, Z: ZeroShift>(prefix: &[u8], n: usize) {
        let mut buf = prefix.to_vec();
        buf.resize(prefix.len() + n, 0);
        let direct = crc32fast::hash(&buf);
        assert_eq!(
            extend_zeros_with::<E, Z>(E::update(0, prefix), n),
            direct,
            "{} + {}: n = {n}",
            E::NAME,
            Z::NAME
        );
    }

    fn all_zeros_cases(prefix: &[u8], n: usize) {
        zeros_case::<Bitwise, NibbleShift>(prefix, n);
        zeros_case::<Table1, NibbleShift>(prefix, n);
        zeros_case::<Slice16, NibbleShift>(prefix, n);
        zeros_case::<Clmul, NibbleShift>(prefix, n);
        zeros_case::<Bitwise, ByteShift>(prefix, n);
        zeros_case::<Table1, ByteShift>(prefix, n);
        zeros_case::<Slice16, ByteShift>(prefix, n);
        zeros_case::<Clmul, ByteShift>(prefix, n);
        assert_eq!(
            extend_zeros(checksum(prefix), n),
            crc32fast::hash(&[prefix, &vec![0u8; n]].concat())
        );
    }

    #[test]
    fn extend_zeros_matches_feeding_zeros_at_every_boundary() {
        let data = b"vitalring slot header and payload";
        // Each side of every feed threshold and of every table's reach.
        let mut lengths = vec![
            0usize, 1, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256, 257, 1000,
            4064, 4065, 4967, 65535, 65536, 70_000,
        ];
        if !cfg!(miri) {
            lengths.extend([(1 << 20) - 1, 1 << 20, (1 << 20) + 4097]);
        }
        for n in lengths {
            all_zeros_cases(data, n);
        }
        all_zeros_cases(&[], 300);
    }

    #[test]
    #[cfg(not(miri))] // 16 MiB of zeros through crc32fast would take hours under Miri
    fn extend_zeros_beyond_the_tables() {
        // Past the nibble tables (2^20 bytes) and the byte tables (2^24): square-and-multiply.
        let a = crc32fast::hash(b"abc");
        let zeros = vec![0u8; (1 << 24) + 12_345];
        let mut h = crc32fast::Hasher::new_with_initial(a);
        h.update(&zeros);
        let direct = h.finalize();
        assert_eq!(
            extend_zeros_with::<Table1, NibbleShift>(a, zeros.len()),
            direct
        );
        assert_eq!(
            extend_zeros_with::<Table1, ByteShift>(a, zeros.len()),
            direct
        );
    }

    /// The textbook product, one coefficient of `a` at a time (the reference for `mul_mod_p`).
    fn mul_mod_p_bitwise(a: u32, mut b: u32) -> u32 {
        let mut p = 0;
        for i in 0..32 {
            if (a >> (31 - i)) & 1 != 0 {
                p ^= b;
            }
            b = times_x(b);
        }
        p
    }

    fn cases() -> ProptestConfig {
        if cfg!(miri) {
            ProptestConfig {
                cases: 4,
                failure_persistence: None,
                ..ProptestConfig::default()
            }
        } else {
            ProptestConfig::with_cases(256)
        }
    }

    proptest! {
        #![proptest_config(cases())]

        #[test]
        fn every_engine_agrees_with_zlib(
            data in proptest::collection::vec(any::<u8>(), 0..5000),
            split in any::<prop::sample::Index>(),
        ) {
            let want = crc32fast::hash(&data);
            prop_assert_eq!(Bitwise::update(0, &data), want);
            prop_assert_eq!(Table1::update(0, &data), want);
            prop_assert_eq!(Slice16::update(0, &data), want);
            prop_assert_eq!(Clmul::update(0, &data), want);
            prop_assert_eq!(checksum(&data), want);
            let (a, b) = data.split_at(split.index(data.len() + 1));
            let mut d = digest();
            d.update(a);
            d.update(b);
            prop_assert_eq!(d.finalize(), want);
        }

        #[test]
        fn nibble_multiplication_is_the_textbook_product(a in any::<u32>(), b in any::<u32>()) {
            prop_assert_eq!(mul_mod_p(a, b), mul_mod_p_bitwise(a, b));
        }

        #[test]
        fn every_engine_extends_zero_tails(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            n in 0usize..70_000,
        ) {
            all_zeros_cases(&data, n);
        }
    }

    #[test]
    fn tables_are_what_they_claim() {
        assert_eq!(
            core::mem::size_of_val(&NIBBLE_TABLE),
            NibbleShift::TABLE_BYTES
        );
        assert_eq!(
            core::mem::size_of_val(&BYTES_LO) * 3,
            ByteShift::TABLE_BYTES
        );
        assert_eq!(
            core::mem::size_of_val(SLICE_16.table()),
            Slice16::TABLE_BYTES
        );
        assert_eq!(core::mem::size_of_val(TABLE_1.table()), Table1::TABLE_BYTES);
        assert_eq!(
            core::mem::size_of_val(BITWISE.table()),
            Bitwise::TABLE_BYTES
        );
    }
}
