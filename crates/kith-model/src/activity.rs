//! The canonical activity record: what every importer produces and every store accepts.

use serde_json::{Map, Value};

use crate::{Kind, Timestamp};

/// Who did something, as the platform knows them. `id` is the stable platform user id, unique
/// within the source; the rest is what was seen with it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Author {
    pub id: String,
    pub name: Option<String>,
    pub handle: Option<String>,
    pub email: Option<String>,
    /// The platform says this is staff of the organisation running the community.
    pub team: Option<bool>,
    /// The platform says this is a bot.
    pub bot: Option<bool>,
}

impl Author {
    pub fn new(id: impl Into<String>) -> Author {
        Author {
            id: id.into(),
            ..Author::default()
        }
    }
}

/// One activity in canonical form (SPEC §2, §3). Keyed by (`source`, `id`).
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// The source's name. Empty only while an importer has not yet been told the name.
    pub source: String,
    /// The platform's own id for the activity (or the derived key documented per format).
    pub id: String,
    pub kind: Kind,
    pub ts: Timestamp,
    /// `None` for author-less content (unknown or deleted account): it gets an anonymous
    /// identity of its own, counted as a human, never merged, left out of member counts.
    pub author: Option<Author>,
    pub channel: Option<String>,
    pub thread: Option<String>,
    /// The activity this one replies to; for `edit` and `delete`, the activity changed.
    pub reply_to: Option<String>,
    /// Platform user ids addressed (reply target, mentions).
    pub to: Vec<String>,
    pub text: Option<String>,
    pub url: Option<String>,
    /// Everything the format knows that the canonical fields cannot hold.
    pub attrs: Map<String, Value>,
}

impl Activity {
    pub fn new(
        source: impl Into<String>,
        id: impl Into<String>,
        kind: Kind,
        ts: Timestamp,
        author: Option<Author>,
    ) -> Activity {
        Activity {
            source: source.into(),
            id: id.into(),
            kind,
            ts,
            author,
            channel: None,
            thread: None,
            reply_to: None,
            to: Vec::new(),
            text: None,
            url: None,
            attrs: Map::new(),
        }
    }

    /// A hash of everything but the key (`source`, `id`): equal hashes mean a re-import brings
    /// nothing new; a different hash under the same key is an edit.
    pub fn content_hash(&self) -> u64 {
        if self.attrs.is_empty() {
            self.content_hash_with_attrs(None)
        } else {
            // serde_json's Map is ordered by key, so equal maps serialise equally.
            let json = serde_json::to_vec(&self.attrs).unwrap_or_default();
            self.content_hash_with_attrs(Some(&json))
        }
    }

    /// [`Activity::content_hash`] for a caller that serialised `attrs` already (for storing
    /// them): `attrs_json` is `serde_json::to_vec(&self.attrs)`, `None` when `attrs` is empty.
    pub fn content_hash_with_attrs(&self, attrs_json: Option<&[u8]>) -> u64 {
        // The fields are laid out in one buffer and hashed in one call: the same bytes as a
        // streaming hasher fed field by field (so the same value), at a fraction of the cost
        // of its many small updates. The buffer is kept per thread.
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BUF.with_borrow_mut(|buf| {
            buf.clear();
            self.content_bytes(attrs_json, buf);
            let hash = xxhash_rust::xxh3::xxh3_64(buf);
            if buf.capacity() > 1 << 20 {
                // One huge activity does not keep its buffer for the thread's life.
                *buf = Vec::new();
            }
            hash
        })
    }

    /// What the content hash covers, as tagged, length-prefixed fields.
    fn content_bytes(&self, attrs_json: Option<&[u8]>, buf: &mut Vec<u8>) {
        let mut field = |tag: u8, bytes: &[u8]| {
            buf.push(tag);
            buf.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            buf.extend_from_slice(bytes);
        };
        field(1, self.kind.as_str().as_bytes());
        field(2, &self.ts.secs.to_le_bytes());
        field(3, &self.ts.micros.to_le_bytes());
        field(4, &self.ts.offset_min.to_le_bytes());
        if let Some(a) = &self.author {
            field(5, a.id.as_bytes());
            for (tag, v) in [(6, &a.name), (7, &a.handle), (8, &a.email)] {
                if let Some(v) = v {
                    field(tag, v.as_bytes());
                }
            }
            for (tag, v) in [(9, a.team), (10, a.bot)] {
                if let Some(v) = v {
                    field(tag, &[u8::from(v)]);
                }
            }
        }
        for (tag, v) in [
            (11, &self.channel),
            (12, &self.thread),
            (13, &self.reply_to),
            (14, &self.text),
            (15, &self.url),
        ] {
            if let Some(v) = v {
                field(tag, v.as_bytes());
            }
        }
        for t in &self.to {
            field(16, t.as_bytes());
        }
        if let Some(json) = attrs_json {
            field(17, json);
        }
    }
}

/// What kith derived about an activity, added to exports (SPEC §3) and ignored on import.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Derived {
    /// kith's member id after identity resolution.
    pub member: Option<i64>,
    pub team: bool,
    pub bot: bool,
    pub sentiment: Option<Sentiment>,
    pub hostility: Option<f32>,
    pub intents: Vec<String>,
    pub inferred_thread: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sentiment {
    pub score: f32,
    pub confidence: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Activity {
        let mut a = Activity::new(
            "s",
            "1",
            Kind::Post,
            Timestamp::from_secs(1_700_000_000),
            Some(Author::new("u1")),
        );
        a.text = Some("hello".into());
        a
    }

    #[test]
    fn content_hash_ignores_the_key_and_sees_every_field() {
        let a = sample();
        let mut b = a.clone();
        b.id = "other".into();
        b.source = "other".into();
        assert_eq!(a.content_hash(), b.content_hash());

        let mut c = a.clone();
        c.text = Some("hello!".into());
        assert_ne!(a.content_hash(), c.content_hash());

        let mut d = a.clone();
        d.attrs.insert("pinned".into(), Value::Bool(true));
        assert_ne!(a.content_hash(), d.content_hash());

        // Moving text between fields must not collide.
        let mut e = a.clone();
        e.text = None;
        e.url = Some("hello".into());
        assert_ne!(a.content_hash(), e.content_hash());
    }

    /// Stored hashes decide whether a re-import updates a row, so their values must never
    /// change between versions: these were computed by the streaming hasher that the one-shot
    /// hash replaced (the same bytes, so the same values).
    #[test]
    fn content_hash_values_are_stable_across_versions() {
        let a = sample();
        let mut full = a.clone();
        let author = full.author.as_mut().unwrap();
        author.name = Some("Ada Lovelace".into());
        author.handle = Some("ada".into());
        author.email = Some("ada@example.org".into());
        author.team = Some(true);
        author.bot = Some(false);
        full.channel = Some("general".into());
        full.thread = Some("t1".into());
        full.reply_to = Some("0".into());
        full.url = Some("https://example.org/1".into());
        full.to = vec!["u2".into(), "u3".into()];
        full.text = Some("a longer text, so that the hashed input passes 240 bytes: ".repeat(6));
        full.attrs.insert("pinned".into(), Value::Bool(true));
        assert_eq!(
            [a.content_hash(), full.content_hash()],
            [15_265_342_192_804_170_782, 16_633_616_310_752_724_090]
        );
    }

    #[test]
    fn content_hash_with_attrs_given_is_the_content_hash() {
        let mut a = sample();
        a.attrs.insert("pinned".into(), Value::Bool(true));
        a.attrs.insert("likes".into(), Value::from(3));
        let json = serde_json::to_vec(&a.attrs).unwrap();
        assert_eq!(a.content_hash_with_attrs(Some(&json)), a.content_hash());
        a.attrs.clear();
        assert_eq!(a.content_hash_with_attrs(None), a.content_hash());
    }
}
