//! The interaction network (SPEC §4.7): density, connected share, reciprocity, isolated
//! newcomers, connectors, core and periphery, and per member their connections and whom they
//! helped. The graph is built in `crate::network` (shared with the health index).

use crate::metric::{Cell, MetricDef, MetricValue, Reference, Table, share};
use crate::network::{Network, network};
use crate::scope::Scope;
use crate::snapshot::NONE;

pub const METRIC: MetricDef = MetricDef {
    name: "network",
    title: "Interaction network",
    definition: DEFINITION,
    reference: Reference::Model(VERIFIED_BY),
    compute,
};

const DEFINITION: &str = "\
**Members** (the graph's nodes): the members active in the report range (a participation in
`from ..= to`, up to as-of; team and bots excluded unless asked for; author-less content is never
a member).

**Interactions**, from every counted activity up to as-of (any time, not only the range), between
two such members:
- a `reply` or `answer` interacts with the author of the activity it replies to and with the
  author of its thread's opening post (a thread response), when those activities are counted;
- a participation that addresses members (`to`: the platform's reply target and mentions)
  interacts with each of them;
- each counts once per activity and target (a reply to the opening post that also mentions its
  author is one interaction), never with oneself, and weighs 1;
- **co-participation**: two members who both wrote (post, reply, answer) in the same thread
  interact once, at the later of their first writes in it, with weight 0.5; threads with more than
  50 writers add none.

**Decay**: an interaction at time t weighs `w × 2^(−(as_of − t) / half-life)`, half-life 90 days.
Two members are **connected** when the sum of their decayed interactions (both directions and
co-participation) reaches 0.25: for example one reply in the other's thread (1, plus 0.5 for
writing in the same thread) within the last 232 days, one mention within 180 days, one
co-participation alone within 90 days, or more, older ones. A **directed connection** a → b needs 0.25 from a's replies
and mentions to b alone.

**`summary`** (one row): `members`; `connections`; `density` = connections / (members ×
(members − 1) / 2); `connected` (members with at least one connection) and `connected_share`;
`largest_component` (members in the largest connected group) and its share; `directed`
connections, `reciprocated` (those whose reverse is a directed connection too) and
`reciprocity` = reciprocated / directed; `isolated_newcomers` (below); `max_core`, the largest k
such that some members each have k connections inside a group of such members (the k-core);
`core_members`: members whose core number is at least half of `max_core` (rounded up), when
`max_core` ≥ 2; `periphery_members`: the other connected members; `betweenness_sources`,
`betweenness_exact` and `betweenness_error_bound` (below).

**`isolated_newcomers`**: members with no connection who are newcomers at as-of (their first
participation less than 30 × 24 h before as-of), oldest first: `member_id`,
`first_participation`, `days_since_first` (whole days).

**`connectors`**: members bridging otherwise separate groups: the 20 members with the highest
**betweenness** (the share of shortest paths between pairs of other members that run through
them, on the connection graph, 0–1), highest first, only those above 0. Betweenness is exact
(Brandes' algorithm from every member) up to 32 members; above that it is estimated from 32
source members sampled with a fixed seed (Brandes from sampled sources, scaled by members /
sources). With probability at least 95 %, every member's estimate is within
`betweenness_error_bound` = `n/(n−1) × sqrt(ln(2n / 0.05) / (2 × sources))` of the exact value
(Hoeffding's inequality with a union bound over the n members). The bound is a worst case: on a
3,000-member test graph the largest error measured is below a quarter of it and the top
connectors are the same.

**`cores`**: members by core number k (0 = no connection).

**`members`**: one row per member of the graph, by member id: `connections`, `strength` (the sum
of their connections' weights), `core` (core number), `role` (`core`, `periphery`, `isolated`),
`betweenness`, `connector` (1 if listed in `connectors`), `helped` and `helped_by` (distinct
members they responded to / who responded to them, with responses as in
[`first_response`](#first_response) to threads opened in the report range, team responders
included), `top_connections` (up to 5 member ids, strongest first) and `helped_members` (up to 5
member ids, most responses first).

Parameters (`Params::network`): `half_life_days` (90), `min_weight` (0.25),
`coparticipation_weight` (0.5), `max_thread_participants` (50), `betweenness_sources` (32),
`connectors` (20).";

const VERIFIED_BY: &str = "\
A slow model in Rust (`network::model`) builds the graph from the definition with ordered maps
(every activity, every mention, every pair of thread writers), computes core numbers by
repeated peeling and betweenness by counting shortest paths between every pair of members; a
property test compares members, connections and their weights, directed connections, core
numbers and betweenness with the fast implementation (CSR arrays, the bucket k-core algorithm,
Brandes) on random communities. Separate property tests check Brandes against path counting
and the bucket algorithm against peeling on random graphs. The sampled betweenness is tested on
a 3,000-member graph of six groups joined by bridges: every member's estimate lies within the
documented bound of the exact value and the top connectors agree. Hand-worked examples check
each column.";

fn compute(s: &Scope<'_>) -> MetricValue {
    let net = network(s);
    let np = &s.p.network;
    let snap = s.snap;
    let n = net.nodes.len();
    let id = |node: usize| snap.member_store_id(net.nodes[node]).unwrap_or(0);
    let g = &net.graph;
    let edges = g.edges() as i64;
    let connected = (0..n).filter(|&v| g.degree(v) > 0).count() as i64;
    let mut comp_size = vec![0i64; n];
    for &c in &net.component {
        comp_size[c as usize] += 1;
    }
    let largest = comp_size.iter().copied().max().unwrap_or(0);
    let (directed, reciprocated) = net.directed(np.min_weight);
    let max_core = net.core.iter().copied().max().unwrap_or(0);
    let core_from = if max_core >= 2 {
        max_core.div_ceil(2)
    } else {
        u32::MAX
    };
    let is_core = |v: usize| net.core[v] >= core_from;
    let core_members = (0..n).filter(|&v| is_core(v)).count() as i64;

    // Isolated newcomers.
    let as_of = s.p.as_of;
    let mut isolated: Vec<(i64, i64)> = Vec::new();
    for v in 0..n {
        if g.degree(v) > 0 {
            continue;
        }
        let first = s.participations(net.nodes[v] as usize).0.first().copied();
        if let Some(first) = first
            && as_of - first < 30 * 86_400
        {
            isolated.push((first, id(v)));
        }
    }
    isolated.sort_unstable();

    // Connectors.
    let mut ranked: Vec<(usize, i64)> = (0..n)
        .filter(|&v| net.betweenness[v] > 0.0)
        .map(|v| (v, id(v)))
        .collect();
    ranked.sort_by(|a, b| {
        net.betweenness[b.0]
            .total_cmp(&net.betweenness[a.0])
            .then(a.1.cmp(&b.1))
    });
    ranked.truncate(np.connectors as usize);
    let mut connector = vec![false; n];
    for &(v, _) in &ranked {
        connector[v] = true;
    }

    let density = if n >= 2 {
        Some(2.0 * edges as f64 / (n as f64 * (n as f64 - 1.0)))
    } else {
        None
    };
    let mut summary = Table::new(
        "summary",
        &[
            "members",
            "connections",
            "density",
            "connected",
            "connected_share",
            "largest_component",
            "largest_component_share",
            "directed",
            "reciprocated",
            "reciprocity",
            "isolated_newcomers",
            "max_core",
            "core_members",
            "periphery_members",
            "betweenness_sources",
            "betweenness_exact",
            "betweenness_error_bound",
        ],
    );
    summary.push(vec![
        Cell::Int(n as i64),
        Cell::Int(edges),
        density.into(),
        Cell::Int(connected),
        share(connected, n as i64).into(),
        Cell::Int(largest),
        share(largest, n as i64).into(),
        Cell::Int(directed),
        Cell::Int(reciprocated),
        share(reciprocated, directed).into(),
        Cell::Int(isolated.len() as i64),
        Cell::Int(i64::from(max_core)),
        Cell::Int(core_members),
        Cell::Int(connected - core_members),
        Cell::Int(net.betweenness_sources as i64),
        Cell::Int(i64::from(net.betweenness_bound == 0.0)),
        Cell::Real(net.betweenness_bound),
    ]);

    let mut newcomers = Table::new(
        "isolated_newcomers",
        &["member_id", "first_participation", "days_since_first"],
    );
    for (first, member) in &isolated {
        newcomers.push(vec![
            Cell::Int(*member),
            Cell::Int(*first),
            Cell::Int((as_of - first).div_euclid(86_400)),
        ]);
    }

    let mut connectors = Table::new(
        "connectors",
        &["member_id", "betweenness", "connections", "core"],
    );
    for &(v, member) in &ranked {
        connectors.push(vec![
            Cell::Int(member),
            Cell::Real(net.betweenness[v]),
            Cell::Int(g.degree(v) as i64),
            Cell::Int(i64::from(net.core[v])),
        ]);
    }

    let mut cores = Table::new("cores", &["core", "members"]);
    let mut shell = vec![0i64; max_core as usize + 1];
    for &c in &net.core {
        shell[c as usize] += 1;
    }
    if n > 0 {
        for (k, &count) in shell.iter().enumerate() {
            cores.push(vec![Cell::Int(k as i64), Cell::Int(count)]);
        }
    }

    MetricValue {
        metric: METRIC.name,
        tables: vec![
            summary,
            newcomers,
            connectors,
            cores,
            members_table(s, net, &connector, core_from),
        ],
    }
}

fn members_table(s: &Scope<'_>, net: &Network, connector: &[bool], core_from: u32) -> Table {
    let snap = s.snap;
    let n = net.nodes.len();
    let g = &net.graph;
    let ids: Vec<i64> = net
        .nodes
        .iter()
        .map(|&m| snap.member_store_id(m).unwrap_or(0))
        .collect();
    let node_id = |v: usize| ids[v];
    // Helped and helped-by, by node (pairs are dense members, sorted by helper).
    let mut node_of = vec![NONE; s.members()];
    for (v, &m) in net.nodes.iter().enumerate() {
        node_of[m as usize] = v as u32;
    }
    let node = |m: u32| node_of.get(m as usize).copied().filter(|&v| v != NONE);
    let mut helped_by = vec![0i64; n];
    let mut helped: Vec<Vec<(u32, i64)>> = vec![Vec::new(); n];
    for &(helper, author, responses) in &net.helped {
        if let Some(v) = node(author) {
            helped_by[v as usize] += 1;
        }
        if let Some(v) = node(helper) {
            helped[v as usize].push((responses, snap.member_store_id(author).unwrap_or(0)));
        }
    }
    let mut order: Vec<(i64, usize)> = (0..n).map(|v| (node_id(v), v)).collect();
    order.sort_unstable();
    let mut table = Table::new(
        "members",
        &[
            "member_id",
            "connections",
            "strength",
            "core",
            "role",
            "betweenness",
            "connector",
            "helped",
            "helped_by",
            "top_connections",
            "helped_members",
        ],
    );
    table.rows.reserve(n);
    let mut strongest: Vec<(f64, i64)> = Vec::new();
    for (member, v) in order {
        let range = g.start[v] as usize..g.start[v + 1] as usize;
        let strength: f64 = net.weight[range.clone()].iter().sum();
        strongest.clear();
        strongest.extend(
            range
                .clone()
                .map(|i| (net.weight[i], node_id(g.adj[i] as usize))),
        );
        let by_strength = |a: &(f64, i64), b: &(f64, i64)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        // Only the five strongest are shown: select them, then order those.
        if strongest.len() > 5 {
            strongest.select_nth_unstable_by(4, by_strength);
            strongest.truncate(5);
        }
        strongest.sort_by(by_strength);
        let top = join(strongest.iter().map(|x| x.1));
        let list = &mut helped[v];
        list.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let helped_members = join(list.iter().take(5).map(|x| x.1));
        let role = if g.degree(v) == 0 {
            "isolated"
        } else if net.core[v] >= core_from {
            "core"
        } else {
            "periphery"
        };
        table.push(vec![
            Cell::Int(member),
            Cell::Int(g.degree(v) as i64),
            Cell::Real(strength),
            Cell::Int(i64::from(net.core[v])),
            role.into(),
            Cell::Real(net.betweenness[v]),
            Cell::Int(i64::from(connector[v])),
            Cell::Int(list.len() as i64),
            Cell::Int(helped_by[v]),
            Cell::Text(top),
            Cell::Text(helped_members),
        ]);
    }
    table
}

fn join(ids: impl Iterator<Item = i64>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for (i, id) in ids.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{id}");
    }
    out
}

#[cfg(test)]
mod tests {
    use kith_model::{Activity, Author, Kind, Timestamp};

    use super::*;
    use crate::params::Params;
    use crate::testkit::{Community, at, member_of};

    fn id(c: &Community, who: &str) -> i64 {
        member_of(&c.store, "forum", who).unwrap().0
    }

    fn row(v: &MetricValue, member: i64) -> &[Cell] {
        v.table("members")
            .unwrap()
            .rows
            .iter()
            .find(|r| r[0] == Cell::Int(member))
            .unwrap()
    }

    // Range and as-of: 2024-03-01 ..= 2024-03-31, as-of 2024-03-31T00:00:00Z; half-life 90 days.
    // - t1 by ann (Mar 30): bob replies (Mar 30) → bob → ann, weight 2^(−1/90) ≈ 0.992; ann
    //   and bob also co-participate (0.5 × 0.992): ann–bob connected;
    // - t2 by bob (Mar 1): cat answers on Mar 1 (30 days before as-of: 2^(−30/90) = 0.794)
    //   → bob–cat connected;
    // - ann mentions cat in a post (t3, Mar 31 00:00, weight 1) → ann–cat connected;
    // - dan posts t4 on Mar 20 and nobody answers: dan is an isolated newcomer (first
    //   participation 11 days before as-of);
    // - eve joined in 2023 (first participation 2023-06-01) and posts t5 on Mar 5 with no
    //   answer: isolated, not a newcomer.
    // Graph: ann, bob, cat form a triangle; dan and eve isolated. members 5, connections 3,
    // density 3 / 10, connected 3 (0.6), largest component 3; directed: bob→ann, cat→bob,
    // ann→cat (each ≥ 0.25 alone), none reciprocated → reciprocity 0; max core 2, core members
    // (core ≥ 1) the three; betweenness 0 for all (a triangle has no intermediaries).
    #[test]
    fn replies_mentions_and_threads_make_connections() {
        let mut c = Community::new();
        c.post("eve", at("2023-06-01T10:00:00Z"), "t0");
        c.post("ann", at("2024-03-30T00:00:00Z"), "t1");
        c.reply("bob", at("2024-03-30T00:00:00Z"), "t1");
        c.post("bob", at("2024-03-01T00:00:00Z"), "t2");
        c.answer("cat", at("2024-03-01T00:00:00Z"), "t2");
        c.post("dan", at("2024-03-20T00:00:00Z"), "t4");
        c.post("eve", at("2024-03-05T00:00:00Z"), "t5");
        let snap = c.snapshot();
        // ann's mention of cat, written with `to`.
        let mut m = Activity::new(
            "forum",
            "mention",
            Kind::Post,
            Timestamp::from_secs(at("2024-03-31T00:00:00Z")),
            Some(Author::new("ann")),
        );
        m.thread = Some("t3".into());
        m.to = vec!["cat".into()];
        crate::testkit::write(&c.store, &[m]);
        let mut snap = snap;
        snap.refresh(&c.store).unwrap();
        let p = Params {
            from: Some("2024-03-01".parse().unwrap()),
            to: Some("2024-03-31".parse().unwrap()),
            as_of: Some(at("2024-03-31T00:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "network").unwrap();
        let s = &v.table("summary").unwrap().rows[0];
        assert_eq!(s[0..2], [Cell::Int(5), Cell::Int(3)]);
        assert_eq!(s[2], Cell::Real(0.3));
        assert_eq!(s[3..5], [Cell::Int(3), Cell::Real(0.6)]);
        assert_eq!(s[5], Cell::Int(3));
        assert_eq!(s[7..10], [Cell::Int(3), Cell::Int(0), Cell::Real(0.0)]);
        assert_eq!(s[10], Cell::Int(1), "dan");
        assert_eq!(s[11..14], [Cell::Int(2), Cell::Int(3), Cell::Int(0)]);
        assert_eq!(s[15], Cell::Int(1), "exact");
        let newcomers = &v.table("isolated_newcomers").unwrap().rows;
        assert_eq!(
            newcomers[0],
            vec![
                Cell::Int(id(&c, "dan")),
                Cell::Int(at("2024-03-20T00:00:00Z")),
                Cell::Int(11)
            ]
        );
        assert!(v.table("connectors").unwrap().rows.is_empty());
        let ann = row(&v, id(&c, "ann"));
        assert_eq!(ann[1], Cell::Int(2));
        let w_bob = 1.5 * (-1.0f64 / 90.0).exp2();
        let strength = ann[2].as_f64().unwrap();
        assert!((strength - (w_bob + 1.0)).abs() < 1e-12, "{strength}");
        assert_eq!(ann[4], Cell::Text("core".into()));
        // bob (0.992 × 1.5 = 1.488) is ann's strongest connection, then cat (1.0).
        assert_eq!(
            ann[9],
            Cell::Text(format!("{} {}", id(&c, "bob"), id(&c, "cat")))
        );
        // bob responded to ann's t1: helped 1; ann was helped by bob; cat helped bob.
        let bob = row(&v, id(&c, "bob"));
        assert_eq!(bob[7..9], [Cell::Int(1), Cell::Int(1)]);
        assert_eq!(bob[10], Cell::Text(id(&c, "ann").to_string()));
        let eve = row(&v, id(&c, "eve"));
        assert_eq!(eve[4], Cell::Text("isolated".into()));
    }

    // A path ann – bob – cat (bob answers both threads): bob lies on the only path between ann
    // and cat, so his betweenness is 2 ordered pairs / ((3 − 1)(3 − 2)) = 1, and he is the
    // connector. Old interactions fade: a reply in cat's thread 240 days before as-of weighs
    // (1 + 0.5 co-participation) × 2^(−240/90) = 0.236 < 0.25: not connected any more.
    #[test]
    fn the_member_between_two_others_is_the_connector_and_old_ties_fade() {
        let mut c = Community::new();
        c.post("ann", at("2024-03-10T00:00:00Z"), "t1");
        c.reply("bob", at("2024-03-10T01:00:00Z"), "t1");
        c.post("cat", at("2024-03-11T00:00:00Z"), "t2");
        c.reply("bob", at("2024-03-11T01:00:00Z"), "t2");
        let snap = c.snapshot();
        let p = Params {
            from: Some("2024-03-01".parse().unwrap()),
            to: Some("2024-03-31".parse().unwrap()),
            as_of: Some(at("2024-03-31T00:00:00Z")),
            ..Params::default()
        };
        let v = crate::compute(&snap, &p, "network").unwrap();
        let connectors = &v.table("connectors").unwrap().rows;
        assert_eq!(connectors.len(), 1);
        assert_eq!(connectors[0][0], Cell::Int(id(&c, "bob")));
        assert_eq!(connectors[0][1], Cell::Real(1.0));

        let mut old = Community::new();
        old.post("cat", at("2023-08-04T00:00:00Z"), "t2");
        old.reply("bob", at("2023-08-04T00:00:00Z"), "t2");
        old.post("cat", at("2024-03-20T00:00:00Z"), "t3");
        old.post("bob", at("2024-03-21T00:00:00Z"), "t4");
        let snap = old.snapshot();
        let v = crate::compute(&snap, &p, "network").unwrap();
        let s = &v.table("summary").unwrap().rows[0];
        assert_eq!(s[0..2], [Cell::Int(2), Cell::Int(0)], "240 days: faded");
    }

    #[test]
    fn agrees_with_the_slow_model() {
        crate::testkit::check_model(&METRIC, 64, |s| {
            let fast = crate::network::network(s);
            let slow = crate::network::model::network(s);
            if fast.nodes != slow.nodes {
                return Err(format!("nodes {:?} vs {:?}", fast.nodes, slow.nodes));
            }
            let g = &fast.graph;
            let mut pairs = std::collections::BTreeMap::new();
            for a in 0..g.nodes() {
                for i in g.start[a] as usize..g.start[a + 1] as usize {
                    let b = g.adj[i];
                    if (a as u32) < b {
                        pairs.insert(
                            (a as u32, b),
                            (fast.out_weight[i], fast.in_weight[i], fast.weight[i]),
                        );
                    }
                }
            }
            let keys: Vec<_> = pairs.keys().collect();
            let slow_keys: Vec<_> = slow.pairs.keys().collect();
            if keys != slow_keys {
                return Err(format!("connections {keys:?} vs {slow_keys:?}"));
            }
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
            for (k, (ab, ba, total)) in &pairs {
                let (sab, sba, sco) = slow.pairs[k];
                if !close(*ab, sab) || !close(*ba, sba) || !close(*total, sab + sba + sco) {
                    return Err(format!(
                        "weights of {k:?}: {ab} {ba} {total} vs {sab} {sba} {sco}"
                    ));
                }
            }
            if fast.core != slow.core {
                return Err(format!("cores {:?} vs {:?}", fast.core, slow.core));
            }
            for (a, b) in fast.betweenness.iter().zip(&slow.betweenness) {
                if !close(*a, *b) {
                    return Err(format!(
                        "betweenness {:?} vs {:?}",
                        fast.betweenness, slow.betweenness
                    ));
                }
            }
            Ok(())
        });
    }
}
