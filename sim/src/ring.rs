//! A fixed-capacity ring of `Copy` values (no allocation).

#[derive(Clone, Debug)]
pub(crate) struct Ring<T: Copy + Default, const N: usize> {
    buf: [T; N],
    /// Index where the next value goes.
    head: usize,
    len: usize,
}

impl<T: Copy + Default, const N: usize> Ring<T, N> {
    pub(crate) fn new() -> Self {
        Self {
            buf: [T::default(); N],
            head: 0,
            len: 0,
        }
    }

    /// Appends `v`, overwriting the oldest value when full.
    pub(crate) fn push(&mut self, v: T) {
        self.buf[self.head] = v;
        self.head = (self.head + 1) % N;
        self.len = (self.len + 1).min(N);
    }

    /// Number of values held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Newest first.
    pub(crate) fn iter_newest_first(&self) -> impl Iterator<Item = T> + '_ {
        (0..self.len).map(move |i| self.buf[(self.head + N - 1 - i) % N])
    }

    /// Oldest first.
    pub(crate) fn iter_oldest_first(&self) -> impl Iterator<Item = T> + '_ {
        (0..self.len).map(move |i| self.buf[(self.head + N - self.len + i) % N])
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;

    #[test]
    fn wraps() {
        let mut r: Ring<u32, 3> = Ring::new();
        for v in 1..=5 {
            r.push(v);
        }
        assert_eq!(r.iter_newest_first().collect::<Vec<_>>(), [5, 4, 3]);
        assert_eq!(r.iter_oldest_first().collect::<Vec<_>>(), [3, 4, 5]);
    }
}
