-- A verification of a caller the store holds no subject for (one who never consented: answered
-- no-consent, nothing analysed) was stored without a link, and only the audit log named whose it was:
-- an erasure left it, and the subject's view and export said nothing was held (GDPR Art. 15, 17).
-- Such a record now keeps the caller's pseudonym (subject_id stays NULL: no subject row is made for
-- someone who never opted in). Records stored before are linked from their audit entries where the
-- audit log still holds them.
ALTER TABLE verifications ADD COLUMN caller_pseudonym TEXT CHECK (caller_pseudonym IS NULL OR (subject_id IS NULL AND length(caller_pseudonym) = 64));

-- Through a keyed table, one pass over each side: a correlated lookup into the audit log's JSON for
-- every unlinked record would read the whole log once per record.
CREATE TEMP TABLE migration_013_callers (verification_id TEXT PRIMARY KEY, pseudonym TEXT NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO migration_013_callers (verification_id, pseudonym)
  SELECT json_extract(details, '$.verificationId'), subject_pseudonym FROM audit_log
  WHERE action = 'verification' AND outcome = 'no-consent' AND subject_pseudonym IS NOT NULL AND json_extract(details, '$.verificationId') IS NOT NULL;
UPDATE verifications SET caller_pseudonym = (SELECT c.pseudonym FROM migration_013_callers c WHERE c.verification_id = verifications.id)
  WHERE subject_id IS NULL;
DROP TABLE migration_013_callers;

CREATE INDEX verifications_by_caller ON verifications (caller_pseudonym) WHERE caller_pseudonym IS NOT NULL;
