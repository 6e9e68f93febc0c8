//! Weighted sampling over a growing set of members whose weights change: a Fenwick tree of
//! integer weights, so that sums stay exact (no floating drift) and draws are reproducible.

use rand::Rng;

/// Integer weights by slot; `sample` picks a slot with probability weight / total.
#[derive(Debug, Default, Clone)]
pub(crate) struct WeightedSet {
    /// Plain weights, kept to rebuild the tree when it grows and to read a slot back.
    weights: Vec<u64>,
    /// Fenwick tree over `weights`, 1-based, length = capacity + 1.
    tree: Vec<u64>,
    total: u64,
}

impl WeightedSet {
    pub(crate) fn with_capacity(capacity: usize) -> WeightedSet {
        let cap = capacity.max(16).next_power_of_two();
        WeightedSet {
            weights: Vec::with_capacity(cap),
            tree: vec![0; cap + 1],
            total: 0,
        }
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    pub(crate) fn get(&self, slot: usize) -> u64 {
        self.weights.get(slot).copied().unwrap_or(0)
    }

    /// Sets a slot's weight, growing the set as needed.
    pub(crate) fn set(&mut self, slot: usize, weight: u64) {
        if slot >= self.weights.len() {
            self.weights.resize(slot + 1, 0);
            if slot + 1 >= self.tree.len() {
                self.grow(slot + 1);
            }
        }
        let old = self.weights[slot];
        if old == weight {
            return;
        }
        self.weights[slot] = weight;
        self.total = self.total - old + weight;
        let mut i = slot + 1;
        let n = self.tree.len();
        if weight > old {
            let delta = weight - old;
            while i < n {
                self.tree[i] += delta;
                i += i & i.wrapping_neg();
            }
        } else {
            let delta = old - weight;
            while i < n {
                self.tree[i] -= delta;
                i += i & i.wrapping_neg();
            }
        }
    }

    fn grow(&mut self, needed: usize) {
        let cap = (needed + 1).next_power_of_two();
        self.tree = vec![0; cap + 1];
        // Linear-time Fenwick build.
        for (slot, &w) in self.weights.iter().enumerate() {
            self.tree[slot + 1] += w;
            let parent = (slot + 1) + ((slot + 1) & (slot + 1).wrapping_neg());
            if parent <= cap {
                let v = self.tree[slot + 1];
                self.tree[parent] += v;
            }
        }
    }

    /// A slot drawn by weight, or `None` when every weight is zero.
    pub(crate) fn sample<R: Rng>(&self, rng: &mut R) -> Option<usize> {
        if self.total == 0 {
            return None;
        }
        let mut target = rng.random_range(0..self.total);
        let mut pos = 0usize;
        let mut step = (self.tree.len() - 1).next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next < self.tree.len() && self.tree[next] <= target {
                target -= self.tree[next];
                pos = next;
            }
            step >>= 1;
        }
        // `pos` is the count of slots whose prefix sum is <= target: the drawn slot is `pos`.
        Some(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn draws_follow_weights_and_skip_zero_slots() {
        let mut set = WeightedSet::with_capacity(2);
        set.set(0, 1);
        set.set(3, 3);
        set.set(40, 0);
        set.set(100, 6);
        set.set(100, 6);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0u32; 101];
        for _ in 0..10_000 {
            counts[set.sample(&mut rng).unwrap()] += 1;
        }
        assert_eq!(counts.iter().sum::<u32>(), 10_000);
        assert_eq!(counts[40], 0);
        assert!((800..1200).contains(&counts[0]), "{}", counts[0]);
        assert!((2700..3300).contains(&counts[3]), "{}", counts[3]);
        set.set(100, 0);
        set.set(0, 0);
        set.set(3, 0);
        assert_eq!(set.total(), 0);
        assert_eq!(set.sample(&mut rng), None);
    }
}
