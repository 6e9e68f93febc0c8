//! The generated community has the shapes of a real one, measured straight from its
//! activities with SPEC §4.0 definitions (see `common/shapes.rs`).

mod common;

use std::collections::HashSet;

use common::shapes::{Report, Shapes};
use kith_gen::{GenConfig, generate};
use kith_model::{Activity, Kind};

const SIZE: u64 = 200_000;

fn measure(seed: u64) -> Report {
    let mut shapes = Shapes::default();
    for a in generate(GenConfig::new(SIZE, seed)).unwrap() {
        shapes.add(&a);
    }
    shapes.finish()
}

#[test]
fn a_community_of_200k_has_real_shapes_for_several_seeds() {
    for seed in [1, 2, 3] {
        let r = measure(seed);
        let ctx = format!("seed {seed}:\n{r}");
        assert_eq!(r.activities, SIZE, "{ctx}");
        assert!(
            r.top1_share >= 0.25,
            "the most active 1 % produce >= 25 % of participation; {ctx}"
        );
        assert!(
            r.at_most_one_share >= 0.5,
            ">= 50 % of members never participate again; {ctx}"
        );
        assert!(
            (1.0..=6.0).contains(&r.ttfr_median_h),
            "median first response 1-6 h; {ctx}"
        );
        assert!(
            (0.05..=0.20).contains(&r.unanswered_share),
            "5-20 % unanswered; {ctx}"
        );
        assert!(
            r.weekday_weekend >= 1.3,
            "weekdays busier than weekends; {ctx}"
        );
        assert!(
            r.newcomers_fast >= 200 && r.newcomers_never >= 50,
            "enough newcomers to compare; {ctx}"
        );
        assert!(r.response_effect() >= 1.5, "answered newcomers stay; {ctx}");
        println!("{ctx}");
    }
}

#[test]
fn the_same_seed_gives_the_same_community_and_another_seed_another() {
    let a: Vec<Activity> = generate(GenConfig::new(20_000, 7)).unwrap().collect();
    let b: Vec<Activity> = generate(GenConfig::new(20_000, 7)).unwrap().collect();
    let c: Vec<Activity> = generate(GenConfig::new(20_000, 8)).unwrap().collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn a_small_community_is_sane() {
    let config = GenConfig::new(1_000, 1);
    let end = config.end;
    let all: Vec<Activity> = generate(config).unwrap().collect();
    assert_eq!(all.len(), 1_000);
    let ids: HashSet<&str> = all.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), all.len(), "ids are unique");
    assert!(all.windows(2).all(|w| w[0].ts <= w[1].ts), "time order");
    assert!(
        all.iter()
            .all(|a| a.ts < end && a.source == "demo" && a.channel.is_some() && a.author.is_some())
    );
    for kind in [Kind::Join, Kind::Post, Kind::Reply, Kind::Reaction] {
        assert!(all.iter().any(|a| a.kind == kind), "has {kind}");
    }
}

#[test]
fn the_records_are_well_formed() {
    let all: Vec<Activity> = generate(GenConfig::new(50_000, 5)).unwrap().collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut texts: HashSet<&str> = HashSet::new();
    let (mut staff, mut bots, mut non_latin) = (HashSet::new(), HashSet::new(), false);
    for a in &all {
        let author = a.author.as_ref().unwrap();
        if author.team == Some(true) {
            staff.insert(author.id.as_str());
        }
        if author.bot == Some(true) {
            bots.insert(author.id.as_str());
        }
        non_latin |= author
            .name
            .as_deref()
            .is_some_and(|n| n.chars().any(|c| u32::from(c) > 0x36F));
        if matches!(a.kind, Kind::Post | Kind::Reply | Kind::Answer) {
            let thread = a
                .thread
                .as_deref()
                .expect("posts and replies carry their thread");
            assert!(
                seen.contains(thread) || thread == a.id,
                "thread {thread} opened before {}",
                a.id
            );
        }
        if a.kind == Kind::Reply || a.kind == Kind::Answer {
            let target = a
                .reply_to
                .as_deref()
                .expect("replies name what they reply to");
            assert!(
                seen.contains(target),
                "{} replies to earlier {target}",
                a.id
            );
            assert_eq!(a.to.len(), 1, "replies address someone");
        }
        if matches!(a.kind, Kind::Rsvp | Kind::Attend) {
            assert!(a.attrs.contains_key("event_id") && a.attrs.contains_key("event_name"));
        }
        if let Some(t) = &a.text {
            texts.insert(t);
        }
        seen.insert(&a.id);
    }
    assert!(
        (4..=12).contains(&staff.len()),
        "a handful of staff: {}",
        staff.len()
    );
    assert!(
        (1..=3).contains(&bots.len()),
        "one to three bots: {}",
        bots.len()
    );
    assert!(non_latin, "some names are not in Latin script");
    assert!(texts.len() > 2_000, "varied texts: {}", texts.len());
    let hostile = all.iter().filter(|a| a.kind == Kind::Delete).count();
    assert!(hostile > 0, "a few hostile messages are moderated");
}

/// The help channel is a forum: its questions carry the tag of the topic they name, which
/// kith keeps as their thread's topic; nothing else is tagged.
#[test]
fn help_questions_are_tagged_with_the_topic_they_name() {
    let all: Vec<Activity> = generate(GenConfig::new(50_000, 5)).unwrap().collect();
    let (mut tagged, mut help_posts) = (0, 0);
    let mut tags: HashSet<String> = HashSet::new();
    for a in &all {
        let help_post = a.kind == Kind::Post && a.channel.as_deref() == Some("help");
        help_posts += usize::from(help_post);
        let Some(value) = a.attrs.get("tags") else {
            continue;
        };
        assert!(help_post, "only help questions are tagged: {:?}", a.id);
        let list = value.as_array().expect("tags are a list");
        assert_eq!(list.len(), 1, "one tag: {value}");
        let tag = list[0].as_str().expect("a tag is a string");
        // The tag names the topic: its words are in the question, in order.
        let text = a.text.as_deref().unwrap_or_default().to_lowercase();
        assert!(
            text.replace('-', " ").contains(&tag.replace('-', " ")),
            "{tag} in {text:?}"
        );
        assert_eq!(kith_store::topics_of_attrs(&a.attrs), vec![tag.to_owned()]);
        tagged += 1;
        tags.insert(tag.to_owned());
    }
    assert!(
        tagged * 2 > help_posts,
        "most help questions name a topic: {tagged} of {help_posts}"
    );
    assert!(tags.len() >= 20, "the topics vary: {}", tags.len());
}

#[test]
fn bad_configurations_are_refused() {
    assert!(generate(GenConfig::new(0, 1)).is_err());
    assert!(
        generate(GenConfig {
            years: Some(f64::NAN),
            ..GenConfig::new(10, 1)
        })
        .is_err()
    );
    assert!(
        generate(GenConfig {
            source: String::new(),
            ..GenConfig::new(10, 1)
        })
        .is_err()
    );
}

/// The 10-million-activity figures; run with `cargo test --release -p kith-gen -- --ignored`
/// (or the `shape_report` example, which also times generation).
#[test]
#[ignore]
fn ten_million_activities_have_real_shapes() {
    let mut shapes = Shapes::default();
    for a in generate(GenConfig::new(10_000_000, 1)).unwrap() {
        shapes.add(&a);
    }
    let r = shapes.finish();
    println!("{r}");
    assert!(r.top1_share >= 0.25 && r.at_most_one_share >= 0.5 && r.response_effect() >= 1.5);
}
