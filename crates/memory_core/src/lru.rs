//! A small least-recently-used map, for what a backend keeps between calls:
//! recent query embeddings (an agent often asks the same question again
//! within a few turns) and prepared statements.

use std::collections::HashMap;
use std::hash::Hash;

pub struct Lru<K, V> {
    capacity: usize,
    tick: u64,
    map: HashMap<K, (V, u64)>,
}

impl<K: Eq + Hash + Clone, V: Clone> Lru<K, V> {
    pub fn new(capacity: usize) -> Lru<K, V> {
        Lru {
            capacity,
            tick: 0,
            map: HashMap::new(),
        }
    }

    /// The value of `key`, marking it recently used.
    pub fn get(&mut self, key: &K) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(key).map(|(v, used)| {
            *used = tick;
            v.clone()
        })
    }

    /// Keep `value` under `key`, dropping the least recently used entry when
    /// full. A capacity of 0 keeps nothing.
    pub fn put(&mut self, key: K, value: V) {
        if self.capacity == 0 {
            self.map.clear();
            return;
        }
        self.tick += 1;
        if !self.map.contains_key(&key) {
            while self.map.len() >= self.capacity {
                let oldest = self
                    .map
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => self.map.remove(&k),
                    None => break,
                };
            }
        }
        self.map.insert(key, (value, self.tick));
    }

    /// Keep at most `capacity` entries from now on.
    pub fn resize(&mut self, capacity: usize) {
        self.capacity = capacity;
        if self.map.len() > capacity {
            let mut by_use: Vec<(K, u64)> =
                self.map.iter().map(|(k, (_, u))| (k.clone(), *u)).collect();
            by_use.sort_by_key(|(_, u)| std::cmp::Reverse(*u));
            for (k, _) in by_use.into_iter().skip(capacity) {
                self.map.remove(&k);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_recently_used() {
        let mut c = Lru::new(2);
        c.put("a", 1);
        c.put("b", 2);
        assert_eq!(c.get(&"a"), Some(1)); // a is now newer than b
        c.put("c", 3);
        assert_eq!(c.get(&"b"), None, "least recently used goes first");
        assert_eq!(c.get(&"a"), Some(1));
        assert_eq!(c.get(&"c"), Some(3));
        c.put("c", 4);
        assert_eq!(
            (c.len(), c.get(&"c")),
            (2, Some(4)),
            "replacing keeps the size"
        );
    }

    #[test]
    fn resizing_and_zero_capacity() {
        let mut c = Lru::new(3);
        for (i, k) in ["a", "b", "c"].into_iter().enumerate() {
            c.put(k, i);
        }
        c.get(&"a");
        c.resize(1);
        assert_eq!((c.len(), c.get(&"a")), (1, Some(0)));
        c.resize(0);
        c.put("d", 9);
        assert!(c.is_empty());
    }
}
