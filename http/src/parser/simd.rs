//! Vectorised byte-class scans: the parser's only `unsafe` code.
//!
//! The three long runs of a message head (the request-target, header names
//! and header values) are scanned 16 bytes at a time with SSE2, which every
//! x86-64 CPU has, and long values 32 at a time with AVX2 where the CPU has
//! it (detected once, at the first parser). Each scan finds the first byte
//! outside its class exactly, so the state machine sees the same positions as
//! with the safe eight-bytes-at-a-time scans in `tables.rs`, which stay the
//! fallback (other targets, `Scan::Swar`, or `EDDY_PARSER_SWAR=1` in the
//! environment).
//!
//! The only unsafe operations are unaligned loads, each from a range whose
//! bounds were checked just before, and calls into the AVX2 functions, made
//! only through a [`Level`] that can be built only after AVX2 was detected.

#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

use std::sync::atomic::{AtomicU8, Ordering};

use super::settings::Scan;
use super::tables;

/// A scanner the CPU is known to support. The field is private: outside
/// this module a `Level` comes only from [`Level::SWAR`] or [`Level::resolve`],
/// which is what makes the AVX2 calls below sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Level(u8);

const SWAR: u8 = 0;
const SSE2: u8 = 1;
const AVX2: u8 = 2;

/// What detection found, plus one (0: not detected yet).
static DETECTED: AtomicU8 = AtomicU8::new(0);

/// The environment variable that forces the SWAR fallback process-wide.
const FORCE_SWAR_ENV: &str = "EDDY_PARSER_SWAR";

impl Level {
    /// The portable word-at-a-time scans, on every target.
    pub(crate) const SWAR: Level = Level(SWAR);

    /// The best scanner this CPU runs, found once and cached.
    #[inline]
    fn detected() -> Level {
        match DETECTED.load(Ordering::Relaxed) {
            0 => Level::detect(),
            n => Level(n - 1),
        }
    }

    #[cold]
    fn detect() -> Level {
        let forced = std::env::var_os(FORCE_SWAR_ENV).is_some_and(|v| !v.is_empty() && v != "0");
        let level = if forced { SWAR } else { Level::cpu_best() };
        DETECTED.store(level + 1, Ordering::Relaxed);
        Level(level)
    }

    #[cfg(target_arch = "x86_64")]
    fn cpu_best() -> u8 {
        if std::is_x86_feature_detected!("avx2") {
            AVX2
        } else {
            SSE2
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn cpu_best() -> u8 {
        SWAR
    }

    /// The scanner for a requested `Scan`: what was asked for, or the best
    /// the CPU has if that is less (never something it lacks).
    pub(crate) fn resolve(scan: Scan) -> Level {
        let best = Level::detected().0;
        Level(match scan {
            Scan::Auto => best,
            Scan::Swar => SWAR,
            Scan::Sse2 => best.min(SSE2),
            Scan::Avx2 => best.min(AVX2),
        })
    }

    /// The scanner as the public enum names it.
    pub(crate) fn scan(self) -> Scan {
        match self.0 {
            SSE2 => Scan::Sse2,
            AVX2 => Scan::Avx2,
            _ => Scan::Swar,
        }
    }

    /// Skip header-value bytes (HTAB, SP, VCHAR, obs-text) from `p`;
    /// returns the first byte that is not one (or `data.len()`).
    #[inline(always)]
    pub(crate) fn skip_value(self, data: &[u8], p: usize) -> usize {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        if self.0 != SWAR {
            // The first 16 bytes here, where the compiler inlines them (most
            // values end inside them); the rest in the loops below.
            // SAFETY: SSE2 is enabled for the build (it is part of x86-64).
            let p = match first16(data, p, |c| unsafe { x86::value_stops16(c) }) {
                Ok(stop) => return stop,
                Err(p) => p,
            };
            // SAFETY: SSE2 is enabled for the build (it is part of x86-64),
            // and a `Level` says AVX2 only after the CPU was seen to have it.
            return unsafe { x86::value(data, p, self.0 == AVX2) };
        }
        tables::skip_value(data, p)
    }

    /// Skip tchar bytes (a header field name) from `p`.
    #[inline(always)]
    pub(crate) fn skip_name(self, data: &[u8], p: usize) -> usize {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        if self.0 != SWAR {
            // Nearly every name is letters, digits and dashes up to its
            // colon: one vector test of its first 16 bytes finds that colon.
            // Anything else (another tchar, a longer name) goes on from the
            // first byte the test stopped at with the exact byte test, then
            // 16 bytes a step: the same answer either way.
            let mut q = p;
            if let Some(first) = data.get(p..).and_then(|d| d.first_chunk::<16>()) {
                // SAFETY: SSE2 is enabled for the build (it is part of x86-64).
                let stops = unsafe { x86::common_name_stops(first) };
                let mut i = (stops | 1 << 16).trailing_zeros() as usize;
                if i < 16 && first[i] == b':' {
                    return p + i;
                }
                while i < 16 && tables::is(first[i], tables::TOKEN) {
                    i += 1;
                }
                if i < 16 {
                    return p + i;
                }
                // SAFETY: SSE2 is enabled for the build (it is part of x86-64).
                return unsafe { x86::name(data, p + 16) };
            }
            while q < data.len() && tables::is(data[q], tables::TOKEN) {
                q += 1;
            }
            return q;
        }
        tables::skip_name(data, p)
    }

    /// The stops of the header lines in the 64 bytes from `p` (`p <
    /// data.len()`), for reading several short lines from one set of masks
    /// instead of two dependent scans per line. The block is the 64 bytes
    /// at `p`, or the last 64 of `data` with the bits before `p` shifted
    /// out; `None` on the SWAR level or for input under 64 bytes.
    #[inline(always)]
    pub(crate) fn line_masks(self, data: &[u8], p: usize) -> Option<LineMasks> {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        if self.0 != SWAR && p < data.len() {
            let base = p.min(data.len().checked_sub(64)?);
            let block: &[u8; 64] = data[base..].first_chunk::<64>()?;
            let (name, value) = match self.0 {
                // SAFETY: a `Level` says AVX2 only after the CPU was seen to have it.
                AVX2 => unsafe { x86::line_masks_avx2(block) },
                // SAFETY: SSE2 is enabled for the build (it is part of x86-64).
                _ => unsafe { x86::line_masks_sse2(block) },
            };
            let shift = p - base;
            return Some(LineMasks {
                name: name >> shift,
                value: value >> shift,
                len: 64 - shift,
            });
        }
        let _ = (data, p);
        None
    }

    /// Skip request-target bytes of a path, query or fragment from `p`.
    #[inline(always)]
    pub(crate) fn skip_url(self, data: &[u8], p: usize) -> usize {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        if self.0 != SWAR {
            // As in `skip_value`: short targets end in their first 16 bytes.
            // SAFETY: SSE2 is enabled for the build (it is part of x86-64).
            let p = match first16(data, p, |c| unsafe { x86::url_stops16(c) }) {
                Ok(stop) => return stop,
                Err(p) => p,
            };
            // SAFETY: as in `skip_value`.
            return unsafe { x86::url(data, p, self.0 == AVX2) };
        }
        tables::skip_url(data, p)
    }
}

/// The first stop `stops` finds in the 16 bytes at `p` (`Ok`), or where a
/// scan goes on (`Err`): `p + 16` after 16 bytes with none, `p` where fewer
/// than 16 are left. (`get(p..)` then a chunk: two compares, no overflow
/// test.)
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn first16(data: &[u8], p: usize, stops: impl Fn(&[u8; 16]) -> u32) -> Result<usize, usize> {
    let Some(first) = data.get(p..).and_then(|d| d.first_chunk::<16>()) else {
        return Err(p);
    };
    match stops(first) {
        0 => Err(p + 16),
        m => Ok(p + m.trailing_zeros() as usize),
    }
}

/// Where header lines stop within a block of input (see
/// [`Level::line_masks`]): bit `i` stands for the byte `i` places after the
/// block's first line start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineMasks {
    /// Bytes that end a common header name: all but ASCII letters, digits
    /// and `-` (so the colon, and any rarer tchar, which the exact scan reads).
    pub name: u64,
    /// Bytes that may not be in a header value: controls but HTAB (so CR
    /// and LF), and DEL.
    pub value: u64,
    /// How many bytes the masks cover; positions from here on are unknown.
    pub len: usize,
}

/// The x86-64 kernels. Every function here is compiled for SSE2 (or AVX2,
/// for the long loops), so the intrinsics inside are safe to call; only
/// the loads, and the calls into AVX2 code, are `unsafe`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod x86 {
    use std::arch::x86_64::*;

    /// Sixteen bytes from `data[p..]`, which must hold them (else a panic).
    #[inline]
    #[target_feature(enable = "sse2")]
    fn load16(data: &[u8], p: usize) -> __m128i {
        let chunk: &[u8; 16] = data[p..p + 16].try_into().unwrap();
        // SAFETY: `chunk` is 16 readable bytes; `loadu` has no alignment requirement.
        unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) }
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn splat(b: u8) -> __m128i {
        _mm_set1_epi8(b as i8)
    }

    /// Bytes `<= hi` compared as unsigned.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn at_most(v: __m128i, hi: u8) -> __m128i {
        _mm_cmpeq_epi8(_mm_min_epu8(v, splat(hi)), v)
    }

    /// Bytes in `lo..=hi`, for a range inside 0x21..=0x7e (signed compares).
    #[inline]
    #[target_feature(enable = "sse2")]
    fn within(v: __m128i, lo: u8, hi: u8) -> __m128i {
        _mm_and_si128(
            _mm_cmpgt_epi8(v, splat(lo - 1)),
            _mm_cmpgt_epi8(splat(hi + 1), v),
        )
    }

    /// A bit per byte that may not be in a header value: controls but HTAB, and DEL.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn value_stops(v: __m128i) -> u32 {
        let ctl = _mm_andnot_si128(_mm_cmpeq_epi8(v, splat(b'\t')), at_most(v, 0x1f));
        let del = _mm_cmpeq_epi8(v, splat(0x7f));
        _mm_movemask_epi8(_mm_or_si128(ctl, del)) as u32
    }

    /// A bit per byte that may not be in a path, query or fragment: controls,
    /// SP, DEL, non-ASCII, `#` and `?`.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn url_stops(v: __m128i) -> u32 {
        // Signed: 0x21..=0x7f are greater than 0x20; 0x80..=0xff are negative.
        let visible = _mm_cmpgt_epi8(v, splat(0x20));
        let bad = _mm_or_si128(
            _mm_cmpeq_epi8(v, splat(0x7f)),
            _mm_or_si128(
                _mm_cmpeq_epi8(v, splat(b'#')),
                _mm_cmpeq_epi8(v, splat(b'?')),
            ),
        );
        (!_mm_movemask_epi8(_mm_andnot_si128(bad, visible)) & 0xffff) as u32
    }

    /// A bit per byte that is not tchar: controls, SP, DEL, non-ASCII and the
    /// separators `"` `(` `)` `,` `/` `:;<=>?@` `[\]` `{` `}`.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn name_stops(v: __m128i) -> u32 {
        let visible = _mm_cmpgt_epi8(v, splat(0x20));
        let eq = |b: u8| _mm_cmpeq_epi8(v, splat(b));
        // `(` and `)` differ only in the low bit.
        let paren = _mm_cmpeq_epi8(_mm_or_si128(v, splat(1)), splat(b')'));
        let singles = _mm_or_si128(
            _mm_or_si128(
                _mm_or_si128(eq(0x7f), eq(b'"')),
                _mm_or_si128(eq(b','), eq(b'/')),
            ),
            _mm_or_si128(_mm_or_si128(eq(b'{'), eq(b'}')), paren),
        );
        let ranges = _mm_or_si128(within(v, b':', b'@'), within(v, b'[', b']'));
        let bad = _mm_or_si128(singles, ranges);
        (!_mm_movemask_epi8(_mm_andnot_si128(bad, visible)) & 0xffff) as u32
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn splat32(b: u8) -> __m256i {
        _mm256_set1_epi8(b as i8)
    }

    /// `value_stops` of the 16 bytes of `chunk`.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn value_stops16(chunk: &[u8; 16]) -> u32 {
        value_stops(load16(chunk, 0))
    }

    /// `url_stops` of the 16 bytes of `chunk`.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn url_stops16(chunk: &[u8; 16]) -> u32 {
        url_stops(load16(chunk, 0))
    }

    /// A bit per byte of `chunk` that is not an ASCII letter, digit or `-`
    /// (a subset of tchar: what nearly every header name is made of).
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn common_name_stops(chunk: &[u8; 16]) -> u32 {
        let v = load16(chunk, 0);
        // Unsigned ranges: `x - lo <= hi - lo` (wrapping) as `min(d, n) == d`.
        let in_range = |x: __m128i, lo: u8, hi: u8| {
            let d = _mm_sub_epi8(x, splat(lo));
            _mm_cmpeq_epi8(_mm_min_epu8(d, splat(hi - lo)), d)
        };
        // Setting bit 5 folds `A-Z` onto `a-z` and moves no other byte there.
        let letter = in_range(_mm_or_si128(v, splat(0x20)), b'a', b'z');
        let digit = in_range(v, b'0', b'9');
        let dash = _mm_cmpeq_epi8(v, splat(b'-'));
        let common = _mm_or_si128(_mm_or_si128(letter, digit), dash);
        !(_mm_movemask_epi8(common) as u32) & 0xffff
    }

    /// The common-name and value stops of a 64-byte block, 16 bytes a step.
    /// Not inlined: where it is, its constants are hoisted into registers
    /// that every call on the AVX2 path then reloads.
    #[inline(never)]
    #[target_feature(enable = "sse2")]
    pub(super) fn line_masks_sse2(block: &[u8; 64]) -> (u64, u64) {
        let (mut name, mut value) = (0u64, 0u64);
        for i in 0..4 {
            let chunk: &[u8; 16] = block[i * 16..][..16].try_into().unwrap();
            name |= (common_name_stops(chunk) as u64) << (i * 16);
            value |= (value_stops(load16(chunk, 0)) as u64) << (i * 16);
        }
        (name, value)
    }

    /// The common-name and value stops of a 64-byte block, 32 bytes a step,
    /// both from one nibble lookup: each byte's low and high nibble pick a
    /// bit set from a table, and the two sets' intersection says which of
    /// the rectangles (high nibbles x low nibbles) below holds the byte.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn line_masks_avx2(block: &[u8; 64]) -> (u64, u64) {
        // Value stops: 0x00..=0x1f but 0x09 (bits 0, 1) and 0x7f (bit 2).
        // Common name bytes: 0x41..=0x4f and 0x61..=0x6f (bit 3),
        // 0x50..=0x5a and 0x70..=0x7a (bit 4), digits (bit 5), `-` (bit 6).
        const BY_LOW: [u8; 16] = {
            let mut t = [0u8; 16];
            let mut lo = 0;
            while lo < 16 {
                t[lo] = (lo != 9) as u8
                    | 1 << 1
                    | ((lo == 0xf) as u8) << 2
                    | ((lo >= 1) as u8) << 3
                    | ((lo <= 0xa) as u8) << 4
                    | ((lo <= 9) as u8) << 5
                    | ((lo == 0xd) as u8) << 6;
                lo += 1;
            }
            t
        };
        const BY_HIGH: [u8; 16] = [
            1,
            1 << 1,
            1 << 6,
            1 << 5,
            1 << 3,
            1 << 4,
            1 << 3,
            1 << 2 | 1 << 4,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ];
        let table = |t: &[u8; 16]| {
            // SAFETY: `t` is 16 readable bytes; `loadu` has no alignment requirement.
            _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(t.as_ptr().cast()) })
        };
        let (by_low, by_high) = (table(&BY_LOW), table(&BY_HIGH));
        let nibble = splat32(0x0f);
        let (mut name, mut value) = (0u64, 0u64);
        for i in 0..2 {
            let chunk: &[u8; 32] = block[i * 32..][..32].try_into().unwrap();
            // SAFETY: `chunk` is 32 readable bytes; `loadu` has no alignment requirement.
            let v = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) };
            let low = _mm256_shuffle_epi8(by_low, _mm256_and_si256(v, nibble));
            let high =
                _mm256_shuffle_epi8(by_high, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble));
            let classes = _mm256_and_si256(low, high);
            let zero = _mm256_setzero_si256();
            let not_name = _mm256_cmpeq_epi8(_mm256_and_si256(classes, splat32(0x78)), zero);
            let not_stop = _mm256_cmpeq_epi8(_mm256_and_si256(classes, splat32(0x07)), zero);
            name |= (_mm256_movemask_epi8(not_name) as u32 as u64) << (i * 32);
            value |= (!(_mm256_movemask_epi8(not_stop) as u32) as u64) << (i * 32);
        }
        (name, value)
    }

    /// `value_stops` for 32 bytes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn value_stops32(v: __m256i) -> u32 {
        let ctl = _mm256_cmpeq_epi8(_mm256_min_epu8(v, splat32(0x1f)), v);
        let ctl = _mm256_andnot_si256(_mm256_cmpeq_epi8(v, splat32(b'\t')), ctl);
        let del = _mm256_cmpeq_epi8(v, splat32(0x7f));
        _mm256_movemask_epi8(_mm256_or_si256(ctl, del)) as u32
    }

    /// `url_stops` for 32 bytes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn url_stops32(v: __m256i) -> u32 {
        let visible = _mm256_cmpgt_epi8(v, splat32(0x20));
        let bad = _mm256_or_si256(
            _mm256_cmpeq_epi8(v, splat32(0x7f)),
            _mm256_or_si256(
                _mm256_cmpeq_epi8(v, splat32(b'#')),
                _mm256_cmpeq_epi8(v, splat32(b'?')),
            ),
        );
        !(_mm256_movemask_epi8(_mm256_andnot_si256(bad, visible)) as u32)
    }

    /// The AVX2 loop: 32 bytes a step while they are there. Returns the stop
    /// found, or where fewer than 32 bytes are left.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn skip32(data: &[u8], mut p: usize, stops: impl Fn(__m256i) -> u32) -> Result<usize, usize> {
        while p + 32 <= data.len() {
            let chunk: &[u8; 32] = data[p..p + 32].try_into().unwrap();
            // SAFETY: `chunk` is 32 readable bytes; `loadu` has no alignment requirement.
            let v = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) };
            let m = stops(v);
            if m != 0 {
                return Ok(p + m.trailing_zeros() as usize);
            }
            p += 32;
        }
        Err(p)
    }

    /// Header values 32 bytes a step.
    #[target_feature(enable = "avx2")]
    fn value32(data: &[u8], p: usize) -> Result<usize, usize> {
        skip32(data, p, |v| value_stops32(v))
    }

    /// Request-targets 32 bytes a step.
    #[target_feature(enable = "avx2")]
    fn url32(data: &[u8], p: usize) -> Result<usize, usize> {
        skip32(data, p, |v| url_stops32(v))
    }

    /// Skip header-value bytes.
    ///
    /// # Safety
    /// `avx2` only if the CPU has AVX2.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn value(data: &[u8], p: usize, avx2: bool) -> usize {
        skip(
            data,
            p,
            |v| value_stops(v),
            |d, p| match avx2 {
                // SAFETY: the caller vouches for AVX2.
                true => unsafe { value32(d, p) },
                false => Err(p),
            },
        )
    }

    /// Skip request-target bytes.
    ///
    /// # Safety
    /// `avx2` only if the CPU has AVX2.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn url(data: &[u8], p: usize, avx2: bool) -> usize {
        skip(
            data,
            p,
            |v| url_stops(v),
            |d, p| match avx2 {
                // SAFETY: the caller vouches for AVX2.
                true => unsafe { url32(d, p) },
                false => Err(p),
            },
        )
    }

    /// Skip tchar bytes (names are short: SSE2 only).
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn name(data: &[u8], p: usize) -> usize {
        skip(data, p, |v| name_stops(v), |_, p| Err(p))
    }

    /// First byte from `p` whose bit `stops` sets, or `data.len()`. Sixteen
    /// bytes a step with SSE2; a run that goes past the first 16 bytes, with
    /// 32 more to read, is handed to `long` (AVX2, or `Err(p)` for none).
    /// The last partial block is read as the 16 bytes ending at `data.len()`,
    /// with the bits before `p` shifted out.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn skip(
        data: &[u8],
        mut p: usize,
        stops: impl Fn(__m128i) -> u32,
        long: impl Fn(&[u8], usize) -> Result<usize, usize>,
    ) -> usize {
        let len = data.len();
        if p + 16 <= len {
            let m = stops(load16(data, p));
            if m != 0 {
                return p + m.trailing_zeros() as usize;
            }
            p += 16;
            if p + 32 <= len {
                match long(data, p) {
                    Ok(stop) => return stop,
                    Err(rest) => p = rest,
                }
            }
            while p + 16 <= len {
                let m = stops(load16(data, p));
                if m != 0 {
                    return p + m.trailing_zeros() as usize;
                }
                p += 16;
            }
            if p == len {
                return len;
            }
        } else if len < 16 || p >= len {
            return short(data, p, stops);
        }
        let base = len - 16;
        let m = stops(load16(data, base)) >> (p - base);
        if m != 0 {
            p + m.trailing_zeros() as usize
        } else {
            len
        }
    }

    /// The whole input is under 16 bytes: scan a copy padded with NUL, which
    /// is in no class, so it stops every scan.
    #[cold]
    #[target_feature(enable = "sse2")]
    fn short(data: &[u8], p: usize, stops: impl Fn(__m128i) -> u32) -> usize {
        let rest = &data[p.min(data.len())..];
        let mut block = [0u8; 16];
        block[..rest.len()].copy_from_slice(rest);
        let m = stops(load16(&block, 0));
        p + (m.trailing_zeros() as usize).min(rest.len())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tables::{is, TOKEN, URL, VALUE};
    use super::*;

    fn levels() -> Vec<Level> {
        [Scan::Swar, Scan::Sse2, Scan::Avx2]
            .into_iter()
            .map(Level::resolve)
            .collect()
    }

    /// Every scan on every level agrees with the byte tables, for every byte
    /// at every position, from every start, in inputs short and long.
    #[test]
    fn scans_match_tables() {
        for level in levels() {
            for len in [1usize, 7, 15, 16, 17, 31, 33, 47, 64, 100] {
                for at in 0..len {
                    for c in 0..=255u8 {
                        let mut buf = vec![b'a'; len];
                        buf[at] = c;
                        for start in [0, 1.min(len), at.saturating_sub(1), at] {
                            let expect = |class| if is(c, class) || start > at { len } else { at };
                            let l = level.scan();
                            assert_eq!(
                                level.skip_name(&buf, start),
                                expect(TOKEN),
                                "{l:?} name {c:#x} at {at} from {start} in {len}"
                            );
                            assert_eq!(
                                level.skip_value(&buf, start),
                                expect(VALUE),
                                "{l:?} value {c:#x} at {at} from {start} in {len}"
                            );
                            assert_eq!(
                                level.skip_url(&buf, start),
                                expect(URL),
                                "{l:?} url {c:#x} at {at} from {start} in {len}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn empty_and_end() {
        for level in levels() {
            assert_eq!(level.skip_value(b"", 0), 0);
            assert_eq!(level.skip_value(b"abc", 3), 3);
            let long = [b'x'; 40];
            assert_eq!(level.skip_url(&long, 40), 40);
            assert_eq!(level.skip_name(&long, 39), 40);
        }
    }

    /// The line masks on every vector level agree with the byte tables for
    /// every byte at every position of the block, from every start, at the
    /// start of the input and where the block is its last 64 bytes.
    #[test]
    fn line_masks_match_tables() {
        let common = |c: u8| c.is_ascii_alphanumeric() || c == b'-';
        for level in levels() {
            let l = level.scan();
            for len in [64usize, 80] {
                for at in 0..len {
                    for c in 0..=255u8 {
                        let mut buf = vec![b'a'; len];
                        buf[at] = c;
                        for p in [0, at.saturating_sub(5), at, len - 1] {
                            let Some(m) = level.line_masks(&buf, p) else {
                                assert_eq!(l, Scan::Swar, "{l:?} gave no masks");
                                continue;
                            };
                            assert_eq!(m.len, 64.min(len - p), "{l:?} len from {p} in {len}");
                            let bit = |mask: u64, i: usize| mask >> i & 1 == 1;
                            for i in 0..m.len {
                                let b = buf[p + i];
                                let what = format!("{l:?} {b:#x} at {} from {p} in {len}", p + i);
                                assert_eq!(bit(m.name, i), !common(b), "name {what}");
                                assert_eq!(bit(m.value, i), !is(b, VALUE), "value {what}");
                            }
                        }
                    }
                }
            }
        }
    }
}
