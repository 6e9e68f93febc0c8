//! Prints the shapes of a generated community, with generation time and peak memory.
//!
//! `cargo run --release -p kith-gen --example shape_report -- 10000000 1`
//! (arguments: activities, seed; defaults 10,000,000 and 1).

#[path = "../tests/common/shapes.rs"]
mod shapes;

use std::time::Instant;

use kith_gen::{GenConfig, generate};

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "unknown".into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let activities: u64 = args.next().map_or(Ok(10_000_000), |a| a.parse())?;
    let seed: u64 = args.next().map_or(Ok(1), |a| a.parse())?;
    let config = GenConfig::new(activities, seed);
    println!(
        "generating {activities} activities, seed {seed}, {:.2} years",
        config.span_years()
    );

    // Pass 1: generation alone (text included), for throughput and the memory it needs.
    let started = Instant::now();
    let mut n = 0u64;
    let mut bytes = 0usize;
    let mut generator = generate(config.clone())?;
    for a in generator.by_ref() {
        n += 1;
        bytes += a.text.as_ref().map_or(0, String::len);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "generated {n} activities ({} members) in {secs:.2} s: {:.0} activities/s, {} MB of text; peak RSS {}",
        generator.members_so_far(),
        n as f64 / secs,
        bytes / 1_000_000,
        peak_rss()
    );
    drop(generator);

    // Pass 2: the shapes, measured from the activities as SPEC §4.0 defines them.
    let started = Instant::now();
    let mut shapes = shapes::Shapes::default();
    let mut first = None;
    let mut last = None;
    for a in generate(config)? {
        first.get_or_insert(a.ts);
        last = Some(a.ts);
        shapes.add(&a);
    }
    println!(
        "measured in {:.2} s; peak RSS with measurement {}",
        started.elapsed().as_secs_f64(),
        peak_rss()
    );
    if let (Some(f), Some(l)) = (first, last) {
        println!("span {f} .. {l}");
    }
    print!("{}", shapes.finish());
    Ok(())
}
