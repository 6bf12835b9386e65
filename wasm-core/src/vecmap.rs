//! A sorted Vec used as a map. The core's ordered maps are small (priority levels, schedules)
//! or appended in key order (statistics seconds, log error seqs), where a Vec is as fast as a
//! B-tree and far smaller in code: four B-tree instantiations cost ~40 KB of wasm.

pub struct VecMap<K, V> {
    pub v: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap { v: Vec::new() }
    }
}

impl<K: Ord, V> VecMap<K, V> {
    #[inline]
    fn find(&self, k: &K) -> Result<usize, usize> {
        // Appending past the last key is the common case.
        match self.v.last() {
            None => return Err(0),
            Some((last, _)) if *last < *k => return Err(self.v.len()),
            _ => {}
        }
        self.v.binary_search_by(|(x, _)| x.cmp(k))
    }
    pub fn len(&self) -> usize {
        self.v.len()
    }
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }
    pub fn get(&self, k: &K) -> Option<&V> {
        self.find(k).ok().map(|i| &self.v[i].1)
    }
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        match self.find(k) {
            Ok(i) => Some(&mut self.v[i].1),
            Err(_) => None,
        }
    }
    pub fn insert(&mut self, k: K, val: V) -> Option<V> {
        match self.find(&k) {
            Ok(i) => Some(std::mem::replace(&mut self.v[i].1, val)),
            Err(i) => {
                self.v.insert(i, (k, val));
                None
            }
        }
    }
    pub fn remove(&mut self, k: &K) -> Option<V> {
        match self.find(k) {
            Ok(i) => Some(self.v.remove(i).1),
            Err(_) => None,
        }
    }
    pub fn entry_or(&mut self, k: K, f: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&k) {
            Ok(i) => i,
            Err(i) => {
                self.v.insert(i, (k, f()));
                i
            }
        };
        &mut self.v[i].1
    }
    /// Index of the first key >= k.
    pub fn lower_bound(&self, k: &K) -> usize {
        self.v.partition_point(|(x, _)| *x < *k)
    }
    /// Drop every key < k.
    pub fn drop_before(&mut self, k: &K) {
        let n = self.lower_bound(k);
        self.v.drain(..n);
        if self.v.capacity() > 2 * self.v.len() + 64 {
            self.v.shrink_to_fit();
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.v.iter().map(|(k, v)| (k, v))
    }
}
