//! Bounds-checked little-endian reading and writing of ABI buffers. Every read returns `None`
//! past the end, so malformed input becomes an error code instead of a trap.

pub struct Reader<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Reader { b, p: 0 }
    }
    pub fn remaining(&self) -> usize {
        self.b.len() - self.p
    }
    pub fn at_end(&self) -> bool {
        self.p == self.b.len()
    }
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.remaining() {
            return None;
        }
        let s = &self.b[self.p..self.p + n];
        self.p += n;
        Some(s)
    }
    fn arr<const N: usize>(&mut self) -> Option<[u8; N]> {
        let s = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Some(a)
    }
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.arr::<1>()?[0])
    }
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.arr()?))
    }
    pub fn i32(&mut self) -> Option<i32> {
        Some(i32::from_le_bytes(self.arr()?))
    }
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.arr()?))
    }
    pub fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.arr()?))
    }
    pub fn f64(&mut self) -> Option<f64> {
        Some(f64::from_le_bytes(self.arr()?))
    }
    /// A count of items each at least `min_size` bytes long: rejects counts the remaining input
    /// cannot hold, so no allocation is ever sized by an unchecked number.
    pub fn count(&mut self, min_size: usize) -> Option<usize> {
        let n = self.u32()? as usize;
        if n.checked_mul(min_size.max(1))? > self.remaining() {
            return None;
        }
        Some(n)
    }
    /// A u32-length-prefixed byte string.
    pub fn blob(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }
    /// An optional blob: a u32 length where 0xFFFF_FFFF means null.
    pub fn opt_blob(&mut self) -> Option<Option<&'a [u8]>> {
        let n = self.u32()?;
        if n == crate::abi::NULL_LEN {
            return Some(None);
        }
        Some(Some(self.bytes(n as usize)?))
    }
    /// A time in epoch ms: finite, |t| <= 8.64e15, floored (as validateTime does).
    pub fn time(&mut self) -> Option<i64> {
        to_time(self.f64()?)
    }
    /// A job id: an integer in 1..=2^53.
    pub fn id(&mut self) -> Option<u64> {
        to_id(self.f64()?)
    }
    /// A non-negative integer count (ms durations, limits); large values saturate.
    pub fn count_f(&mut self) -> Option<u64> {
        let x = self.f64()?;
        if !(x >= 0.0) || x != x.floor() {
            return None;
        }
        Some(if x >= 9.007_199_254_740_991e15 {
            9_007_199_254_740_991
        } else {
            x as u64
        })
    }
}

pub fn to_time(x: f64) -> Option<i64> {
    if !x.is_finite() || x.abs() > 8.64e15 {
        return None;
    }
    Some(x.floor() as i64)
}

pub fn to_id(x: f64) -> Option<u64> {
    if !(x >= 1.0) || x > 9_007_199_254_740_992.0 || x != x.floor() {
        return None;
    }
    Some(x as u64)
}

pub struct Writer<'a> {
    pub v: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    pub fn u8(&mut self, x: u8) {
        self.v.push(x);
    }
    pub fn u32(&mut self, x: u32) {
        self.v.extend_from_slice(&x.to_le_bytes());
    }
    pub fn i32(&mut self, x: i32) {
        self.v.extend_from_slice(&x.to_le_bytes());
    }
    pub fn u64(&mut self, x: u64) {
        self.v.extend_from_slice(&x.to_le_bytes());
    }
    pub fn i64(&mut self, x: i64) {
        self.v.extend_from_slice(&x.to_le_bytes());
    }
    pub fn f64(&mut self, x: f64) {
        self.v.extend_from_slice(&x.to_le_bytes());
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.v.extend_from_slice(b);
    }
    pub fn blob(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.v.extend_from_slice(b);
    }
    pub fn opt_blob(&mut self, b: Option<&[u8]>) {
        match b {
            None => self.u32(crate::abi::NULL_LEN),
            Some(b) => self.blob(b),
        }
    }
}
