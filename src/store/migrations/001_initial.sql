-- 001_initial: the Voice Passport schema (issue 3).
-- Applied inside one transaction by src/store/migrate.ts: no BEGIN/COMMIT here.
-- Times are ISO-8601 UTC strings from Date.toISOString(): they sort as text.
-- No table holds a customer id: subjects are keyed by an HMAC pseudonym (GDPR Art. 4(5), 25, 32(1)(a)).

-- Small facts about the store itself, e.g. the master key check value (wrong key → refuse to start).
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

-- API keys: only SHA-256 hashes of the secrets are stored (issue 3 "stored only as hashes").
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('telephony', 'enrolment', 'operator', 'admin')),
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  key_hash BLOB NOT NULL UNIQUE CHECK (length(key_hash) = 32),
  created_at TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at TEXT
) STRICT;

-- Subjects: pseudonym, enrolment state and attempt-limiting state (NIST SP 800-63B §3.2.3), kept in
-- the database so a restart does not reset it. The columns are scoring/attempts.ts's AttemptState:
-- the throttle window is derived from last_reject_at, so changing the limits needs no data migration.
CREATE TABLE subjects (
  id INTEGER PRIMARY KEY,
  pseudonym TEXT NOT NULL UNIQUE CHECK (length(pseudonym) = 64),
  created_at TEXT NOT NULL,
  last_used_at TEXT,
  enrolment_state TEXT NOT NULL DEFAULT 'none' CHECK (enrolment_state IN ('none', 'enrolling', 'enrolled')),
  model_id TEXT,
  enrolled_at TEXT,
  consecutive_rejects INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_rejects >= 0),
  last_reject_at TEXT,
  verification_disabled INTEGER NOT NULL DEFAULT 0 CHECK (verification_disabled IN (0, 1))
) STRICT;

-- Consent history (GDPR Art. 7(1): the controller must be able to demonstrate consent; Art. 7(3)
-- withdrawal). Append-only by convention; erasure only blanks `evidence`, keeping its hash as proof.
CREATE TABLE consent_events (
  id INTEGER PRIMARY KEY,
  subject_id INTEGER NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('given', 'withdrawn')),
  notice_version TEXT,
  channel TEXT CHECK (channel IS NULL OR channel IN ('ivr', 'web', 'app', 'agent')),
  locale TEXT,
  evidence TEXT CHECK (evidence IS NULL OR length(evidence) <= 4096),
  evidence_sha256 TEXT,
  reason TEXT,
  actor_key_id TEXT,
  occurred_at TEXT NOT NULL,
  CHECK (kind = 'withdrawn' OR (notice_version IS NOT NULL AND channel IS NOT NULL))
) STRICT;
CREATE INDEX consent_events_by_subject ON consent_events (subject_id, id);

-- Per-subject data key, wrapped (AES-256-GCM) by a key derived from the master key, which is never in
-- the database (ISO/IEC 24745 renewability/irreversibility; Art. 32(1)(a) encryption). Templates and
-- samples reference this row: deleting it deletes them (crypto-shredding plus row deletion).
CREATE TABLE subject_keys (
  subject_id INTEGER PRIMARY KEY REFERENCES subjects (id) ON DELETE CASCADE,
  wrapped_key BLOB NOT NULL,
  created_at TEXT NOT NULL
) STRICT;

-- The voiceprint: one encrypted embedding per subject; re-enrolment replaces it.
CREATE TABLE templates (
  subject_id INTEGER PRIMARY KEY REFERENCES subject_keys (subject_id) ON DELETE CASCADE,
  model_id TEXT NOT NULL,
  format_version INTEGER NOT NULL,
  ciphertext BLOB NOT NULL,
  iv BLOB NOT NULL CHECK (length(iv) = 12),
  tag BLOB NOT NULL CHECK (length(tag) = 16),
  sample_count INTEGER NOT NULL CHECK (sample_count >= 1),
  net_speech_seconds REAL NOT NULL CHECK (net_speech_seconds >= 0),
  created_at TEXT NOT NULL
) STRICT;

-- Encrypted embeddings of an enrolment in progress; deleted when it completes or is erased.
CREATE TABLE enrolment_samples (
  id INTEGER PRIMARY KEY,
  subject_id INTEGER NOT NULL REFERENCES subject_keys (subject_id) ON DELETE CASCADE,
  model_id TEXT NOT NULL,
  format_version INTEGER NOT NULL,
  ciphertext BLOB NOT NULL,
  iv BLOB NOT NULL CHECK (length(iv) = 12),
  tag BLOB NOT NULL CHECK (length(tag) = 16),
  net_speech_seconds REAL NOT NULL CHECK (net_speech_seconds >= 0),
  created_at TEXT NOT NULL
) STRICT;
CREATE INDEX enrolment_samples_by_subject ON enrolment_samples (subject_id, id);

-- Verification history: decisions and scores only, never audio or embeddings (Art. 5(1)(c)).
-- subject_id is NULL for calls about a customer the store has never seen (no row is created for them).
CREATE TABLE verifications (
  id TEXT PRIMARY KEY,
  subject_id INTEGER REFERENCES subjects (id) ON DELETE CASCADE,
  occurred_at TEXT NOT NULL,
  policy TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('accept', 'reject', 'inconclusive', 'not-enrolled', 'no-consent', 'locked')),
  reasons TEXT NOT NULL DEFAULT '[]',
  score REAL,
  raw_score REAL,
  threshold REAL,
  net_speech_seconds REAL,
  model_id TEXT,
  actor_key_id TEXT
) STRICT;
CREATE INDEX verifications_by_subject ON verifications (subject_id, occurred_at);
CREATE INDEX verifications_by_time ON verifications (occurred_at);

-- Named risk tiers set by operators (scoring/policy.ts). target_fmr records the false-match rate the
-- threshold was calibrated for, once calibration exists (accuracy issue); the threshold decides.
CREATE TABLE policies (
  name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 32),
  threshold REAL NOT NULL,
  target_fmr REAL CHECK (target_fmr IS NULL OR (target_fmr > 0 AND target_fmr < 1)),
  min_net_speech_seconds REAL NOT NULL CHECK (min_net_speech_seconds > 0),
  description TEXT NOT NULL DEFAULT '',
  updated_by TEXT,
  updated_at TEXT NOT NULL
) STRICT;

-- Audit log: append-only, hash-chained (Art. 5(2) accountability, Art. 30, Art. 32(1)(d)).
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY CHECK (seq >= 1),
  occurred_at TEXT NOT NULL,
  action TEXT NOT NULL,
  actor_key_id TEXT,
  subject_pseudonym TEXT,
  outcome TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
  hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
) STRICT;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit-log-append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit-log-append-only');
END;

-- Every new entry must extend the chain: next seq, and prev_hash equal to the last entry's hash.
CREATE TRIGGER audit_log_extends_chain BEFORE INSERT ON audit_log
WHEN NEW.seq <> COALESCE((SELECT max(seq) FROM audit_log), 0) + 1
  OR NEW.prev_hash <> COALESCE((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN
  SELECT RAISE(ABORT, 'audit-log-chain-broken');
END;

-- Nothing biometric is stored for a subject without active consent (Art. 9(2)(a)): the last line of
-- defence behind the use cases' own check. The message is an error-catalogue code.
CREATE TRIGGER subject_keys_require_consent BEFORE INSERT ON subject_keys
WHEN COALESCE((SELECT kind FROM consent_events WHERE subject_id = NEW.subject_id ORDER BY id DESC LIMIT 1), 'none') <> 'given'
BEGIN
  SELECT RAISE(ABORT, 'consent-required');
END;

CREATE TRIGGER templates_require_consent BEFORE INSERT ON templates
WHEN COALESCE((SELECT kind FROM consent_events WHERE subject_id = NEW.subject_id ORDER BY id DESC LIMIT 1), 'none') <> 'given'
BEGIN
  SELECT RAISE(ABORT, 'consent-required');
END;

CREATE TRIGGER templates_update_require_consent BEFORE UPDATE ON templates
WHEN COALESCE((SELECT kind FROM consent_events WHERE subject_id = NEW.subject_id ORDER BY id DESC LIMIT 1), 'none') <> 'given'
BEGIN
  SELECT RAISE(ABORT, 'consent-required');
END;

CREATE TRIGGER enrolment_samples_require_consent BEFORE INSERT ON enrolment_samples
WHEN COALESCE((SELECT kind FROM consent_events WHERE subject_id = NEW.subject_id ORDER BY id DESC LIMIT 1), 'none') <> 'given'
BEGIN
  SELECT RAISE(ABORT, 'consent-required');
END;

-- A withdrawal may only be recorded once the voiceprint is gone (erase first, same transaction):
-- so no committed state ever holds a template without consent (Art. 7(3), 17(1)(b)).
CREATE TRIGGER consent_withdrawal_requires_erasure BEFORE INSERT ON consent_events
WHEN NEW.kind = 'withdrawn' AND EXISTS (SELECT 1 FROM subject_keys WHERE subject_id = NEW.subject_id)
BEGIN
  SELECT RAISE(ABORT, 'voiceprint-present-on-withdrawal');
END;
