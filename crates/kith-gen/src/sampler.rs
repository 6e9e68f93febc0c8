//! Weighted sampling over a growing set of members whose weights change. Slots are grouped in
//! blocks of 64: a Fenwick tree over block sums (small enough to stay in cache) finds the
//! block, a scan finds the slot. Weights are integers, so sums stay exact and draws are
//! reproducible.

use rand::Rng;

const BLOCK: usize = 64;

/// Integer weights by slot; `sample` picks a slot with probability weight / total.
#[derive(Debug, Default, Clone)]
pub(crate) struct WeightedSet {
    weights: Vec<u64>,
    /// Fenwick tree over block sums, 1-based, length = block capacity + 1 (a power of two + 1).
    tree: Vec<u64>,
    blocks: Vec<u64>,
    total: u64,
}

impl WeightedSet {
    pub(crate) fn with_capacity(capacity: usize) -> WeightedSet {
        let cap = capacity.div_ceil(BLOCK).max(1).next_power_of_two();
        WeightedSet {
            weights: Vec::with_capacity(cap * BLOCK),
            tree: vec![0; cap + 1],
            blocks: vec![0; cap],
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
            if slot / BLOCK >= self.blocks.len() {
                self.grow(slot / BLOCK + 1);
            }
        }
        let old = self.weights[slot];
        if old == weight {
            return;
        }
        self.weights[slot] = weight;
        self.total = self.total - old + weight;
        let block = slot / BLOCK;
        self.blocks[block] = self.blocks[block] - old + weight;
        let mut i = block + 1;
        let n = self.tree.len();
        while i < n {
            self.tree[i] = self.tree[i] - old + weight;
            i += i & i.wrapping_neg();
        }
    }

    fn grow(&mut self, needed_blocks: usize) {
        let cap = needed_blocks.next_power_of_two();
        self.blocks.resize(cap, 0);
        self.tree = vec![0; cap + 1];
        // Linear-time Fenwick build.
        for b in 1..=cap {
            self.tree[b] += self.blocks[b - 1];
            let parent = b + (b & b.wrapping_neg());
            if parent <= cap {
                let v = self.tree[b];
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
        let mut step = self.tree.len() - 1;
        while step > 0 {
            let next = pos + step;
            if next < self.tree.len() && self.tree[next] <= target {
                target -= self.tree[next];
                pos = next;
            }
            step >>= 1;
        }
        // `pos` blocks hold weight <= target: the slot is in block `pos`.
        let first = pos * BLOCK;
        let last = (first + BLOCK).min(self.weights.len());
        for (slot, &w) in self.weights[first..last].iter().enumerate() {
            if target < w {
                return Some(first + slot);
            }
            target -= w;
        }
        // Unreachable while the sums are exact; the last non-zero slot is the honest answer.
        self.weights.iter().rposition(|&w| w > 0)
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
