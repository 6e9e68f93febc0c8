//! The interaction network (SPEC §4.7), shared by the `network` metric and the health index:
//! who is connected to whom among the report's active members, built from replies, mentions
//! and co-participation in threads with exponential decay, then measured (components, k-cores,
//! betweenness). Graph algorithms work on a compact CSR adjacency of dense `u32` node ids with
//! no allocation per edge or per visit.

use kith_model::Kind;
use serde::Serialize;

use crate::scope::{Scope, is_participation};
use crate::snapshot::NONE;

/// Network parameters (`Params::network`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkParams {
    /// An interaction's weight halves every `half_life_days` × 24 h before as-of (default 90).
    /// Zero, negative or not finite: no decay.
    pub half_life_days: f64,
    /// Two members are connected when the decayed weight between them reaches this (default
    /// 0.25: one mention within two half-lives, one co-participation within one).
    pub min_weight: f64,
    /// The weight of writing in the same thread (default 0.5); a reply or a mention weighs 1.
    pub coparticipation_weight: f64,
    /// Threads with more distinct writers than this add no co-participation (default 50): an
    /// announcement answered by hundreds does not make them acquainted.
    pub max_thread_participants: u32,
    /// Betweenness is exact (Brandes from every member) up to this many members, and estimated
    /// from this many sampled sources above it (default 32).
    pub betweenness_sources: u32,
    /// How many connectors to list (default 20).
    pub connectors: u32,
}

impl Default for NetworkParams {
    fn default() -> Self {
        NetworkParams {
            half_life_days: 90.0,
            min_weight: 0.25,
            coparticipation_weight: 0.5,
            max_thread_participants: 50,
            betweenness_sources: 32,
            connectors: 20,
        }
    }
}

/// The confidence the betweenness error bound is given at: it holds for every member at once
/// with probability at least 1 − `BOUND_DELTA`.
pub const BOUND_DELTA: f64 = 0.05;

// ------------------------------------------------------------------------------------------
// Graph algorithms on a CSR adjacency.

/// An undirected graph: the neighbours of node `v` are `adj[start[v]..start[v+1]]`, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    pub start: Vec<u32>,
    pub adj: Vec<u32>,
}

impl Graph {
    /// A graph of `n` nodes from undirected edges (each given once, no self-loops, no
    /// duplicates).
    pub fn from_edges(n: usize, edges: &[(u32, u32)]) -> Graph {
        let mut degree = vec![0u32; n + 1];
        for &(a, b) in edges {
            degree[a as usize] += 1;
            degree[b as usize] += 1;
        }
        let mut start = vec![0u32; n + 1];
        let mut total = 0u32;
        for v in 0..n {
            start[v] = total;
            total += degree[v];
        }
        start[n] = total;
        let mut fill = start.clone();
        let mut adj = vec![0u32; total as usize];
        for &(a, b) in edges {
            adj[fill[a as usize] as usize] = b;
            fill[a as usize] += 1;
            adj[fill[b as usize] as usize] = a;
            fill[b as usize] += 1;
        }
        for v in 0..n {
            adj[start[v] as usize..start[v + 1] as usize].sort_unstable();
        }
        Graph { start, adj }
    }

    pub fn nodes(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    pub fn edges(&self) -> usize {
        self.adj.len() / 2
    }

    #[inline]
    pub fn neighbours(&self, v: usize) -> &[u32] {
        &self.adj[self.start[v] as usize..self.start[v + 1] as usize]
    }

    pub fn degree(&self, v: usize) -> usize {
        (self.start[v + 1] - self.start[v]) as usize
    }
}

/// Core numbers (the largest k such that the node is in the k-core), by the bucket algorithm
/// of Batagelj and Zaversnik (2003), O(n + m).
pub fn core_numbers(g: &Graph) -> Vec<u32> {
    let n = g.nodes();
    let mut deg: Vec<u32> = (0..n).map(|v| g.degree(v) as u32).collect();
    let max = deg.iter().copied().max().unwrap_or(0) as usize;
    let mut bin = vec![0u32; max + 2];
    for &d in &deg {
        bin[d as usize] += 1;
    }
    let mut first = 0u32;
    for b in bin.iter_mut() {
        let count = *b;
        *b = first;
        first += count;
    }
    let mut pos = vec![0u32; n];
    let mut vert = vec![0u32; n];
    for v in 0..n {
        let d = deg[v] as usize;
        pos[v] = bin[d];
        vert[bin[d] as usize] = v as u32;
        bin[d] += 1;
    }
    for d in (1..=max).rev() {
        bin[d] = bin[d - 1];
    }
    bin[0] = 0;
    for i in 0..n {
        let v = vert[i] as usize;
        for &u in g.neighbours(v) {
            let u = u as usize;
            if deg[u] > deg[v] {
                let du = deg[u] as usize;
                let pu = pos[u];
                let pw = bin[du];
                let w = vert[pw as usize] as usize;
                if u != w {
                    pos[u] = pw;
                    vert[pu as usize] = w as u32;
                    pos[w] = pu;
                    vert[pw as usize] = u as u32;
                }
                bin[du] += 1;
                deg[u] -= 1;
            }
        }
    }
    deg
}

/// Connected components: each node's component, numbered from 0 in order of first node.
pub fn components(g: &Graph) -> Vec<u32> {
    let n = g.nodes();
    let mut comp = vec![NONE; n];
    let mut stack = Vec::new();
    let mut next = 0u32;
    for s in 0..n {
        if comp[s] != NONE {
            continue;
        }
        comp[s] = next;
        stack.push(s as u32);
        while let Some(v) = stack.pop() {
            for &w in g.neighbours(v as usize) {
                if comp[w as usize] == NONE {
                    comp[w as usize] = next;
                    stack.push(w);
                }
            }
        }
        next += 1;
    }
    comp
}

/// Brandes (2001) dependency sums over the given sources on an unweighted graph:
/// `Σ_{s ∈ sources} δ_s(v)` with `δ_s(v) = Σ_{t ≠ s, v} σ_st(v) / σ_st`. Over every source this
/// is the betweenness of `v` counting ordered pairs (twice the unordered count). Sources are
/// processed in the order given, so the sums are the same on every run.
///
/// The breadth-first pass records each node's successors (its neighbours one level further, in
/// adjacency order) as it visits them, by their place in the visiting order: when `v` is
/// visited, every neighbour one level further has already been reached (by `v` or an earlier
/// node of `v`'s level). The dependency pass then reads those lists alone, in reverse visiting
/// order, instead of every neighbour of every node again (about half the edges), and its
/// per-node values are kept by place in the visiting order, where a node's successors sit
/// close together. The sums are taken in the same order as over the adjacency, so they are the
/// same to the last bit.
pub fn dependency_sums(g: &Graph, sources: &[u32]) -> Vec<f64> {
    /// A node's place in the visiting order and its number of shortest paths, 16 bytes: four
    /// nodes to a cache line.
    #[derive(Clone, Copy)]
    struct Visit {
        pos: u32,
        sigma: f64,
    }
    const UNSEEN: Visit = Visit { pos: 0, sigma: 0.0 };
    let n = g.nodes();
    let mut total = vec![0.0f64; n];
    let mut at = vec![UNSEEN; n];
    // Each node's distance from the source as a byte: 0 while unseen, else its distance
    // modulo 4, plus 1. The neighbours of a node at distance d that are already seen lie at
    // d − 1, d or d + 1 (breadth-first order), which the remainder tells apart; so the test
    // every edge makes reads a byte per node (a table that stays in the core's cache) and the
    // 16-byte states only for the next level's nodes.
    let mut level = vec![0u8; n];
    let mut order: Vec<u32> = Vec::with_capacity(n);
    // The successors of `order[i]` are `succ[succ_end[i - 1]..succ_end[i]]` (from 0 for i = 0),
    // as places in `order`.
    let mut succ: Vec<u32> = Vec::with_capacity(g.edges());
    let mut succ_end: Vec<u32> = Vec::with_capacity(n);
    // By place in `order`: the number of shortest paths and the dependency.
    let mut sigma: Vec<f64> = Vec::with_capacity(n);
    let mut delta: Vec<f64> = Vec::with_capacity(n);
    for &s in sources {
        let s = s as usize;
        order.clear();
        succ.clear();
        succ_end.clear();
        at[s] = Visit { pos: 0, sigma: 1.0 };
        level[s] = 1;
        order.push(s as u32);
        // The BFS queue is `order` itself: nodes are appended in visiting order.
        let mut head = 0;
        while head < order.len() {
            let v = order[head] as usize;
            head += 1;
            let sv = at[v].sigma;
            let next = (level[v] & 3) + 1;
            for &w in g.neighbours(v) {
                let w = w as usize;
                let lw = level[w];
                if lw == 0 {
                    level[w] = next;
                    at[w].pos = order.len() as u32;
                    order.push(w as u32);
                } else if lw != next {
                    continue;
                }
                let x = &mut at[w];
                x.sigma += sv;
                succ.push(x.pos);
            }
            succ_end.push(succ.len() as u32);
        }
        sigma.clear();
        sigma.extend(order.iter().map(|&v| at[v as usize].sigma));
        delta.clear();
        delta.resize(order.len(), 0.0);
        // Dependencies in reverse BFS order, from the recorded successors. `delta` holds, once
        // a node's dependency is known, (1 + dependency) / paths: what each predecessor
        // multiplies by its own number of paths (one read and no division per edge).
        for i in (0..order.len()).rev() {
            let from = if i == 0 { 0 } else { succ_end[i - 1] as usize };
            let mut d = 0.0;
            for &p in &succ[from..succ_end[i] as usize] {
                d += delta[p as usize];
            }
            let d = d * sigma[i];
            delta[i] = (1.0 + d) / sigma[i];
            if i != 0 {
                total[order[i] as usize] += d;
            }
        }
        for &v in &order {
            at[v as usize] = UNSEEN;
            level[v as usize] = 0;
        }
    }
    total
}

/// Sources per chunk of [`parallel_dependency_sums`]: chunks are fixed by the source list, not
/// by the number of threads, so the sums are the same on every machine.
const CHUNK: usize = 8;

/// [`dependency_sums`] over the sources, split into fixed chunks run on the available cores
/// (at most 4 threads), the chunks' sums added in chunk order.
pub fn parallel_dependency_sums(g: &Graph, sources: &[u32]) -> Vec<f64> {
    let chunks: Vec<&[u32]> = sources.chunks(CHUNK).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 4)
        .min(chunks.len());
    let parts: Vec<Vec<f64>> = if threads <= 1 {
        chunks.iter().map(|c| dependency_sums(g, c)).collect()
    } else {
        let mut parts: Vec<Option<Vec<f64>>> = vec![None; chunks.len()];
        std::thread::scope(|scope| {
            let mut slices: Vec<&mut [Option<Vec<f64>>]> = Vec::new();
            let per = chunks.len().div_ceil(threads);
            let mut rest: &mut [Option<Vec<f64>>] = &mut parts;
            while !rest.is_empty() {
                let (a, b) = rest.split_at_mut(per.min(rest.len()));
                slices.push(a);
                rest = b;
            }
            for (t, slice) in slices.into_iter().enumerate() {
                let chunks = &chunks;
                scope.spawn(move || {
                    for (i, out) in slice.iter_mut().enumerate() {
                        *out = Some(dependency_sums(g, chunks[t * per + i]));
                    }
                });
            }
        });
        parts.into_iter().flatten().collect()
    };
    let mut total = vec![0.0f64; g.nodes()];
    for part in parts {
        for (t, x) in total.iter_mut().zip(part) {
            *t += x;
        }
    }
    total
}

/// Normalised betweenness (0..=1: the share of ordered pairs of other nodes whose shortest
/// paths run through the node), exact from every node when there are at most `k` nodes,
/// else estimated from `k` sources sampled without replacement. `rank` gives each node's
/// position in a stable order (member ids) so that the sample does not depend on dense ids.
/// Returns the values, the number of sources and the error bound (0 when exact).
pub fn betweenness(g: &Graph, k: usize, rank: &[i64]) -> (Vec<f64>, usize, f64) {
    let n = g.nodes();
    if n < 3 {
        return (vec![0.0; n], n, 0.0);
    }
    let mut by_rank: Vec<u32> = (0..n as u32).collect();
    by_rank.sort_unstable_by_key(|&v| rank[v as usize]);
    let k = k.max(1);
    let (sources, exact) = if n <= k {
        (by_rank, true)
    } else {
        // A partial Fisher–Yates shuffle with a fixed seed: the same data, the same sample.
        let mut rng = SplitMix64(0x6b69_7468_6e65_7477);
        for i in 0..k {
            let j = i + (rng.next() % (n - i) as u64) as usize;
            by_rank.swap(i, j);
        }
        by_rank.truncate(k);
        (by_rank, false)
    };
    // Brandes on the graph renumbered in breadth-first order: neighbours get nearby numbers,
    // so the per-node state a BFS touches stays in cache.
    let (bfs, new_of) = renumbered(g);
    let new_sources: Vec<u32> = sources.iter().map(|&v| new_of[v as usize]).collect();
    let renumbered_sums = parallel_dependency_sums(&bfs, &new_sources);
    let sums: Vec<f64> = new_of
        .iter()
        .map(|&v| renumbered_sums[v as usize])
        .collect();
    let pairs = (n as f64 - 1.0) * (n as f64 - 2.0);
    let scale = if exact {
        1.0 / pairs
    } else {
        n as f64 / sources.len() as f64 / pairs
    };
    let values = sums.iter().map(|&x| x * scale).collect();
    let bound = if exact {
        0.0
    } else {
        error_bound(n, sources.len())
    };
    (values, sources.len(), bound)
}

/// `g` with its nodes renumbered in breadth-first order (each component from its node of
/// highest degree, components in order of their first node), and the new number of each old
/// node.
fn renumbered(g: &Graph) -> (Graph, Vec<u32>) {
    let n = g.nodes();
    let mut new_of = vec![NONE; n];
    let mut order: Vec<u32> = Vec::with_capacity(n);
    for s in 0..n {
        if new_of[s] != NONE {
            continue;
        }
        // The component of `s`, then a BFS of it from its busiest node.
        let first = order.len();
        new_of[s] = 0;
        order.push(s as u32);
        let mut head = first;
        while head < order.len() {
            let v = order[head] as usize;
            head += 1;
            for &w in g.neighbours(v) {
                if new_of[w as usize] == NONE {
                    new_of[w as usize] = 0;
                    order.push(w);
                }
            }
        }
        let component: Vec<u32> = order.drain(first..).collect();
        let root = component
            .iter()
            .copied()
            .max_by_key(|&v| (g.degree(v as usize), std::cmp::Reverse(v)))
            .unwrap_or(s as u32);
        for &v in &component {
            new_of[v as usize] = NONE;
        }
        new_of[root as usize] = order.len() as u32;
        order.push(root);
        let mut head = first;
        while head < order.len() {
            let v = order[head] as usize;
            head += 1;
            for &w in g.neighbours(v) {
                if new_of[w as usize] == NONE {
                    new_of[w as usize] = order.len() as u32;
                    order.push(w);
                }
            }
        }
    }
    let mut start = Vec::with_capacity(n + 1);
    let mut adj = Vec::with_capacity(g.adj.len());
    start.push(0u32);
    for &v in &order {
        let from = adj.len();
        adj.extend(g.neighbours(v as usize).iter().map(|&w| new_of[w as usize]));
        adj[from..].sort_unstable();
        start.push(adj.len() as u32);
    }
    (Graph { start, adj }, new_of)
}

/// The additive error bound of sampled betweenness: with `k` sources sampled from `n` nodes,
/// every node's normalised estimate is within this of its exact value with probability at
/// least 1 − [`BOUND_DELTA`]. Each sampled source contributes `δ_s(v) / (n − 2)` ∈ [0, 1];
/// Hoeffding's inequality (which also holds for sampling without replacement) bounds the
/// deviation of their mean by `sqrt(ln(2/δ') / 2k)`, a union bound over the n nodes sets
/// δ' = δ / n, and the estimator scales the mean by n / (n − 1).
pub fn error_bound(n: usize, k: usize) -> f64 {
    if n < 3 || k == 0 {
        return 0.0;
    }
    let n = n as f64;
    (n / (n - 1.0)) * ((2.0 * n / BOUND_DELTA).ln() / (2.0 * k as f64)).sqrt()
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny deterministic generator for sampling.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

// ------------------------------------------------------------------------------------------
// The network of a scope.

/// The report's interaction network among its active members.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// Nodes: the dense members active in the report range, ascending.
    pub nodes: Vec<u32>,
    /// Connections among them (decayed weight ≥ `min_weight`).
    pub graph: Graph,
    /// Parallel to `graph.adj`: the connection's total decayed weight, the part from the node
    /// to the neighbour (replies, mentions) and from the neighbour to the node.
    pub weight: Vec<f64>,
    pub out_weight: Vec<f64>,
    pub in_weight: Vec<f64>,
    pub core: Vec<u32>,
    pub component: Vec<u32>,
    pub betweenness: Vec<f64>,
    pub betweenness_sources: usize,
    pub betweenness_bound: f64,
    /// (helper, helped, responses) over the report's threads, dense members, sorted.
    pub helped: Vec<(u32, u32, u32)>,
}

impl Network {
    /// Directed connections (from replies and mentions alone) and those reciprocated.
    pub fn directed(&self, min_weight: f64) -> (i64, i64) {
        let mut directed = 0;
        let mut reciprocated = 0;
        for i in 0..self.graph.adj.len() {
            if self.out_weight[i] >= min_weight {
                directed += 1;
                if self.in_weight[i] >= min_weight {
                    reciprocated += 1;
                }
            }
        }
        (directed, reciprocated)
    }
}

/// The network of the scope, computed once.
pub fn network<'s>(s: &'s Scope<'_>) -> &'s Network {
    s.network.get_or_init(|| build(s))
}

/// The decay factor of an interaction at `ts` seen from `as_of`.
pub fn decay(np: &NetworkParams, as_of: i64, ts: i64) -> f64 {
    let h = np.half_life_days;
    if !(h.is_finite() && h > 0.0) {
        return 1.0;
    }
    ((ts - as_of) as f64 / (h * 86_400.0)).exp2()
}

/// The members active in the report range (a participation in `from ..= to`, up to as-of),
/// ascending, and the node of each member (`NONE` if none).
pub fn active_nodes(s: &Scope<'_>) -> (Vec<u32>, Vec<u32>) {
    let end = s.p.to_ts.min(s.p.as_of.saturating_add(1));
    let mut node_of = vec![NONE; s.members()];
    let mut nodes = Vec::new();
    for (m, node) in node_of.iter_mut().enumerate() {
        if s.is_anonymous(m) {
            continue;
        }
        let ts = s.participations(m).0;
        let i = ts.partition_point(|&t| t < s.p.from_ts);
        // Node ids keep two bits free for the interaction kind (`Raw`): 2^30 members at most.
        if i < ts.len() && ts[i] < end && nodes.len() < NODE as usize {
            *node = nodes.len() as u32;
            nodes.push(m as u32);
        }
    }
    (nodes, node_of)
}

/// One interaction between nodes `a < b`: `bk` is b with the kind in its top two bits
/// ([`AB`], [`BA`], [`CO`]), `w` its decayed weight. 16 bytes, written once per interaction.
#[derive(Clone, Copy)]
struct Raw {
    a: u32,
    bk: u32,
    w: f64,
}
/// From a to b (a reply or mention by a), from b to a, co-participation.
const AB: u32 = 0;
const BA: u32 = 1 << 30;
const CO: u32 = 2 << 30;
const NODE: u32 = (1 << 30) - 1;

/// Connections found in a run of nodes `a`: the nodes `(a, b)` with `a < b`, in that order,
/// and the interactions between them summed: decayed weight from a to b, from b to a, and of
/// co-participation.
#[derive(Default)]
struct Connections {
    ends: Vec<(u32, u32)>,
    weights: Vec<[f64; 3]>,
}

fn build(s: &Scope<'_>) -> Network {
    let snap = s.snap;
    let np = &s.p.network;
    let as_of = s.p.as_of;
    let (nodes, node_of) = active_nodes(s);
    let n = nodes.len();

    // 1. Interactions, as (a, b | kind, weight) with a < b, in slot order; thread writes for
    //    co-participation. By runs of slots on every core, concatenated in run order.
    let mut is_node = vec![0u64; s.members().div_ceil(64)];
    for &m in &nodes {
        is_node[m as usize / 64] |= 1 << (m % 64);
    }
    let parts = crate::par::runs(s.slot_words(), 1024, |words| {
        interactions(s, &node_of, &is_node, words)
    });

    // 2. Co-participation: per thread, each writer's first write; every pair of writers at
    //    the later of their first writes.
    let co = coparticipation(
        snap.threads(),
        parts.iter().map(|p| p.1.as_slice()),
        np,
        as_of,
    );
    let raws: Vec<&[Raw]> = parts
        .iter()
        .map(|p| p.0.as_slice())
        .chain(co.iter().map(Vec::as_slice))
        .collect();

    // 3. Sum interactions per pair (grouped by `a` with a counting sort that keeps slot order,
    //    so the sums are the same on every run).
    let mut count = vec![0u32; n + 1];
    for r in raws.iter().copied().flatten() {
        count[r.a as usize] += 1;
    }
    let mut start = vec![0u32; n + 1];
    let mut total = 0u32;
    for v in 0..n {
        start[v] = total;
        total += count[v];
    }
    start[n] = total;
    let mut fill = start.clone();
    let mut by_a_bk = vec![0u32; total as usize];
    let mut by_a_w = vec![0.0f64; total as usize];
    for r in raws.iter().copied().flatten() {
        let i = fill[r.a as usize] as usize;
        by_a_bk[i] = r.bk;
        by_a_w[i] = r.w;
        fill[r.a as usize] += 1;
    }
    drop(raws);
    drop((co, parts));
    // Per `a`, interactions with the same `b` are summed in slot order into the first sum
    // seen (`seen[b]` marks it, `at[b]` finds it), then the connections are taken in `b`
    // order. By runs of `a` on every core, kept in run order.
    let runs = crate::par::runs(n, 4096, |run| {
        let mut out = Connections::default();
        let mut seen = vec![NONE; n];
        let mut at = vec![0u32; n];
        let mut bs: Vec<u32> = Vec::new();
        let mut sums: Vec<[f64; 3]> = Vec::new();
        for a in run {
            bs.clear();
            sums.clear();
            for i in start[a] as usize..start[a + 1] as usize {
                let (bk, w) = (by_a_bk[i], by_a_w[i]);
                let b = (bk & NODE) as usize;
                if seen[b] != a as u32 {
                    seen[b] = a as u32;
                    at[b] = sums.len() as u32;
                    bs.push(b as u32);
                    sums.push([0.0; 3]);
                }
                // The kind in the top two bits: AB, BA, CO are 0, 1, 2.
                sums[at[b] as usize][(bk >> 30) as usize] += w;
            }
            bs.sort_unstable();
            for &b in &bs {
                let w = sums[at[b as usize] as usize];
                if w[0] + w[1] + w[2] >= np.min_weight {
                    out.ends.push((a as u32, b));
                    out.weights.push(w);
                }
            }
        }
        out
    });
    drop((by_a_bk, by_a_w));
    let connections = || {
        runs.iter()
            .flat_map(|r| r.ends.iter().copied().zip(r.weights.iter().copied()))
    };

    // 4. CSR in both directions, neighbours ascending (connections come in (a, b) order).
    let mut degree = vec![0u32; n + 1];
    for ((a, b), _) in connections() {
        degree[a as usize] += 1;
        degree[b as usize] += 1;
    }
    let mut gstart = vec![0u32; n + 1];
    let mut t = 0u32;
    for v in 0..n {
        gstart[v] = t;
        t += degree[v];
    }
    gstart[n] = t;
    let mut fill = gstart.clone();
    let m2 = t as usize;
    let mut adj = vec![0u32; m2];
    let mut weight = vec![0.0; m2];
    let mut out_weight = vec![0.0; m2];
    let mut in_weight = vec![0.0; m2];
    for ((a, b), [ab, ba, co]) in connections() {
        let (a, b) = (a as usize, b as usize);
        let total = ab + ba + co;
        let i = fill[a] as usize;
        adj[i] = b as u32;
        weight[i] = total;
        out_weight[i] = ab;
        in_weight[i] = ba;
        fill[a] += 1;
        let i = fill[b] as usize;
        adj[i] = a as u32;
        weight[i] = total;
        out_weight[i] = ba;
        in_weight[i] = ab;
        fill[b] += 1;
    }
    drop(runs);
    let graph = Graph { start: gstart, adj };
    let core = core_numbers(&graph);
    let component = components(&graph);
    let rank: Vec<i64> = nodes
        .iter()
        .map(|&m| snap.member_store_id(m).unwrap_or(0))
        .collect();
    let (betweenness, sources, bound) = betweenness(&graph, np.betweenness_sources as usize, &rank);

    let helped = helped(s);
    Network {
        nodes,
        graph,
        weight,
        out_weight,
        in_weight,
        core,
        component,
        betweenness,
        betweenness_sources: sources,
        betweenness_bound: bound,
        helped,
    }
}

/// The reply, answer and mention interactions of the counted slots in the 64-slot words
/// `words` between nodes, in slot order, and the thread writes (thread, node, ts) of nodes.
/// `is_node` has a bit per member that is a node: most slots are by members who are not
/// (not active in the range), and a bit set of the members stays in the core's cache where
/// `node_of` does not.
fn interactions(
    s: &Scope<'_>,
    node_of: &[u32],
    is_node: &[u64],
    words: std::ops::Range<usize>,
) -> (Vec<Raw>, Vec<(u32, u32, i64)>) {
    let snap = s.snap;
    let np = &s.p.network;
    let as_of = s.p.as_of;
    let (reply, answer, post) = (Kind::Reply.code(), Kind::Answer.code(), Kind::Post.code());
    let mut raw: Vec<Raw> = Vec::new();
    let mut writes: Vec<(u32, u32, i64)> = Vec::new();
    let mut targets: Vec<u32> = Vec::with_capacity(8);
    let mentions = snap.mentions();
    let first_slot = words.start * 64;
    let mut mi = mentions.partition_point(|m| (m.0 as usize) < first_slot);
    let node_of_slot = |slot: usize| -> u32 {
        if !s.counted(slot) {
            return NONE;
        }
        let m = s.slot_member[slot];
        if m == NONE { NONE } else { node_of[m as usize] }
    };
    // First the counted slots by nodes, without a branch per slot (whether a slot's author
    // is a node is a coin toss the branch predictor loses), then those slots.
    let counted = s.counted_words();
    let mut by_nodes = vec![
        0u32;
        counted[words.clone()]
            .iter()
            .map(|w| w.count_ones() as usize)
            .sum()
    ];
    let mut len = 0;
    for w in words {
        let mut bits = counted[w];
        while bits != 0 {
            let slot = w * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let m = s.slot_member[slot] as usize;
            by_nodes[len] = slot as u32;
            len += ((is_node[m / 64] >> (m % 64)) & 1) as usize;
        }
    }
    by_nodes.truncate(len);
    // At most one write per slot; about as many interactions (sized once, not grown by
    // copying).
    writes.reserve_exact(len);
    raw.reserve(len);
    for slot in by_nodes {
        let slot = slot as usize;
        while mi < mentions.len() && (mentions[mi].0 as usize) < slot {
            mi += 1;
        }
        let m = s.slot_member[slot] as usize;
        let u = node_of[m];
        let kind = snap.kind[slot];
        let thread = snap.thread[slot];
        targets.clear();
        if kind == reply || kind == answer {
            let to = snap.reply_to[slot];
            if to != NONE {
                targets.push(node_of_slot(to as usize));
            }
            if thread != NONE {
                let op = snap.thread_op[thread as usize];
                if op != NONE {
                    targets.push(node_of_slot(op as usize));
                }
            }
        }
        if is_participation(kind) {
            let mut j = mi;
            while j < mentions.len() && mentions[j].0 as usize == slot {
                let member = snap.identity_member_of(mentions[j].1);
                if member != NONE {
                    targets.push(node_of[member as usize]);
                }
                j += 1;
            }
        }
        if !targets.is_empty() {
            targets.retain(|&t| t != NONE && t != u);
            targets.sort_unstable();
            targets.dedup();
            let w = decay(np, as_of, snap.ts[slot]);
            for &v in &targets {
                raw.push(if u < v {
                    Raw {
                        a: u,
                        bk: v | AB,
                        w,
                    }
                } else {
                    Raw {
                        a: v,
                        bk: u | BA,
                        w,
                    }
                });
            }
        }
        if thread != NONE && (kind == post || kind == reply || kind == answer) {
            writes.push((thread, u, snap.ts[slot]));
        }
    }
    (raw, writes)
}

/// Co-participation pairs from thread writes `(thread, node, ts)` in slot order.
fn coparticipation<'w>(
    threads: usize,
    writes: impl Iterator<Item = &'w [(u32, u32, i64)]> + Clone,
    np: &NetworkParams,
    as_of: i64,
) -> Vec<Vec<Raw>> {
    if np.coparticipation_weight == 0.0 {
        return Vec::new();
    }
    let mut count = vec![0u32; threads + 1];
    for w in writes.clone().flatten() {
        count[w.0 as usize] += 1;
    }
    let mut start = vec![0u32; threads + 1];
    let mut total = 0u32;
    for t in 0..threads {
        start[t] = total;
        total += count[t];
    }
    start[threads] = total;
    if total == 0 {
        return Vec::new();
    }
    let mut fill = start.clone();
    let mut by_thread = vec![(0u32, 0i64); total as usize];
    for &(t, node, ts) in writes.flatten() {
        by_thread[fill[t as usize] as usize] = (node, ts);
        fill[t as usize] += 1;
    }
    // Threads by runs on every core, their pairs appended in thread order.
    crate::par::runs(threads, 16_384, |run| {
        let mut out: Vec<Raw> = Vec::new();
        let mut list: Vec<(u32, i64)> = Vec::new();
        let mut firsts: Vec<(i64, u32)> = Vec::new();
        for t in run {
            let writes = &by_thread[start[t] as usize..start[t + 1] as usize];
            if writes.len() < 2 {
                continue;
            }
            list.clear();
            list.extend_from_slice(writes);
            list.sort_unstable();
            firsts.clear();
            for (i, &(node, ts)) in list.iter().enumerate() {
                if i == 0 || list[i - 1].0 != node {
                    firsts.push((ts, node));
                }
            }
            if firsts.len() < 2 || firsts.len() > np.max_thread_participants as usize {
                continue;
            }
            firsts.sort_unstable();
            for j in 1..firsts.len() {
                let (tj, b) = firsts[j];
                let w = np.coparticipation_weight * decay(np, as_of, tj);
                for &(_, a) in &firsts[..j] {
                    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                    out.push(Raw {
                        a: lo,
                        bk: hi | CO,
                        w,
                    });
                }
            }
        }
        out
    })
}

/// Who helped whom: responses (SPEC §4.0) to the report's threads, as (helper, thread
/// author, responses), both non-anonymous members.
fn helped(s: &Scope<'_>) -> Vec<(u32, u32, u32)> {
    let (threads, _) = crate::threads::report_first_responses(s);
    let mut pairs: Vec<u64> = Vec::new();
    // The report's threads opened at or after `from`: older replies cannot answer them.
    crate::threads::for_each_response_from(s, threads, s.p.from_ts, |i, _, helper| {
        let author = threads.list[i].author;
        if helper == NONE
            || author == NONE
            || s.is_anonymous(helper as usize)
            || s.is_anonymous(author as usize)
        {
            return;
        }
        pairs.push(u64::from(helper) << 32 | u64::from(author));
    });
    pairs.sort_unstable();
    let mut out: Vec<(u32, u32, u32)> = Vec::new();
    for key in pairs {
        let (h, a) = ((key >> 32) as u32, key as u32);
        match out.last_mut() {
            Some(last) if last.0 == h && last.1 == a => last.2 += 1,
            _ => out.push((h, a, 1)),
        }
    }
    out
}

/// The slow model the fast network is tested against: the definition applied with ordered
/// maps and naive graph algorithms.
#[cfg(test)]
pub(crate) mod model {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    pub struct Slow {
        pub nodes: Vec<u32>,
        /// (a, b) a < b node indexes → (a→b, b→a, co) decayed weights, connections only.
        pub pairs: BTreeMap<(u32, u32), (f64, f64, f64)>,
        pub core: Vec<u32>,
        pub betweenness: Vec<f64>,
    }

    pub fn network(s: &Scope<'_>) -> Slow {
        let snap = s.snap;
        let np = &s.p.network;
        let as_of = s.p.as_of;
        let end = s.p.to_ts.min(as_of + 1);
        // Members with a counted participation in range.
        let mut active = BTreeSet::new();
        for slot in 0..snap.slots() {
            let m = snap.member_of(slot);
            if s.counted(slot)
                && is_participation(snap.kind[slot])
                && !s.is_anonymous(m as usize)
                && snap.ts[slot] >= s.p.from_ts
                && snap.ts[slot] < end
            {
                active.insert(m);
            }
        }
        let nodes: Vec<u32> = active.iter().copied().collect();
        let node = |m: u32| nodes.iter().position(|&x| x == m).map(|i| i as u32);
        let author_node = |slot: usize| -> Option<u32> {
            if s.counted(slot) {
                node(snap.member_of(slot))
            } else {
                None
            }
        };
        let mut w: BTreeMap<(u32, u32), (f64, f64, f64)> = BTreeMap::new();
        let mut threads: BTreeMap<u32, BTreeMap<u32, i64>> = BTreeMap::new();
        for slot in 0..snap.slots() {
            let Some(u) = author_node(slot) else { continue };
            let k = Kind::from_code(snap.kind[slot]).unwrap();
            let mut targets = BTreeSet::new();
            if matches!(k, Kind::Reply | Kind::Answer) {
                if snap.reply_to[slot] != NONE {
                    targets.extend(author_node(snap.reply_to[slot] as usize));
                }
                if snap.thread[slot] != NONE && snap.thread_op[snap.thread[slot] as usize] != NONE {
                    targets.extend(author_node(
                        snap.thread_op[snap.thread[slot] as usize] as usize,
                    ));
                }
            }
            if k.is_participation() {
                for &(ms, identity) in snap.mentions() {
                    if ms as usize == slot {
                        let m = snap.identity_member_of(identity);
                        if m != NONE {
                            targets.extend(node(m));
                        }
                    }
                }
            }
            targets.remove(&u);
            let d = decay(np, as_of, snap.ts[slot]);
            for v in targets {
                let e = w.entry((u.min(v), u.max(v))).or_default();
                if u < v {
                    e.0 += d;
                } else {
                    e.1 += d;
                }
            }
            if matches!(k, Kind::Post | Kind::Reply | Kind::Answer) && snap.thread[slot] != NONE {
                let first = threads
                    .entry(snap.thread[slot])
                    .or_default()
                    .entry(u)
                    .or_insert(i64::MAX);
                *first = (*first).min(snap.ts[slot]);
            }
        }
        for writers in threads.values() {
            if writers.len() > np.max_thread_participants as usize {
                continue;
            }
            for (&a, &ta) in writers {
                for (&b, &tb) in writers {
                    if a < b {
                        let d = np.coparticipation_weight * decay(np, as_of, ta.max(tb));
                        w.entry((a, b)).or_default().2 += d;
                    }
                }
            }
        }
        w.retain(|_, v| v.0 + v.1 + v.2 >= np.min_weight);
        let n = nodes.len();
        let mut nb: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); n];
        for &(a, b) in w.keys() {
            nb[a as usize].insert(b);
            nb[b as usize].insert(a);
        }
        // k-core by peeling: a node's core number is the largest k for which it survives
        // repeated removal of nodes with fewer than k neighbours left.
        let mut core = vec![0u32; n];
        for k in 1..=n as u32 {
            let mut alive: BTreeSet<u32> = (0..n as u32).collect();
            loop {
                let drop: Vec<u32> = alive
                    .iter()
                    .copied()
                    .filter(|&v| {
                        nb[v as usize].iter().filter(|x| alive.contains(x)).count() < k as usize
                    })
                    .collect();
                if drop.is_empty() {
                    break;
                }
                for v in drop {
                    alive.remove(&v);
                }
            }
            for &v in &alive {
                core[v as usize] = k;
            }
        }
        // Betweenness from all-pairs shortest path counts.
        let bfs = |src: usize| -> (Vec<i64>, Vec<f64>) {
            let mut dist = vec![-1i64; n];
            let mut sigma = vec![0.0; n];
            dist[src] = 0;
            sigma[src] = 1.0;
            let mut frontier = vec![src];
            while !frontier.is_empty() {
                let mut next = Vec::new();
                for &v in &frontier {
                    for &x in &nb[v] {
                        let x = x as usize;
                        if dist[x] < 0 {
                            dist[x] = dist[v] + 1;
                            next.push(x);
                        }
                        if dist[x] == dist[v] + 1 {
                            sigma[x] += sigma[v];
                        }
                    }
                }
                next.sort_unstable();
                next.dedup();
                frontier = next;
            }
            (dist, sigma)
        };
        let all: Vec<(Vec<i64>, Vec<f64>)> = (0..n).map(bfs).collect();
        let mut betweenness = vec![0.0; n];
        if n >= 3 {
            for v in 0..n {
                let mut b = 0.0;
                for src in 0..n {
                    for t in 0..n {
                        if src == v || t == v || src == t || all[src].0[t] < 0 {
                            continue;
                        }
                        if all[src].0[v] >= 0 && all[src].0[v] + all[v].0[t] == all[src].0[t] {
                            b += all[src].1[v] * all[v].1[t] / all[src].1[t];
                        }
                    }
                }
                betweenness[v] = b / ((n as f64 - 1.0) * (n as f64 - 2.0));
            }
        }
        Slow {
            nodes,
            pairs: w,
            core,
            betweenness,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn random_graph(n: usize, edges: &[(usize, usize)]) -> Graph {
        let mut set = std::collections::BTreeSet::new();
        for &(a, b) in edges {
            let (a, b) = (a % n, b % n);
            if a != b {
                set.insert((a.min(b) as u32, a.max(b) as u32));
            }
        }
        let list: Vec<(u32, u32)> = set.into_iter().collect();
        Graph::from_edges(n, &list)
    }

    /// Betweenness by definition: for every ordered pair (s, t), the share of shortest paths
    /// through v, found by counting paths with a BFS from every node.
    fn naive_betweenness(g: &Graph) -> Vec<f64> {
        let n = g.nodes();
        let bfs = |s: usize| {
            let mut dist = vec![-1i64; n];
            let mut sigma = vec![0.0f64; n];
            dist[s] = 0;
            sigma[s] = 1.0;
            let mut q = std::collections::VecDeque::from([s]);
            while let Some(v) = q.pop_front() {
                for &w in g.neighbours(v) {
                    let w = w as usize;
                    if dist[w] < 0 {
                        dist[w] = dist[v] + 1;
                        q.push_back(w);
                    }
                    if dist[w] == dist[v] + 1 {
                        sigma[w] += sigma[v];
                    }
                }
            }
            (dist, sigma)
        };
        let all: Vec<_> = (0..n).map(bfs).collect();
        (0..n)
            .map(|v| {
                let mut b = 0.0;
                for s in 0..n {
                    for t in 0..n {
                        if s != v
                            && t != v
                            && s != t
                            && all[s].0[t] > 0
                            && all[s].0[v] >= 0
                            && all[s].0[v] + all[v].0[t] == all[s].0[t]
                        {
                            b += all[s].1[v] * all[v].1[t] / all[s].1[t];
                        }
                    }
                }
                b
            })
            .collect()
    }

    /// Graphs deeper than the small random ones: a path, an odd cycle and a ladder (many tied
    /// shortest paths), whose breadth-first levels run far past the four that the pass's
    /// distance byte tells apart.
    #[test]
    fn brandes_equals_path_counting_on_deep_graphs() {
        let path: Vec<(usize, usize)> = (0..29).map(|i| (i, i + 1)).collect();
        let cycle: Vec<(usize, usize)> = (0..31).map(|i| (i, (i + 1) % 31)).collect();
        let ladder: Vec<(usize, usize)> = (0..15)
            .flat_map(|i| {
                let mut e = vec![(2 * i, 2 * i + 1)];
                if i < 14 {
                    e.extend([(2 * i, 2 * i + 2), (2 * i + 1, 2 * i + 3)]);
                }
                e
            })
            .collect();
        for (name, n, edges) in [
            ("path", 30, path),
            ("cycle", 31, cycle),
            ("ladder", 30, ladder),
        ] {
            let g = random_graph(n, &edges);
            let all: Vec<u32> = (0..n as u32).collect();
            let fast = dependency_sums(&g, &all);
            let slow = naive_betweenness(&g);
            for v in 0..n {
                assert!(
                    (fast[v] - slow[v]).abs() <= 1e-9 * slow[v].max(1.0),
                    "{name} {v}: {} vs {}",
                    fast[v],
                    slow[v]
                );
            }
        }
    }

    proptest! {
        #[test]
        fn brandes_equals_path_counting_on_small_graphs(
            n in 1usize..25,
            edges in prop::collection::vec((0usize..25, 0usize..25), 0..80),
        ) {
            let g = random_graph(n, &edges);
            let all: Vec<u32> = (0..n as u32).collect();
            let fast = dependency_sums(&g, &all);
            let slow = naive_betweenness(&g);
            for v in 0..n {
                prop_assert!((fast[v] - slow[v]).abs() <= 1e-9 * slow[v].max(1.0), "{v}: {} vs {}", fast[v], slow[v]);
            }
        }

        #[test]
        fn core_numbers_equal_peeling(
            n in 1usize..30,
            edges in prop::collection::vec((0usize..30, 0usize..30), 0..120),
        ) {
            let g = random_graph(n, &edges);
            let fast = core_numbers(&g);
            // Peeling: remove every node of degree < k until none is left below k.
            let mut slow = vec![0u32; n];
            for k in 1..=n as u32 {
                let mut alive = vec![true; n];
                loop {
                    let mut changed = false;
                    for v in 0..n {
                        if alive[v] && g.neighbours(v).iter().filter(|&&w| alive[w as usize]).count() < k as usize {
                            alive[v] = false;
                            changed = true;
                        }
                    }
                    if !changed { break; }
                }
                for v in 0..n {
                    if alive[v] { slow[v] = k; }
                }
            }
            prop_assert_eq!(fast, slow);
        }
    }

    // Two dense groups of 40 joined only through member 80 (linked to every member of both):
    // every shortest path between the groups runs through 80, so it has the highest
    // betweenness: (40 × 40 × 2 ordered pairs) / (81 − 1)(81 − 2) of all pairs of others, minus
    // nothing (the groups are cliques, no other path is as short).
    #[test]
    fn a_member_bridging_two_groups_is_the_top_connector() {
        let mut edges = Vec::new();
        for a in 0..40u32 {
            for b in a + 1..40 {
                edges.push((a, b));
                edges.push((a + 40, b + 40));
            }
            edges.push((a, 80));
            edges.push((a + 40, 80));
        }
        let g = Graph::from_edges(81, &edges);
        let rank: Vec<i64> = (0..81).collect();
        let (b, k, bound) = betweenness(&g, 100, &rank);
        assert_eq!((k, bound), (81, 0.0), "exact under the sample size");
        let expected = (40.0 * 40.0 * 2.0) / (80.0 * 79.0);
        assert!((b[80] - expected).abs() < 1e-12, "{} vs {expected}", b[80]);
        assert!(
            b[..80].iter().all(|&x| x < 1e-12),
            "clique members bridge nothing"
        );
    }

    // A larger graph: 3,000 members in 6 communities (random dense inside, sparse between)
    // plus a few bridges. Sampled betweenness from 200 sources must stay within the documented
    // bound of the exact value for every member, and the bridges found exactly must also head
    // the sampled ranking.
    #[test]
    fn sampled_betweenness_stays_within_its_documented_error_bound() {
        let n = 3_000usize;
        let mut rng = SplitMix64(7);
        let mut set = std::collections::BTreeSet::new();
        for v in 0..n {
            let group = v / 500;
            for _ in 0..6 {
                let w = group * 500 + (rng.next() % 500) as usize;
                if w != v {
                    set.insert((v.min(w) as u32, v.max(w) as u32));
                }
            }
            if rng.next().is_multiple_of(100) {
                let w = (rng.next() % n as u64) as usize;
                if w != v {
                    set.insert((v.min(w) as u32, v.max(w) as u32));
                }
            }
        }
        // Bridges: member 10 of each group links to member 10 of the next.
        for g in 0..6usize {
            let (a, b) = (g * 500 + 10, ((g + 1) % 6) * 500 + 10);
            set.insert((a.min(b) as u32, a.max(b) as u32));
        }
        let edges: Vec<(u32, u32)> = set.into_iter().collect();
        let g = Graph::from_edges(n, &edges);
        let rank: Vec<i64> = (0..n as i64).collect();
        let (exact, _, zero) = betweenness(&g, n, &rank);
        assert_eq!(zero, 0.0);
        let (sampled, k, bound) = betweenness(&g, 200, &rank);
        assert_eq!(k, 200);
        assert!((bound - error_bound(n, 200)).abs() < 1e-15);
        let worst = exact
            .iter()
            .zip(&sampled)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= bound,
            "worst error {worst} above the bound {bound}"
        );
        // In practice the error is far below the worst-case bound.
        assert!(worst < bound / 4.0, "worst error {worst}, bound {bound}");
        let top = |v: &[f64]| {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
            idx.truncate(6);
            idx.sort_unstable();
            idx
        };
        let exact_top = top(&exact);
        let sampled_top = top(&sampled);
        let overlap = exact_top.iter().filter(|v| sampled_top.contains(v)).count();
        assert!(
            overlap >= 5,
            "exact top {exact_top:?}, sampled top {sampled_top:?}"
        );
        // The default sample (32 sources): a looser bound, still respected, and the same
        // bridges found.
        let (default, k, bound) = betweenness(&g, 32, &rank);
        assert_eq!(k, 32);
        let worst = exact
            .iter()
            .zip(&default)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        eprintln!("32 sources: worst error {worst}, bound {bound}");
        assert!(
            worst <= bound,
            "worst error {worst} above the bound {bound}"
        );
        let default_top = top(&default);
        let overlap = exact_top.iter().filter(|v| default_top.contains(v)).count();
        assert!(
            overlap >= 5,
            "exact top {exact_top:?}, 32-source top {default_top:?}"
        );
    }

    #[test]
    fn the_bound_shrinks_with_the_square_root_of_the_sample() {
        let b64 = error_bound(100_000, 64);
        let b256 = error_bound(100_000, 256);
        assert!((b64 / b256 - 2.0).abs() < 1e-12);
        // ln(2 × 100,000 / 0.05) = 15.20; sqrt(15.20 / 128) = 0.3446; × 100,000/99,999.
        assert!((b64 - 0.344_6).abs() < 1e-3, "{b64}");
    }
}
