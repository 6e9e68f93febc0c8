//! Finding activities in the snapshot for the views that show them (a member's timeline, a
//! thread): the snapshot knows which activity belongs to whom and to which thread without an
//! index in the database, so the web app asks here for store ids and reads the text by primary
//! key. Lookups, not metrics: one pass over the activity columns, no I/O.

use crate::snapshot::{NONE, Snapshot};

impl Snapshot {
    /// The dense index of a member by its store id.
    pub fn member_index(&self, member_store_id: i64) -> Option<u32> {
        self.member_store_id
            .iter()
            .position(|&id| id == member_store_id)
            .map(|i| i as u32)
    }

    /// Store ids of a member's live activities (every kind, team and bot ones included), newest
    /// first, at most `limit`; with the member's total count of live activities.
    pub fn member_activity_ids(&self, member_store_id: i64, limit: usize) -> (Vec<i64>, usize) {
        let Some(m) = self.member_index(member_store_id) else {
            return (Vec::new(), 0);
        };
        let mut found: Vec<(i64, i64)> = Vec::new();
        for slot in 0..self.slots() {
            if self.flags[slot] == 0 && self.member_of(slot) == m {
                found.push((self.ts[slot], self.ids[slot]));
            }
        }
        let total = found.len();
        found.sort_unstable_by(|a, b| b.cmp(a));
        found.truncate(limit);
        (found.into_iter().map(|(_, id)| id).collect(), total)
    }

    /// Store ids of a thread's live activities, in time order (ties by id).
    pub fn thread_activity_ids(&self, thread_store_id: i64) -> Vec<i64> {
        let Some(t) =
            (0..self.threads() as u32).find(|&t| self.thread_store_id(t) == thread_store_id)
        else {
            return Vec::new();
        };
        let mut found: Vec<(i64, i64)> = (0..self.slots())
            .filter(|&s| self.flags[s] == 0 && self.thread[s] == t)
            .map(|s| (self.ts[s], self.ids[s]))
            .collect();
        found.sort_unstable();
        found.into_iter().map(|(_, id)| id).collect()
    }

    /// The thread (store id) of an activity, by the activity's store id.
    pub fn thread_of_activity(&self, activity_store_id: i64) -> Option<i64> {
        let slot = self.slot_of(activity_store_id)? as usize;
        let t = self.thread[slot];
        (t != NONE).then(|| self.thread_store_id(t))
    }
}

#[cfg(test)]
mod tests {
    use kith_model::{Activity, Author, Kind, Timestamp};

    use crate::Snapshot;
    use crate::testkit::{member_of, write};
    use kith_store::Store;

    fn act(id: &str, kind: Kind, who: &str, ts: i64, thread: &str) -> Activity {
        let mut a = Activity::new(
            "forum",
            id,
            kind,
            Timestamp::from_secs(ts),
            Some(Author::new(who)),
        );
        a.thread = Some(thread.into());
        a
    }

    #[test]
    fn a_members_timeline_is_newest_first_and_a_thread_in_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = kith_store_sqlite::SqliteStore::open(&dir.path().join("k.db")).unwrap();
        write(
            &store,
            &[
                act("1", Kind::Post, "ann", 100, "t1"),
                act("2", Kind::Reply, "bob", 300, "t1"),
                act("3", Kind::Reply, "ann", 200, "t1"),
                act("4", Kind::Post, "ann", 400, "t2"),
            ],
        );
        let snap = Snapshot::build(&store).unwrap();
        let ann = member_of(&store, "forum", "ann").unwrap();
        let (ids, total) = snap.member_activity_ids(ann.0, 2);
        // ann wrote activities at 100, 200 and 400: the newest two are ids of "4" and "3".
        assert_eq!(total, 3);
        let ext = |id: i64| {
            store
                .activities_by_id(&[kith_store::ActivityId(id)])
                .unwrap()[0]
                .activity
                .id
                .clone()
        };
        assert_eq!(ids.iter().map(|&i| ext(i)).collect::<Vec<_>>(), ["4", "3"]);
        let thread = snap.thread_of_activity(ids[1]).unwrap();
        let in_thread: Vec<String> = snap
            .thread_activity_ids(thread)
            .into_iter()
            .map(ext)
            .collect();
        assert_eq!(in_thread, ["1", "3", "2"], "by time: 100, 200, 300");
        assert!(snap.member_activity_ids(i64::MAX, 5).0.is_empty());
    }
}
