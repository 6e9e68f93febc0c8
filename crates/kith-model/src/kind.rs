//! Activity kinds (SPEC §2) and how §4.0 classifies them.

use std::fmt;
use std::str::FromStr;

/// What a member did. Platform-specific kinds are mapped onto these by the importers; anything
/// the mapping loses is kept in the activity's raw attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Kind {
    Join = 0,
    Leave = 1,
    /// Starts a thread.
    Post = 2,
    Reply = 3,
    Reaction = 4,
    Answer = 5,
    /// An answer accepted or marked as the solution.
    Solution = 6,
    /// Commit, pull request, documentation, translation...
    Contribution = 7,
    Rsvp = 8,
    Attend = 9,
    Feedback = 10,
    /// A change to an earlier activity (named by `reply_to`); replaces its text.
    Edit = 11,
    /// The removal of an earlier activity (named by `reply_to`); the target is kept as deleted.
    Delete = 12,
}

/// How SPEC §4.0 counts a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindClass {
    /// Counts for "active": post, reply, answer, solution, contribution, feedback, attend.
    Participation,
    /// Shows presence without participating: reaction, join, rsvp.
    Presence,
    /// Neither: edit, delete, leave (leave is a lifecycle event shown on timelines).
    Neither,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Join,
        Kind::Leave,
        Kind::Post,
        Kind::Reply,
        Kind::Reaction,
        Kind::Answer,
        Kind::Solution,
        Kind::Contribution,
        Kind::Rsvp,
        Kind::Attend,
        Kind::Feedback,
        Kind::Edit,
        Kind::Delete,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Join => "join",
            Kind::Leave => "leave",
            Kind::Post => "post",
            Kind::Reply => "reply",
            Kind::Reaction => "reaction",
            Kind::Answer => "answer",
            Kind::Solution => "solution",
            Kind::Contribution => "contribution",
            Kind::Rsvp => "rsvp",
            Kind::Attend => "attend",
            Kind::Feedback => "feedback",
            Kind::Edit => "edit",
            Kind::Delete => "delete",
        }
    }

    /// The kind named by `name` (its [`Kind::as_str`] bytes), in one `match`: stores read
    /// this once per activity.
    pub fn from_bytes(name: &[u8]) -> Option<Kind> {
        Some(match name {
            b"join" => Kind::Join,
            b"leave" => Kind::Leave,
            b"post" => Kind::Post,
            b"reply" => Kind::Reply,
            b"reaction" => Kind::Reaction,
            b"answer" => Kind::Answer,
            b"solution" => Kind::Solution,
            b"contribution" => Kind::Contribution,
            b"rsvp" => Kind::Rsvp,
            b"attend" => Kind::Attend,
            b"feedback" => Kind::Feedback,
            b"edit" => Kind::Edit,
            b"delete" => Kind::Delete,
            _ => return None,
        })
    }

    pub const fn class(self) -> KindClass {
        match self {
            Kind::Post
            | Kind::Reply
            | Kind::Answer
            | Kind::Solution
            | Kind::Contribution
            | Kind::Feedback
            | Kind::Attend => KindClass::Participation,
            Kind::Reaction | Kind::Join | Kind::Rsvp => KindClass::Presence,
            Kind::Edit | Kind::Delete | Kind::Leave => KindClass::Neither,
        }
    }

    pub const fn is_participation(self) -> bool {
        matches!(self.class(), KindClass::Participation)
    }

    /// The dense code used in compact in-memory snapshots.
    pub const fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Kind> {
        Kind::ALL.get(usize::from(code)).copied()
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of the kinds of SPEC §2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown activity kind `{0}` (expected one of: join, leave, post, reply, reaction, answer, solution, contribution, rsvp, attend, feedback, edit, delete)"
)]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::from_bytes(s.as_bytes()).ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_text_and_code() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), k);
            assert_eq!(Kind::from_bytes(k.as_str().as_bytes()), Some(k));
            assert_eq!(Kind::from_code(k.code()), Some(k));
        }
        assert!("comment".parse::<Kind>().is_err());
        assert_eq!(Kind::from_bytes(b"Post"), None);
        assert_eq!(Kind::from_bytes(b""), None);
        assert_eq!(Kind::from_code(13), None);
    }

    #[test]
    fn classes_follow_spec_4_0() {
        let participation: Vec<_> = Kind::ALL
            .into_iter()
            .filter(|k| k.is_participation())
            .collect();
        assert_eq!(
            participation,
            [
                Kind::Post,
                Kind::Reply,
                Kind::Answer,
                Kind::Solution,
                Kind::Contribution,
                Kind::Attend,
                Kind::Feedback
            ]
        );
        assert_eq!(Kind::Reaction.class(), KindClass::Presence);
        assert_eq!(Kind::Rsvp.class(), KindClass::Presence);
        assert_eq!(Kind::Join.class(), KindClass::Presence);
        assert_eq!(Kind::Leave.class(), KindClass::Neither);
    }
}
