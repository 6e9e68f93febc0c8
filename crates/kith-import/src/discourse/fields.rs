//! What the reader takes from a topic and its posts, decoded two ways: sparsely and typed
//! straight from the file's bytes (the fast path: fields kith does not read are skipped, text
//! borrowed where it has no escapes), or from a `serde_json::Value` (any file the typed
//! decoding refuses, so that odd files read exactly as before). Both give the same fields.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Post fields kept in `attrs` (the rest are viewer-specific flags such as `can_edit`).
pub(super) const POST_ATTRS: [&str; 16] = [
    "post_number",
    "reply_to_post_number",
    "updated_at",
    "trust_level",
    "post_type",
    "reads",
    "score",
    "wiki",
    "hidden",
    "deleted_at",
    "user_deleted",
    "user_title",
    "primary_group_name",
    "moderator",
    "admin",
    "version",
];
pub(super) const TOPIC_ATTRS: [&str; 9] = [
    "title",
    "slug",
    "views",
    "like_count",
    "closed",
    "archived",
    "pinned",
    "archetype",
    "tags",
];

/// A number given as a JSON number or as a numeric string.
pub(super) fn u64_of(v: &Value, key: &str) -> Option<u64> {
    value_u64(v.get(key)?)
}

fn value_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// One post, as [`super::Reader::post`] reads it.
#[derive(Debug, Default, PartialEq)]
pub(super) struct PostFields<'a> {
    pub id: Option<u64>,
    pub number: Option<u64>,
    /// Non-empty.
    pub created_at: Option<Cow<'a, str>>,
    pub post_type: Option<u64>,
    pub reply_to_post_number: Option<u64>,
    /// `accepted_answer: true` on the post.
    pub accepted: bool,
    pub user_id: Option<i64>,
    /// Non-empty strings.
    pub username: Option<Cow<'a, str>>,
    pub name: Option<Cow<'a, str>>,
    pub display_username: Option<Cow<'a, str>>,
    pub staff: bool,
    pub raw: Option<Cow<'a, str>>,
    pub cooked: Option<Cow<'a, str>>,
    pub category_id: Option<u64>,
    pub topic_slug: Option<Cow<'a, str>>,
    /// The [`POST_ATTRS`] present and not null.
    pub attrs: Vec<(&'static str, Value)>,
}

impl<'a> PostFields<'a> {
    pub fn from_value(p: &'a Value) -> PostFields<'a> {
        let text = |key| str_of(p, key).map(Cow::Borrowed);
        PostFields {
            id: u64_of(p, "id"),
            number: u64_of(p, "post_number"),
            created_at: text("created_at"),
            post_type: u64_of(p, "post_type"),
            reply_to_post_number: u64_of(p, "reply_to_post_number"),
            accepted: p.get("accepted_answer").and_then(Value::as_bool) == Some(true),
            user_id: u64_of(p, "user_id")
                .map(|u| u as i64)
                .or_else(|| p.get("user_id").and_then(Value::as_i64)),
            username: text("username"),
            name: text("name"),
            display_username: text("display_username"),
            staff: p.get("staff").and_then(Value::as_bool) == Some(true),
            raw: text("raw"),
            cooked: text("cooked"),
            category_id: u64_of(p, "category_id"),
            topic_slug: text("topic_slug"),
            attrs: POST_ATTRS
                .iter()
                .filter_map(|&key| Some((key, p.get(key).filter(|v| !v.is_null())?.clone())))
                .collect(),
        }
    }
}

/// The topic-level fields a topic's opening post carries.
#[derive(Debug, Default, PartialEq)]
pub(super) struct TopicFields<'a> {
    pub category_id: Option<u64>,
    /// Non-empty.
    pub slug: Option<Cow<'a, str>>,
    /// The [`TOPIC_ATTRS`] present and not null.
    pub attrs: Vec<(&'static str, Value)>,
}

impl<'a> TopicFields<'a> {
    pub fn from_value(t: &'a Value) -> TopicFields<'a> {
        TopicFields {
            category_id: u64_of(t, "category_id"),
            slug: str_of(t, "slug").map(Cow::Borrowed),
            attrs: TOPIC_ATTRS
                .iter()
                .filter_map(|&key| Some((key, t.get(key).filter(|v| !v.is_null())?.clone())))
                .collect(),
        }
    }
}

/// A topic file with its posts, decoded typed; `None` when the file is anything else or
/// anything unusual (not JSON, duplicate keys, a post that is not an object...): the caller
/// then reads it through a `Value`.
pub(super) struct TypedTopic<'a> {
    pub id: Option<u64>,
    /// `post_stream.stream[0]`, a JSON number.
    pub first_in_stream: Option<u64>,
    /// `accepted_answer.post_number`.
    pub accepted_number: Option<u64>,
    pub topic: TopicFields<'a>,
    pub posts: Vec<PostFields<'a>>,
}

pub(super) fn typed_topic(bytes: &[u8]) -> Option<TypedTopic<'_>> {
    let Object(doc) = serde_json::from_slice::<Object<TopicDe<'_>>>(bytes).ok()?;
    let Object(stream) = doc.post_stream?;
    let posts = stream.posts?;
    let mut topic = TopicFields {
        category_id: doc.category_id.as_ref().and_then(Scalar::as_u64),
        slug: doc
            .slug
            .as_ref()
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| Cow::Owned(s.to_owned())),
        attrs: Vec::new(),
    };
    for (key, v) in TOPIC_ATTRS.iter().zip([
        doc.title,
        doc.slug,
        doc.views,
        doc.like_count,
        doc.closed,
        doc.archived,
        doc.pinned,
        doc.archetype,
        doc.tags,
    ]) {
        if let Some(v) = v {
            topic.attrs.push((key, v));
        }
    }
    Some(TypedTopic {
        id: doc.id.as_ref().and_then(Scalar::as_u64),
        first_in_stream: stream
            .stream
            .as_ref()
            .and_then(|s| s.pointer("/0"))
            .and_then(Value::as_u64),
        accepted_number: doc
            .accepted_answer
            .as_ref()
            .and_then(|a| u64_of(a, "post_number")),
        topic,
        posts: posts.into_iter().map(|Object(p)| p.into_fields()).collect(),
    })
}

/// A JSON object decoded as `T` (serde's derived structs would also take an array).
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Object<T>, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Object)
            }
        }
        d.deserialize_map(ObjectVisitor(PhantomData))
    }
}

/// Any JSON value, kept only as far as the reader looks at it (`null` is `Option::None`).
enum Scalar<'a> {
    Bool(bool),
    U64(u64),
    I64(i64),
    Str(Cow<'a, str>),
    /// A float, an array or an object.
    Other,
}

impl<'a> Scalar<'a> {
    /// As [`u64_of`] reads a value.
    fn as_u64(&self) -> Option<u64> {
        match self {
            Scalar::U64(n) => Some(*n),
            Scalar::I64(n) => u64::try_from(*n).ok(),
            Scalar::Str(s) => s.parse().ok(),
            _ => None,
        }
    }

    fn as_i64(&self) -> Option<i64> {
        match self {
            Scalar::U64(n) => i64::try_from(*n).ok(),
            Scalar::I64(n) => Some(*n),
            _ => None,
        }
    }

    fn is_true(&self) -> bool {
        matches!(self, Scalar::Bool(true))
    }

    /// A non-empty string.
    fn text(self) -> Option<Cow<'a, str>> {
        match self {
            Scalar::Str(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar<'a>, D::Error> {
        struct ScalarVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
            type Value = Scalar<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar<'a>, E> {
                Ok(Scalar::U64(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar<'a>, E> {
                Ok(Scalar::I64(v))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Other)
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'a>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'a>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(ScalarVisitor(PhantomData))
    }
}

#[derive(serde::Deserialize)]
struct TopicDe<'a> {
    #[serde(borrow)]
    id: Option<Scalar<'a>>,
    #[serde(borrow)]
    post_stream: Option<Object<StreamDe<'a>>>,
    accepted_answer: Option<Value>,
    #[serde(borrow)]
    category_id: Option<Scalar<'a>>,
    title: Option<Value>,
    slug: Option<Value>,
    views: Option<Value>,
    like_count: Option<Value>,
    closed: Option<Value>,
    archived: Option<Value>,
    pinned: Option<Value>,
    archetype: Option<Value>,
    tags: Option<Value>,
}

#[derive(serde::Deserialize)]
struct StreamDe<'a> {
    #[serde(borrow)]
    posts: Option<Vec<Object<PostDe<'a>>>>,
    stream: Option<Value>,
}

#[derive(serde::Deserialize)]
struct PostDe<'a> {
    #[serde(borrow)]
    id: Option<Scalar<'a>>,
    #[serde(borrow)]
    created_at: Option<Scalar<'a>>,
    #[serde(borrow)]
    accepted_answer: Option<Scalar<'a>>,
    #[serde(borrow)]
    user_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    username: Option<Scalar<'a>>,
    #[serde(borrow)]
    name: Option<Scalar<'a>>,
    #[serde(borrow)]
    display_username: Option<Scalar<'a>>,
    #[serde(borrow)]
    staff: Option<Scalar<'a>>,
    #[serde(borrow)]
    raw: Option<Scalar<'a>>,
    #[serde(borrow)]
    cooked: Option<Scalar<'a>>,
    #[serde(borrow)]
    category_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    topic_slug: Option<Scalar<'a>>,
    // POST_ATTRS, in its order.
    post_number: Option<Value>,
    reply_to_post_number: Option<Value>,
    updated_at: Option<Value>,
    trust_level: Option<Value>,
    post_type: Option<Value>,
    reads: Option<Value>,
    score: Option<Value>,
    wiki: Option<Value>,
    hidden: Option<Value>,
    deleted_at: Option<Value>,
    user_deleted: Option<Value>,
    user_title: Option<Value>,
    primary_group_name: Option<Value>,
    moderator: Option<Value>,
    admin: Option<Value>,
    version: Option<Value>,
}

impl<'a> PostDe<'a> {
    fn into_fields(self) -> PostFields<'a> {
        let number = self.post_number.as_ref().and_then(value_u64);
        let post_type = self.post_type.as_ref().and_then(value_u64);
        let reply_to_post_number = self.reply_to_post_number.as_ref().and_then(value_u64);
        let text = |s: Option<Scalar<'a>>| s.and_then(Scalar::text);
        let user_id = self
            .user_id
            .as_ref()
            .and_then(|u| u.as_u64().map(|u| u as i64).or_else(|| u.as_i64()));
        let mut attrs = Vec::with_capacity(POST_ATTRS.len());
        for (key, v) in POST_ATTRS.iter().zip([
            self.post_number,
            self.reply_to_post_number,
            self.updated_at,
            self.trust_level,
            self.post_type,
            self.reads,
            self.score,
            self.wiki,
            self.hidden,
            self.deleted_at,
            self.user_deleted,
            self.user_title,
            self.primary_group_name,
            self.moderator,
            self.admin,
            self.version,
        ]) {
            if let Some(v) = v {
                attrs.push((*key, v));
            }
        }
        PostFields {
            id: self.id.as_ref().and_then(Scalar::as_u64),
            number,
            created_at: text(self.created_at),
            post_type,
            reply_to_post_number,
            accepted: self.accepted_answer.is_some_and(|a| a.is_true()),
            user_id,
            username: text(self.username),
            name: text(self.name),
            display_username: text(self.display_username),
            staff: self.staff.is_some_and(|s| s.is_true()),
            raw: text(self.raw),
            cooked: text(self.cooked),
            category_id: self.category_id.as_ref().and_then(Scalar::as_u64),
            topic_slug: text(self.topic_slug),
            attrs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed decoding of `json`, and the same fields read through a `Value`.
    fn both(json: &str) -> (TypedTopic<'_>, Value) {
        let typed = typed_topic(json.as_bytes()).expect("decodes typed");
        (typed, serde_json::from_str(json).expect("valid JSON"))
    }

    fn assert_same(json: &str) {
        let (typed, doc) = both(json);
        assert_eq!(typed.id, u64_of(&doc, "id"));
        assert_eq!(
            typed.first_in_stream,
            doc.pointer("/post_stream/stream/0").and_then(Value::as_u64)
        );
        assert_eq!(
            typed.accepted_number,
            doc.get("accepted_answer")
                .and_then(|a| u64_of(a, "post_number"))
        );
        assert_eq!(typed.topic, TopicFields::from_value(&doc));
        let posts = doc["post_stream"]["posts"].as_array().expect("posts");
        let by_value: Vec<PostFields> = posts.iter().map(PostFields::from_value).collect();
        assert_eq!(typed.posts, by_value);
    }

    #[test]
    fn typed_decoding_reads_every_field_as_the_value_path_does() {
        // Odd but valid input: ids as strings, a negative, a huge and a string user id, floats,
        // non-boolean flags (which are not `true`), empty strings (absent), text with escapes,
        // nulls, nested values kept in attrs, unknown fields of every shape.
        assert_same(
            r#"{"id":"12","slug":"","title":"T\u00e9","tags":["a","b"],"views":null,"category_id":"4",
               "accepted_answer":{"post_number":"3"},"extra":{"deep":[1,{"x":null}]},
               "post_stream":{"stream":["5",6],"posts":[
                 {"id":5,"post_number":1,"created_at":"2024-01-01T00:00:00Z","user_id":-1,
                  "username":"system","name":"","display_username":"Sys","staff":"true",
                  "raw":"line\none \"quoted\"","cooked":"<p>x</p>","version":{"x":1},
                  "accepted_answer":1,"reads":2.5,"deleted_at":null,"can_edit":true},
                 {"id":"6","post_number":2.0,"created_at":"","user_id":"7","staff":true,
                  "raw":"","cooked":"<p>c</p>","reply_to_post_number":"1","topic_slug":"s",
                  "accepted_answer":true,"post_type":3,"category_id":9,"actions_summary":[{"id":2}]},
                 {"id":18446744073709551615,"user_id":18446744073709551615,"post_number":-3,
                  "username":"u","wiki":false,"hidden":false,"moderator":null,"admin":true},
                 {}
               ]}}"#,
        );
        // The stream's first entry counts only as a JSON number; other topic-level shapes.
        assert_same(
            r#"{"id":1.0,"accepted_answer":7,"post_stream":{"stream":{"0":5},"posts":[]}}"#,
        );
        assert_same(r#"{"id":3,"post_stream":{"stream":[8],"posts":[]},"accepted_answer":null}"#);
    }

    #[test]
    fn typed_decoding_borrows_text_without_escapes() {
        let (typed, _) =
            both(r#"{"id":1,"post_stream":{"posts":[{"id":1,"raw":"plain","cooked":"a\nb"}]}}"#);
        assert!(matches!(typed.posts[0].raw, Some(Cow::Borrowed("plain"))));
        assert!(matches!(typed.posts[0].cooked, Some(Cow::Owned(_))));
    }

    #[test]
    fn anything_unusual_is_left_to_the_value_path() {
        for json in [
            // Duplicate keys: a `Value` keeps the last one.
            r#"{"id":1,"id":2,"post_stream":{"posts":[]}}"#,
            r#"{"id":1,"post_stream":{"posts":[{"id":1,"id":2}]}}"#,
            // A post or the stream that is not an object (serde would read an array as a struct).
            r#"{"id":1,"post_stream":{"posts":[[1,2]]}}"#,
            r#"{"id":1,"post_stream":[{"posts":[]}]}"#,
            r#"[{"id":1,"post_stream":{"posts":[]}}]"#,
            // Not a topic page: a single post, a topic list, posts not a list.
            r#"{"id":1,"post_number":1,"topic_id":2}"#,
            r#"{"topic_list":{"topics":[]}}"#,
            r#"{"id":1,"post_stream":{"posts":null}}"#,
            r#"{"id":1,"post_stream":{"posts":{}}}"#,
            // Not JSON.
            r#"{"id":1,"post_stream":{"posts":[]}"#,
            "",
        ] {
            assert!(typed_topic(json.as_bytes()).is_none(), "{json}");
        }
    }

    #[test]
    fn typed_decoding_agrees_on_real_topics() {
        let Some(data) = std::env::var_os("KITH_SHARED_DATA") else {
            return;
        };
        let dir = std::path::Path::new(&data).join("api-fixtures-perceval/discourse");
        let mut topics = 0;
        for entry in std::fs::read_dir(&dir).expect("the Perceval Discourse fixtures") {
            let path = entry.expect("a directory entry").path();
            let text = std::fs::read_to_string(&path).expect("a readable fixture");
            if typed_topic(text.as_bytes()).is_some() {
                assert_same(&text);
                topics += 1;
            }
        }
        // discourse_topic_1148.json, _1149.json and _1150.json are topic pages, and
        // discourse_posts.json has a `post_stream` of four posts.
        assert_eq!(topics, 4);
    }
}
