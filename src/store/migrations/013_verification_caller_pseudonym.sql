-- A verification of a caller the store holds no subject for (one who never consented: answered
-- no-consent, nothing analysed) was stored without a link, and only the audit log named whose it was:
-- an erasure left it, and the subject's view and export said nothing was held (GDPR Art. 15, 17).
-- Such a record now keeps the caller's pseudonym (subject_id stays NULL: no subject row is made for
-- someone who never opted in). Records stored before are linked from their audit entries where the
-- audit log still holds them.
ALTER TABLE verifications ADD COLUMN caller_pseudonym TEXT CHECK (caller_pseudonym IS NULL OR (subject_id IS NULL AND length(caller_pseudonym) = 64));

UPDATE verifications SET caller_pseudonym = (
  SELECT a.subject_pseudonym FROM audit_log a
  WHERE a.action = 'verification' AND a.subject_pseudonym IS NOT NULL AND json_extract(a.details, '$.verificationId') = verifications.id
) WHERE subject_id IS NULL;

CREATE INDEX verifications_by_caller ON verifications (caller_pseudonym) WHERE caller_pseudonym IS NOT NULL;
