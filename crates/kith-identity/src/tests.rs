use super::*;
use kith_store::IdentityId;
use proptest::prelude::*;

mod reference;

fn ident(id: i64, member: i64, source: i64, ext: &str) -> IdentityRow {
    IdentityRow {
        id: IdentityId(id),
        source: SourceId(source),
        ext_id: ext.into(),
        name: None,
        handle: None,
        email: None,
        member: MemberId(member),
        anonymous: false,
        team: false,
        bot: false,
    }
}

fn with(mut i: IdentityRow, f: impl FnOnce(&mut IdentityRow)) -> IdentityRow {
    f(&mut i);
    i
}

#[test]
fn same_email_across_sources_is_merged_automatically() {
    let ids = [
        with(ident(1, 1, 1, "U1"), |i| {
            i.email = Some("Ada@Example.org".into())
        }),
        with(ident(2, 2, 2, "ada-gh"), |i| {
            i.email = Some("ada@example.org ".into())
        }),
    ];
    let c = candidates(&ids);
    assert_eq!(c.len(), 1);
    assert_eq!((c[0].into, c[0].from), (MemberId(1), MemberId(2)));
    assert_eq!(c[0].evidence[0].rule, Rule::Email);
    assert!(c[0].reason().contains("ada@example.org"));
    let (apply, review) = plan(&c, &ids, DEFAULT_THRESHOLD);
    assert_eq!(apply.len(), 1);
    assert!(review.is_empty());
}

#[test]
fn two_user_ids_of_one_source_are_never_merged_automatically() {
    // Same e-mail, but both accounts live in source 1: a person must decide.
    let ids = [
        with(ident(1, 1, 1, "U1"), |i| {
            i.email = Some("ada@example.org".into())
        }),
        with(ident(2, 2, 1, "U2"), |i| {
            i.email = Some("ada@example.org".into())
        }),
    ];
    let c = candidates(&ids);
    assert_eq!(c.len(), 1);
    assert!(c[0].blocked.is_some());
    let (apply, review) = plan(&c, &ids, DEFAULT_THRESHOLD);
    assert!(apply.is_empty());
    assert_eq!(review.len(), 1);
}

#[test]
fn transitive_merges_cannot_join_two_ids_of_one_source() {
    // m1 (slack U1) ~ m3 (git) by e-mail; m2 (slack U2) ~ m3 by another e-mail.
    let ids = [
        with(ident(1, 1, 1, "U1"), |i| {
            i.email = Some("a@example.org".into())
        }),
        with(ident(2, 2, 1, "U2"), |i| {
            i.email = Some("b@example.org".into())
        }),
        with(ident(3, 3, 2, "a@example.org"), |i| {
            i.email = Some("a@example.org".into())
        }),
        with(ident(4, 3, 2, "b@example.org"), |i| {
            i.email = Some("b@example.org".into())
        }),
    ];
    let c = candidates(&ids);
    let (apply, review) = plan(&c, &ids, DEFAULT_THRESHOLD);
    assert_eq!(apply.len(), 1, "{apply:?}");
    assert_eq!(review.len(), 1);
    assert!(
        review[0]
            .blocked
            .as_deref()
            .unwrap()
            .contains("earlier merge")
    );
}

#[test]
fn mangled_pipermail_addresses_meet_clean_ones_with_the_same_name() {
    // "jane.doe@example.de" mangled lossily, as in the r-package-devel archive.
    let mangled = "j@ne@doe @end|ng |rom ex@mp|e@de";
    assert_eq!(
        address_key("pd@|gd @end|ng |rom gm@||@com"),
        address_key("pdalgd@gmail.com")
    );
    assert_eq!(address_key(mangled), address_key("jane.doe@example.de"));
    assert_eq!(
        address_key("jane.doe at example.de"),
        address_key("jane.doe@example.de")
    );
    // The mbox importer's author id form, with no recoverable e-mail.
    assert_eq!(
        address_key("j@@e@doe at ex@mp|e@de"),
        address_key("jane.doe@example.de")
    );
    let ids = [
        with(ident(1, 1, 1, "j@@e@doe at ex@mp|e@de"), |i| {
            i.name = Some("Jane Doe".into());
        }),
        with(ident(2, 2, 2, "jane.doe@example.de"), |i| {
            i.email = Some("jane.doe@example.de".into());
            i.name = Some("Jane  Doe".into());
        }),
    ];
    let c = candidates(&ids);
    assert_eq!(c.len(), 1);
    assert!(
        c[0].evidence
            .iter()
            .any(|e| e.rule == Rule::ObfuscatedAddress)
    );
    assert!(c[0].score >= 0.9);

    // The same mangled key with another name is not evidence of the address rule.
    let other = [
        ids[0].clone(),
        with(ids[1].clone(), |i| i.name = Some("John Smith".into())),
    ];
    assert!(
        candidates(&other)
            .iter()
            .all(|c| c.evidence.iter().all(|e| e.rule != Rule::ObfuscatedAddress))
    );
}

#[test]
fn github_noreply_addresses_meet_the_github_login() {
    let ids = [
        with(ident(1, 1, 1, "12345"), |i| {
            i.handle = Some("octocat".into())
        }),
        with(ident(2, 2, 2, "c"), |i| {
            i.email = Some("12345+octocat@users.noreply.github.com".into())
        }),
    ];
    let c = candidates(&ids);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].evidence[0].rule, Rule::GithubNoreply);
    assert!(c[0].score >= DEFAULT_THRESHOLD);
}

#[test]
fn a_github_login_is_evidence_only_beside_a_noreply_address_with_that_login() {
    // Member 1 has a no-reply address for `octocat` and the handle `hubot`; member 2 has the
    // handle `hubot` too. The shared handle is only the (weak) handle rule, not a GitHub login.
    let ids = [
        with(ident(1, 1, 1, "a"), |i| {
            i.email = Some("1+octocat@users.noreply.github.com".into());
            i.handle = Some("hubot".into());
        }),
        with(ident(2, 2, 2, "b"), |i| i.handle = Some("hubot".into())),
    ];
    let c = candidates(&ids);
    assert_eq!(c.len(), 1);
    let rules: Vec<Rule> = c[0].evidence.iter().map(|e| e.rule).collect();
    assert_eq!(rules, vec![Rule::Handle]);
    assert!(c[0].score < DEFAULT_THRESHOLD);
}

#[test]
fn weak_evidence_waits_for_review() {
    let ids = [
        with(ident(1, 1, 1, "u1"), |i| {
            i.handle = Some("@adal".into());
            i.name = Some("Ada Lovelace".into());
        }),
        with(ident(2, 2, 2, "u2"), |i| {
            i.handle = Some("AdaL".into());
            i.name = Some("ada lovelace".into());
        }),
    ];
    let c = candidates(&ids);
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0].score, 0.8,
        "handle 0.6 and name 0.5 combine to 1 - 0.4 * 0.5"
    );
    let (apply, review) = plan(&c, &ids, DEFAULT_THRESHOLD);
    assert!(apply.is_empty());
    assert_eq!(review.len(), 1);
    let (apply, _) = plan(&c, &ids, 0.75);
    assert_eq!(apply.len(), 1, "the threshold is a parameter");
}

#[test]
fn names_need_two_words_and_non_latin_names_compare_exactly() {
    assert_eq!(name_key("José  Müller"), Some("jose muller".into()));
    assert_eq!(name_key("Ada"), None);
    assert_eq!(name_key("王小明"), Some("王小明".into()));
    assert_eq!(name_key("李"), None);
    assert_ne!(name_key("王小明"), name_key("王小红"));
}

#[test]
fn bots_anonymous_and_common_keys_are_not_evidence() {
    let mut ids = vec![
        with(ident(1, 1, 1, "b"), |i| {
            i.email = Some("ci@example.org".into());
            i.bot = true;
        }),
        with(ident(2, 2, 2, "b2"), |i| {
            i.email = Some("ci@example.org".into())
        }),
        with(ident(3, 3, 1, "anon:1"), |i| {
            i.anonymous = true;
            i.email = Some("ci@example.org".into());
        }),
    ];
    assert!(candidates(&ids).is_empty());
    // 25 members named "John Smith": too common to be evidence.
    for m in 10..35 {
        ids.push(with(ident(m, m, m, "x"), |i| {
            i.name = Some("John Smith".into())
        }));
    }
    assert!(candidates(&ids).is_empty());
}

#[test]
fn output_is_deterministic() {
    let ids: Vec<IdentityRow> = (1..40)
        .map(|n| {
            with(ident(n, n, n % 3, &format!("u{n}")), |i| {
                i.email = Some(format!("p{}@example.org", n % 7))
            })
        })
        .collect();
    assert_eq!(candidates(&ids), candidates(&ids));
}

#[test]
fn weak_only_pairs_can_be_left_out_but_weak_evidence_still_adds_up() {
    let ids = [
        with(ident(1, 1, 1, "u1"), |i| {
            i.name = Some("Ada Lovelace".into());
            i.email = Some("ada@example.org".into());
        }),
        with(ident(2, 2, 2, "u2"), |i| {
            i.name = Some("Ada Lovelace".into());
            i.email = Some("ada@example.org".into());
        }),
        with(ident(3, 3, 3, "u3"), |i| {
            i.name = Some("Ada Lovelace".into())
        }),
    ];
    assert_eq!(
        candidates(&ids).len(),
        3,
        "all pairs, two of them by name only"
    );
    let strong = find_candidates(&ids, false);
    assert_eq!(strong.len(), 1, "only the pair a strong rule supports");
    assert!(
        strong[0].evidence.iter().any(|e| e.rule == Rule::Name),
        "with its name evidence added"
    );
    assert!(strong[0].score > 0.97);
}

/// Random identities drawn from small pools of e-mails, handles, names and sources, so that
/// keys collide often: every rule, the hard rule and the group-size cap get exercised.
fn arbitrary_identities() -> impl Strategy<Value = Vec<IdentityRow>> {
    let one = (
        1i64..40,
        1i64..4,
        0usize..12,
        prop::option::of(0usize..6),
        prop::option::of(0usize..6),
        prop::option::of(0usize..6),
        prop::bool::weighted(0.05),
    );
    prop::collection::vec(one, 0..60).prop_map(|rows| {
        const EMAILS: [&str; 6] = [
            "ada@example.org",
            "ADA@example.org ",
            "12+ada@users.noreply.github.com",
            "bob at example dot org",
            "b@b@ @end|ng |rom ex@mp|e@org",
            "carol@example.net",
        ];
        const HANDLES: [&str; 6] = ["ada", "@Ada", "bob", "carol", "x", "dave"];
        const NAMES: [&str; 6] = [
            "Ada Lovelace",
            "ada lovelace",
            "Bob Dobbs",
            "Bob",
            "Грейс Хоппер",
            "Carol Ann",
        ];
        rows.into_iter()
            .enumerate()
            .map(
                |(n, (member, source, ext, email, handle, name, bot))| IdentityRow {
                    id: IdentityId(n as i64 + 1),
                    source: SourceId(source),
                    ext_id: format!("u{ext}"),
                    name: name.map(|k| NAMES[k].to_owned()),
                    handle: handle.map(|k| HANDLES[k].to_owned()),
                    email: email.map(|k| EMAILS[k].to_owned()),
                    member: MemberId(member),
                    anonymous: false,
                    team: false,
                    bot,
                },
            )
            .collect()
    })
}

proptest! {
    #[test]
    fn candidates_and_plans_match_the_straightforward_implementation(
        ids in arbitrary_identities(),
        weak in any::<bool>(),
        threshold in prop::sample::select(vec![0.5, 0.8, 0.9, 0.95]),
    ) {
        let fast = find_candidates(&ids, weak);
        prop_assert_eq!(&fast, &reference::reference_candidates(&ids, weak));
        prop_assert_eq!(plan(&fast, &ids, threshold), reference::reference_plan(&fast, &ids, threshold));
    }
}
