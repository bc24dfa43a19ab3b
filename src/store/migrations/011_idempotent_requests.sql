-- Answers to POSTs sent with an Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): a
-- telephony platform that lost an answer and retries gets the same answer, instead of a second
-- verification (one more attempt towards the lockout) or a second copy of an enrolment sample. Kept
-- a day (src/passport/idempotency.ts), erased with the subject. The key is kept as its SHA-256 only:
-- it is the client's string and could carry anything. `response` is NULL while the first request
-- is still being processed.
CREATE TABLE idempotent_requests (
  actor_key_id TEXT NOT NULL,
  key_sha256 TEXT NOT NULL CHECK (length(key_sha256) = 64),
  operation TEXT NOT NULL CHECK (operation IN ('verify', 'enrol')),
  subject_pseudonym TEXT NOT NULL CHECK (length(subject_pseudonym) = 64),
  fingerprint TEXT CHECK (fingerprint IS NULL OR length(fingerprint) = 64),
  response TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (actor_key_id, key_sha256),
  CHECK ((response IS NULL) = (fingerprint IS NULL))
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotent_requests_by_time ON idempotent_requests (created_at);
CREATE INDEX idempotent_requests_by_subject ON idempotent_requests (subject_pseudonym);
