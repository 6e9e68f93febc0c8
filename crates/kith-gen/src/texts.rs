//! Message texts: templates per intent filled from word pools, with optional openers, closers
//! and code snippets, so that sentiment and intent detectors see varied, realistic text
//! (questions, answers, thanks, bug reports, feature requests, complaints, praise, ...).

use rand::Rng;

/// What a message is for; chooses its templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intent {
    Question,
    Answer,
    FollowUp,
    Thanks,
    BugReport,
    FeatureRequest,
    Complaint,
    Praise,
    Introduction,
    BotWelcome,
    Welcome,
    Announcement,
    Release,
    EventAnnouncement,
    Showcase,
    Chatter,
    Discussion,
    Agreement,
    Hostile,
    Moderation,
    Contribution,
    CiResult,
    FeedbackAck,
    Review,
    Digest,
}

const TOPICS: &[&str] = &[
    "the CLI",
    "the Python SDK",
    "the REST API",
    "webhooks",
    "the Docker image",
    "the Helm chart",
    "SSO login",
    "the dashboard",
    "CSV export",
    "the search index",
    "the plugin system",
    "rate limiting",
    "the Postgres backend",
    "the mobile app",
    "notifications",
    "the config file",
    "the migration tool",
    "OAuth tokens",
    "the scheduler",
    "the JavaScript client",
    "the importer",
    "the admin panel",
    "backups",
    "the GraphQL endpoint",
    "i18n support",
    "the Terraform provider",
    "the audit log",
    "the Slack integration",
    "the metrics page",
    "two-factor auth",
];

/// The tag of each of [`TOPICS`], in the same order, as a forum would label a question about
/// it (Stack Exchange style: lower case, the article dropped, words joined by hyphens).
static TAGS: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| TOPICS.iter().map(|t| tag_of(t)).collect());

/// A topic's tag: "the REST API" is `rest-api`.
fn tag_of(topic: &str) -> String {
    topic
        .trim_start_matches("the ")
        .to_lowercase()
        .replace(' ', "-")
}

const ERRORS: &[&str] = &[
    "`connection refused`",
    "a 502 from the gateway",
    "a panic in the worker",
    "`permission denied`",
    "a timeout after 30 s",
    "`invalid token`",
    "`ModuleNotFoundError: No module named 'kith'`",
    "`error: linking with cc failed`",
    "a blank page",
    "`SSL: CERTIFICATE_VERIFY_FAILED`",
    "an OOM kill",
    "`429 Too Many Requests`",
    "`unexpected end of JSON input`",
    "a segfault on start",
    "duplicate rows",
];

const VERSIONS: &[&str] = &[
    "2.3.1",
    "2.4.0",
    "2.4.0-rc1",
    "1.9.7",
    "3.0.0-beta.2",
    "2.2.5",
    "2.5.1",
    "3.0.2",
];

const SYSTEMS: &[&str] = &[
    "Ubuntu 22.04",
    "macOS 14 on an M2",
    "Windows 11",
    "Debian 12",
    "Alpine in Docker",
    "Fedora 40",
    "a Raspberry Pi",
    "Kubernetes 1.29",
    "WSL2",
    "Arch",
];

const FEATURES: &[&str] = &[
    "dark mode",
    "a bulk edit option",
    "SAML support",
    "an offline mode",
    "keyboard shortcuts",
    "export to Parquet",
    "per-channel permissions",
    "scheduled reports",
    "a public status page",
    "webhook retries",
    "custom fields",
    "better search filters",
    "a Go client",
    "threaded replies in the digest",
];

const PROJECTS: &[&str] = &[
    "a small dashboard for our book club",
    "a Home Assistant integration",
    "a CLI wrapper in Rust",
    "a VS Code extension",
    "a tutorial series",
    "a Grafana panel",
    "a Discord bridge",
    "a data pipeline for our lab",
    "a theme pack",
    "a Jupyter notebook of examples",
];

const PLACES: &[&str] = &[
    "Lagos",
    "Berlin",
    "São Paulo",
    "Pune",
    "Toronto",
    "Kraków",
    "Osaka",
    "Nairobi",
    "Melbourne",
    "Lyon",
    "Austin",
    "Seoul",
    "Istanbul",
    "Bogotá",
    "Manchester",
];

const ROLES: &[&str] = &[
    "a backend developer",
    "a data analyst",
    "a student",
    "a sysadmin",
    "a PhD candidate",
    "a designer",
    "a hobbyist",
    "a DevOps engineer",
    "a teacher",
    "a product manager",
];

const SNIPPETS: &[&str] = &[
    "```\n$ kith sync --all\nerror: could not connect to server\n```",
    "```python\nclient = Client(token=os.environ[\"TOKEN\"])\nclient.items.list(limit=100)\n```",
    "```yaml\nserver:\n  port: 8080\n  workers: 4\n```",
    "```rust\nlet cfg = Config::from_env()?;\nlet app = App::new(cfg).await?;\n```",
    "```js\nconst res = await fetch(`${base}/api/v2/items`);\nconsole.log(await res.json());\n```",
    "```sql\nSELECT count(*) FROM items WHERE created_at > now() - interval '1 day';\n```",
    "```\nFROM ghcr.io/example/app:latest\nENV LOG_LEVEL=debug\n```",
];

const OPENERS: &[&str] = &[
    "",
    "",
    "",
    "Hi all, ",
    "Hey folks! ",
    "Hello, ",
    "Quick question: ",
    "Hi everyone, ",
    "Morning! ",
];
const CLOSERS: &[&str] = &[
    "",
    "",
    "",
    " Thanks in advance!",
    " Any ideas?",
    " 🙏",
    " Cheers.",
    " Any help appreciated.",
];

const QUESTION: &[&str] = &[
    "How do I configure {t} to use a proxy?",
    "Is there a way to make {t} work on {o}?",
    "I'm getting {e} when I use {t} on {v}. What am I missing?",
    "What's the recommended way to back up {t}?",
    "Does {t} support pagination, or do I have to fetch everything at once?",
    "After upgrading to {v}, {t} gives me {e}. Has anyone seen this?",
    "Can someone explain how {t} decides what to retry?",
    "Where are the docs for {t}? I can't find anything about timeouts.",
    "Why does {t} take so long on {o}?",
    "Is {t} safe to run behind a load balancer?",
    "How can I migrate from {v} without downtime?",
    "Newbie here: how do I get started with {t}?",
];

const ANSWER: &[&str] = &[
    "You need to set the `timeout` option in the config; the default is too low for {t}.",
    "That's a known issue in {v}. Upgrading to the latest patch release fixes it.",
    "Try clearing the cache and restarting; {t} keeps stale tokens otherwise.",
    "Check the permissions on the data directory, that's usually what causes {e}.",
    "The docs page on {t} has an example, look for the section on environment variables.",
    "I had the same problem on {o}. Installing the missing system package solved it.",
    "You can pass `--verbose` to see what {t} is doing; my guess is a DNS issue.",
    "Pagination is supported: use the `cursor` field from the previous response.",
    "It works for me with this setup:",
    "Set `workers` to the number of cores and it should be much faster.",
    "This is expected behaviour: {t} retries only idempotent requests.",
    "Have a look at the migration guide, there is a zero-downtime section for {v}.",
];

const FOLLOW_UP: &[&str] = &[
    "I tried that but still get {e}.",
    "Which version are you on? I'm on {v}.",
    "Here is my config:",
    "Not sure I follow, where exactly do I set that?",
    "Thanks! One more thing: does this also apply to {t}?",
    "Hmm, same result on {o}.",
    "Ok, I'll try that tonight and report back.",
];

const THANKS: &[&str] = &[
    "Thanks, that worked!",
    "That fixed it, thank you so much!",
    "Perfect, works now. Thanks!",
    "Thank you, you saved my day.",
    "Brilliant, thanks for the quick help!",
    "Yes! That was it. Thanks a lot.",
    "Thanks, much appreciated.",
    "Great, problem solved 🎉",
];

const BUG: &[&str] = &[
    "Bug: {t} crashes with {e} on {v}. Steps to reproduce: start the server, open {t}, wait a minute.",
    "Since {v}, {t} returns {e} for every request. Worked fine on the previous release.",
    "Found a regression in {t}: results are duplicated after a restart ({o}).",
    "{t} leaks memory on {o}, RSS grows by about 1 GB a day. Logs attached.",
    "Clicking save in {t} does nothing, the console shows {e}.",
];

const FEATURE: &[&str] = &[
    "Feature request: {x} for {t}.",
    "It would be great to have {x}.",
    "Could we get {x}? Our team really needs it.",
    "Proposal: add {x} to {t}, happy to help test.",
    "+1 for {x}, any plans?",
    "Would you consider {x}? Right now we work around it with scripts.",
];

const COMPLAINT: &[&str] = &[
    "Honestly {t} has been frustrating lately, it breaks after every update.",
    "The docs for {t} are really confusing, I wasted hours on this.",
    "Disappointed that {x} still isn't there after two years of requests.",
    "This upgrade to {v} was painful, nothing in the changelog warned about it.",
    "{t} is so slow on {o} it's barely usable.",
];

const PRAISE: &[&str] = &[
    "Just wanted to say {t} is fantastic, thanks to everyone who works on it!",
    "Love the new release, {t} is so much faster now 😍",
    "Huge thanks to the team, {v} is rock solid for us.",
    "This community is awesome, I always get help here.",
    "Great work on {t}, it made our migration painless.",
];

const INTRO: &[&str] = &[
    "Hi everyone! I'm {r} from {l}, just started using {t}.",
    "Hello from {l}! I'm {r} and I found this project through a blog post.",
    "New here 👋 I'm {r}, looking forward to learning from you all.",
    "Hey! {r} here, based in {l}. We are evaluating {t} at work.",
    "Hi, I'm {r}. Mostly interested in {t} and {x}.",
];

const BOT_WELCOME: &[&str] = &[
    "Welcome to the community! 👋 Please read the guidelines and tell us what you are working on.",
    "Welcome aboard! The #help channel is the best place for questions, and the FAQ is pinned there.",
];

const WELCOME: &[&str] = &[
    "Welcome! Glad to have you here.",
    "Welcome to the community! Let us know if you need anything.",
    "Hi and welcome! {t} is a great place to start.",
    "Welcome 👋 Great to see people from {l} here!",
];

const ANNOUNCEMENT: &[&str] = &[
    "We just released {v}! Highlights: faster {t}, {x}, and many bug fixes.",
    "Heads up: planned maintenance on Saturday, {t} may be unavailable for an hour.",
    "New docs for {t} are live. Feedback welcome!",
    "Our community survey is open, it takes five minutes and helps us plan the roadmap.",
    "Security notice: please upgrade to {v}, it fixes an issue in {t}.",
];

const RELEASE: &[&str] = &[
    "Release {v} published. Changelog: {t} improvements and {x}.",
    "New nightly build of {v} is available.",
];

const EVENT: &[&str] = &[
    "Join us for {n}! We'll demo {t} and answer questions live.",
    "{n} is next week: lightning talks, a {t} deep-dive and open Q&A.",
    "Save the date: {n}. Bring your questions about {t}!",
];

const SHOWCASE: &[&str] = &[
    "I built {p} on top of {t}, feedback welcome!",
    "Show and tell: {p}. Source is on GitHub.",
    "Finished {p} this weekend, thanks to everyone who helped in #help.",
    "Sharing {p}, it uses {t} under the hood.",
];

const CHATTER: &[&str] = &[
    "Anyone else watching the game tonight?",
    "Coffee or tea while coding? ☕",
    "What's everyone reading this week?",
    "Happy Friday everyone!",
    "It's snowing in {l} again 🥶",
    "Anyone going to a conference in {l} this year?",
    "Just adopted a cat, she keeps walking on my keyboard",
    "Recommendations for a mechanical keyboard?",
];

const DISCUSSION: &[&str] = &[
    "How are you all deploying {t} in production?",
    "What's your favourite workflow for {t}?",
    "Curious how people handle {t} at scale.",
    "Is anyone using {t} together with {x}?",
    "Thoughts on the roadmap for {v}?",
];

const AGREEMENT: &[&str] = &[
    "Same here.",
    "+1, we do the same.",
    "Good point.",
    "I agree, that's how we run it too.",
    "Interesting, thanks for sharing!",
    "We use a similar setup on {o}.",
    "Nice! 👍",
    "That matches my experience with {t}.",
    "Not sure about that, it didn't work for us.",
];

const HOSTILE: &[&str] = &[
    "This is garbage and so are the people who wrote it.",
    "Are you stupid? Read the docs before posting.",
    "What an idiotic question.",
    "Nobody cares about your useless project, get lost.",
    "You people are clueless morons.",
    "Shut up, nobody asked you.",
];

const MODERATION: &[&str] = &[
    "Please keep it civil, see the code of conduct.",
    "Removed a message that broke the guidelines. Let's stay kind.",
];

const CONTRIBUTION: &[&str] = &[
    "docs: fix typo in the {t} guide",
    "fix: handle {e} in {t}",
    "feat: add {x}",
    "test: cover {t} edge cases",
    "chore: bump dependencies for {v}",
    "i18n: update translations",
    "perf: speed up {t} startup",
];

const CI: &[&str] = &[
    "✅ CI passed (12 checks).",
    "❌ CI failed: 1 of 12 checks failed (lint).",
    "✅ All checks have passed.",
];

const FEEDBACK_ACK: &[&str] = &[
    "Thanks for the suggestion! Logged it for the roadmap discussion.",
    "Good idea, we're tracking this.",
    "This is planned for {v}.",
    "Thanks, we'd welcome a pull request for this.",
];

const REVIEW: &[&str] = &[
    "Thanks! Merged.",
    "LGTM, one small nit inline.",
    "Could you add a test for this?",
    "Nice catch, thank you!",
    "This conflicts with main, could you rebase?",
];

const DIGEST: &[&str] =
    &["Weekly digest: new threads in #help and #showcase, say hi to this week's newcomers!"];

fn pick<'a, R: Rng>(rng: &mut R, pool: &'a [&'a str]) -> &'a str {
    pool[rng.random_range(0..pool.len())]
}

/// Writes `template` into `out`, filling placeholders from the pools; returns the tag of the
/// first topic it wrote, if any.
fn fill<R: Rng>(rng: &mut R, template: &str, aux: u32, out: &mut String) -> Option<&'static str> {
    let mut tag_of_first = None;
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let tag = rest.as_bytes().get(open + 1).copied().unwrap_or(b'}');
        match tag {
            b't' => {
                let i = rng.random_range(0..TOPICS.len());
                out.push_str(TOPICS[i]);
                tag_of_first = tag_of_first.or(TAGS.get(i).map(String::as_str));
            }
            b'e' => out.push_str(pick(rng, ERRORS)),
            b'v' => out.push_str(pick(rng, VERSIONS)),
            b'o' => out.push_str(pick(rng, SYSTEMS)),
            b'x' => out.push_str(pick(rng, FEATURES)),
            b'p' => out.push_str(pick(rng, PROJECTS)),
            b'l' => out.push_str(pick(rng, PLACES)),
            b'r' => out.push_str(pick(rng, ROLES)),
            b'n' => {
                use std::fmt::Write;
                let _ = write!(out, "Community Call #{aux}");
            }
            _ => out.push('{'),
        }
        rest = rest.get(open + 3..).unwrap_or("");
    }
    out.push_str(rest);
    tag_of_first
}

/// A message for `intent`. `aux` numbers the event for event announcements.
#[cfg(test)]
pub(crate) fn compose<R: Rng>(rng: &mut R, intent: Intent, aux: u32) -> String {
    compose_tagged(rng, intent, aux).0
}

/// [`compose`], with the tag of the first topic the message names (the same draws: the same
/// text for the same generator state).
pub(crate) fn compose_tagged<R: Rng>(
    rng: &mut R,
    intent: Intent,
    aux: u32,
) -> (String, Option<&'static str>) {
    let mut out = String::with_capacity(96);
    let (pool, decorate, snippet): (&[&str], bool, f64) = match intent {
        Intent::Question => (QUESTION, true, 0.15),
        Intent::Answer => (ANSWER, false, 0.12),
        Intent::FollowUp => (FOLLOW_UP, false, 0.1),
        Intent::Thanks => (THANKS, false, 0.0),
        Intent::BugReport => (BUG, true, 0.25),
        Intent::FeatureRequest => (FEATURE, true, 0.0),
        Intent::Complaint => (COMPLAINT, false, 0.0),
        Intent::Praise => (PRAISE, false, 0.0),
        Intent::Introduction => (INTRO, false, 0.0),
        Intent::BotWelcome => (BOT_WELCOME, false, 0.0),
        Intent::Welcome => (WELCOME, false, 0.0),
        Intent::Announcement => (ANNOUNCEMENT, false, 0.0),
        Intent::Release => (RELEASE, false, 0.0),
        Intent::EventAnnouncement => (EVENT, false, 0.0),
        Intent::Showcase => (SHOWCASE, false, 0.05),
        Intent::Chatter => (CHATTER, false, 0.0),
        Intent::Discussion => (DISCUSSION, true, 0.0),
        Intent::Agreement => (AGREEMENT, false, 0.0),
        Intent::Hostile => (HOSTILE, false, 0.0),
        Intent::Moderation => (MODERATION, false, 0.0),
        Intent::Contribution => (CONTRIBUTION, false, 0.0),
        Intent::CiResult => (CI, false, 0.0),
        Intent::FeedbackAck => (FEEDBACK_ACK, false, 0.0),
        Intent::Review => (REVIEW, false, 0.0),
        Intent::Digest => (DIGEST, false, 0.0),
    };
    if decorate {
        out.push_str(pick(rng, OPENERS));
    }
    let template = pick(rng, pool);
    let tag = fill(rng, template, aux, &mut out);
    if decorate {
        out.push_str(pick(rng, CLOSERS));
    }
    if snippet > 0.0 && rng.random_bool(snippet) {
        out.push_str("\n\n");
        out.push_str(pick(rng, SNIPPETS));
    }
    (out, tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// A topic's tag is the topic in lower case, its article dropped, its words joined by
    /// hyphens; every topic has one, and no two share it.
    #[test]
    fn each_topic_has_its_tag() {
        assert_eq!(tag_of("the REST API"), "rest-api");
        assert_eq!(tag_of("two-factor auth"), "two-factor-auth");
        assert_eq!(tag_of("SSO login"), "sso-login");
        assert_eq!(TAGS.len(), TOPICS.len());
        let distinct: std::collections::HashSet<&String> = TAGS.iter().collect();
        assert_eq!(distinct.len(), TAGS.len());
    }

    #[test]
    fn texts_are_filled_and_varied() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..5000 {
            let t = compose(&mut rng, Intent::Question, 1);
            let unfilled = t
                .as_bytes()
                .windows(3)
                .any(|w| w[0] == b'{' && w[1].is_ascii_lowercase() && w[2] == b'}');
            assert!(!unfilled, "{t}");
            seen.insert(t);
        }
        assert!(seen.len() > 1000, "{}", seen.len());
        assert!(compose(&mut rng, Intent::EventAnnouncement, 7).contains("#7"));
    }
}
