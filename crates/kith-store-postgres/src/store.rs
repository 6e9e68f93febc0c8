//! `impl Store for PgStore`: each method is one transaction in the module for its noun.

use std::path::Path;

use kith_store::{
    ActivityId, Affiliation, AuditId, Backend, Change, Community, Counts, DeletedSource,
    ExportedActivity, IdentityRow, ImportAudit, Ingest, MemberDetail, MemberFlags, MemberId,
    MemberRow, MergeEvidence, MergeId, MergeRecord, SourceRow, SourceSummary, Store, StoreInfo,
    StoreResult, StoredAudit, Watermark,
};

use crate::PgStore;

impl Store for PgStore {
    fn describe(&self) -> StoreInfo {
        StoreInfo {
            backend: Backend::Postgres,
            location: self.pool.location.clone(),
            schema_version: self.schema_version,
        }
    }

    fn community(&self) -> StoreResult<Community> {
        self.get_community()
    }

    fn set_community(&self, community: &Community) -> StoreResult<()> {
        self.put_community(community)
    }

    fn ingest(&self) -> StoreResult<Box<dyn Ingest + '_>> {
        Ok(Box::new(self.begin_ingest()?))
    }

    fn sources(&self) -> StoreResult<Vec<SourceSummary>> {
        self.list_sources()
    }

    fn source_rows(&self) -> StoreResult<Vec<SourceRow>> {
        self.list_source_rows()
    }

    fn set_source_base_url(&self, source: &str, base_url: Option<&str>) -> StoreResult<()> {
        self.update_source_base_url(source, base_url)
    }

    fn delete_source(&self, name: &str) -> StoreResult<DeletedSource> {
        self.remove_source(name)
    }

    fn record_audit(&self, audit: &ImportAudit) -> StoreResult<AuditId> {
        self.store_audit(audit)
    }

    fn set_audit_members_merged(&self, audit: AuditId, merged: u64) -> StoreResult<()> {
        self.annotate_audit_merges(audit, merged)
    }

    fn audits(&self, source: Option<&str>, limit: usize) -> StoreResult<Vec<StoredAudit>> {
        self.list_audits(source, limit)
    }

    fn counts(&self) -> StoreResult<Counts> {
        self.table_counts()
    }

    fn members(&self, after: Option<MemberId>, limit: usize) -> StoreResult<Vec<MemberRow>> {
        self.list_members(after, limit)
    }

    fn identities(&self) -> StoreResult<Vec<IdentityRow>> {
        self.all_identities()
    }

    fn member(&self, id: MemberId) -> StoreResult<MemberDetail> {
        self.member_detail(id)
    }

    fn set_member_flags(&self, id: MemberId, flags: &MemberFlags) -> StoreResult<()> {
        self.update_member_flags(id, flags)
    }

    fn add_affiliation(&self, id: MemberId, affiliation: &Affiliation) -> StoreResult<()> {
        self.insert_affiliation(id, affiliation)
    }

    fn affiliations(&self) -> StoreResult<Vec<(MemberId, Affiliation)>> {
        self.all_affiliations()
    }

    fn merge_members(
        &self,
        into: MemberId,
        from: MemberId,
        evidence: &MergeEvidence,
    ) -> StoreResult<MergeRecord> {
        self.merge(into, from, evidence)
    }

    fn unmerge(&self, merge: MergeId, actor: &str) -> StoreResult<MergeRecord> {
        self.undo_merge(merge, actor)
    }

    fn merges(&self) -> StoreResult<Vec<MergeRecord>> {
        self.merge_log()
    }

    fn read_changes(
        &self,
        since: Watermark,
        sink: &mut dyn FnMut(Change) -> StoreResult<()>,
    ) -> StoreResult<Watermark> {
        self.changes(since, true, sink)
    }

    fn read_changes_except_activities(
        &self,
        since: Watermark,
        sink: &mut dyn FnMut(Change) -> StoreResult<()>,
    ) -> StoreResult<Watermark> {
        self.changes(since, false, sink)
    }

    fn read_entity_keys(
        &self,
        sink: &mut dyn FnMut(kith_store::EntityKey<'_>) -> StoreResult<()>,
    ) -> StoreResult<Watermark> {
        self.entity_keys(sink)
    }

    fn read_text_scores(
        &self,
        ids: std::ops::Range<i64>,
        before: Watermark,
        sink: &mut dyn FnMut(&kith_store::TextFact) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.text_scores_in(ids, before, sink)
    }

    fn activity_id_range(&self) -> StoreResult<(std::ops::Range<i64>, Watermark)> {
        self.activity_ids()
    }

    fn read_activities(
        &self,
        ids: std::ops::Range<i64>,
        before: Watermark,
        sink: &mut dyn FnMut(&kith_store::ActivityFact) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.activities_in(ids, before, sink)
    }

    fn export_activities(
        &self,
        sink: &mut dyn FnMut(ExportedActivity) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.export(sink)
    }

    fn activities_by_id(&self, ids: &[ActivityId]) -> StoreResult<Vec<ExportedActivity>> {
        self.by_id(ids)
    }

    fn backup(&self, dest: &Path) -> StoreResult<()> {
        self.dump(dest)
    }
}
