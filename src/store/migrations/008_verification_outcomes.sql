-- What a verification really was, once the bank knows (issue: operators watch error rates): the caller
-- was the customer ('genuine') or not ('impostor'), and how that became known. One row per
-- verification, replaced when a later finding corrects it. It goes with its verification: the
-- history's retention, an erasure or a withdrawal removes both (ON DELETE CASCADE), so a label never
-- outlives the record it describes (GDPR Art. 5(1)(e)).
CREATE TABLE verification_outcomes (
  verification_id TEXT PRIMARY KEY REFERENCES verifications (id) ON DELETE CASCADE,
  truth TEXT NOT NULL CHECK (truth IN ('genuine', 'impostor')),
  source TEXT NOT NULL CHECK (source IN ('step-up', 'agent', 'customer-report', 'fraud-case')),
  actor_key_id TEXT,
  reported_at TEXT NOT NULL
);
