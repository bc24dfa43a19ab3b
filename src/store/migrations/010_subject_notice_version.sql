-- The notice each subject last agreed to, kept on the subject row. Each subject is kept no longer
-- than that notice says (GDPR Art. 13(2)(a); src/passport/retention.ts), so every retention query with
-- a notice's shorter period selected its subjects by finding each one's latest `given` consent event:
-- one lookup per subject, the most of the hourly sweep's time (README, Benchmarks). A trigger sets the
-- column as the event is appended, in the same statement, so no code path can leave it behind the
-- consent history it is read from; the history stays the record.
ALTER TABLE subjects ADD COLUMN notice_version TEXT;
UPDATE subjects SET notice_version =
  (SELECT notice_version FROM consent_events WHERE subject_id = subjects.id AND kind = 'given' ORDER BY id DESC LIMIT 1);
CREATE INDEX subjects_by_notice_version ON subjects (notice_version) WHERE notice_version IS NOT NULL;
CREATE TRIGGER consent_given_sets_subject_notice AFTER INSERT ON consent_events
WHEN NEW.kind = 'given'
BEGIN
  UPDATE subjects SET notice_version = NEW.notice_version WHERE id = NEW.subject_id;
END;
