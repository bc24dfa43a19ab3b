-- The hourly retention sweep (src/passport/retention.ts) runs on the service's event loop, so it
-- must not read the whole store. These indexes let its queries read times and ids only:
-- - templates by creation time, covering the voiceprint query (the rowid is the subject id), which
--   read every ciphertext before;
-- - enrolment samples by subject and time, covering the abandoned-enrolment query;
-- - withdrawals by time (a partial index), so the consent-record query starts from the consents
--   that ended before its cutoff instead of every subject.
-- Measured by scripts/bench/retention-sweep-bench.ts (README, Benchmarks).
CREATE INDEX templates_by_created ON templates (created_at);
CREATE INDEX enrolment_samples_by_subject_time ON enrolment_samples (subject_id, created_at);
CREATE INDEX consent_withdrawals_by_time ON consent_events (occurred_at) WHERE kind = 'withdrawn';
