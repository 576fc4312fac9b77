//! CRC-32/ISO-HDLC (zlib's CRC-32, check value `0xCBF43926`) as the wire format uses it.
//!
//! The table-driven part comes from the `crc` crate (slice-by-16). [`extend_zeros`] appends
//! `n` zero bytes to a finished CRC in `O(log n)` (zlib's `crc32_combine` arithmetic), which
//! lets a reader checksum a slot whose tail past `dataSize` it has verified to be zero without
//! feeding thousands of zero bytes through the table.

use crc::{Crc, Digest, Table, CRC_32_ISO_HDLC};

/// The CRC engine.
pub const CRC32: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISO_HDLC);

/// Reflected CRC-32 polynomial.
const POLY: u32 = 0xEDB8_8320;

/// A running CRC-32.
pub fn digest() -> Digest<'static, u32, Table<16>> {
    CRC32.digest()
}

/// CRC-32 of `bytes`.
pub fn checksum(bytes: &[u8]) -> u32 {
    CRC32.checksum(bytes)
}

/// `a * b mod P` over GF(2), both in the reflected representation (branch-free: 32 rounds).
const fn mul_mod_p(a: u32, mut b: u32) -> u32 {
    let mut p: u32 = 0;
    let mut i = 0;
    while i < 32 {
        // Bit 31 - i of `a` is the coefficient of x^i.
        p ^= b & 0u32.wrapping_sub((a >> (31 - i)) & 1);
        b = (b >> 1) ^ (POLY & 0u32.wrapping_sub(b & 1));
        i += 1;
    }
    p
}

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

/// `x^(8 n) mod P` for `n` in `0..256`, and for `n = 256 m` and `n = 65536 m`, `m` in `0..256`.
const fn zeros_table(step_bytes: u64) -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut k = 0;
    while k < 256 {
        table[k] = zeros_operator_slow(step_bytes * k as u64);
        k += 1;
    }
    table
}
static ZEROS_LO: [u32; 256] = zeros_table(1);
static ZEROS_MID: [u32; 256] = zeros_table(1 << 8);
static ZEROS_HI: [u32; 256] = zeros_table(1 << 16);

/// `x^(8 n) mod P` by repeated squaring (used to build the tables and for huge `n`).
const fn zeros_operator_slow(n: u64) -> u32 {
    let mut p: u32 = 1 << 31; // x^0
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

/// `x^(8 n) mod P`: the operator that shifts a CRC register over `n` zero bytes.
fn zeros_operator(n: usize) -> u32 {
    if n < 1 << 24 {
        let lo = ZEROS_LO[n & 0xFF];
        let mid = ZEROS_MID[(n >> 8) & 0xFF];
        let hi = ZEROS_HI[(n >> 16) & 0xFF];
        let mut p = lo;
        if n >> 8 & 0xFF != 0 {
            p = mul_mod_p(mid, p);
        }
        if n >> 16 != 0 {
            p = mul_mod_p(hi, p);
        }
        p
    } else {
        zeros_operator_slow(n as u64)
    }
}

/// Below this many bytes, feeding zeros through the table is cheaper than the algebra.
const SMALL_ZEROS: usize = 64;
static ZEROS: [u8; SMALL_ZEROS] = [0; SMALL_ZEROS];

/// The CRC of `A ‖ 0ⁿ` given `crc = CRC(A)`.
pub fn extend_zeros(crc: u32, n: usize) -> u32 {
    if n == 0 {
        return crc;
    }
    if n <= SMALL_ZEROS {
        // Continue from the finished value: the register is `crc ^ xorout`, and the crate
        // bit-reverses a custom initial value for reflected algorithms, so undo that first.
        let mut d = CRC32.digest_with_initial((crc ^ 0xFFFF_FFFF).reverse_bits());
        d.update(&ZEROS[..n]);
        return d.finalize();
    }
    mul_mod_p(zeros_operator(n), crc ^ 0xFFFF_FFFF) ^ 0xFFFF_FFFF
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    #[test]
    fn check_value() {
        assert_eq!(checksum(b"123456789"), 0xCBF4_3926);
        assert_eq!(checksum(b"123456789"), crc32fast::hash(b"123456789"));
    }

    #[test]
    fn extend_zeros_matches_feeding_zeros() {
        let data = b"vitalring slot header and payload";
        let mut buf = vec![0u8; 301_000];
        buf[..data.len()].copy_from_slice(data);
        for n in [
            0usize, 1, 7, 63, 64, 65, 100, 256, 1000, 4064, 4967, 65536, 70_000, 300_000,
        ] {
            let direct = crc32fast::hash(&buf[..data.len() + n]);
            assert_eq!(extend_zeros(checksum(data), n), direct, "n = {n}");
        }
        assert_eq!(
            extend_zeros(checksum(&[]), 300),
            crc32fast::hash(&[0u8; 300])
        );
    }
}
