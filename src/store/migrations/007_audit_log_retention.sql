-- Audit log retention (GDPR Art. 5(1)(e) storage limitation for the accountability record of
-- Art. 5(2)): the oldest entries may be removed, but only as a prefix, and only after the entry the
-- remaining chain continues from (its seq and hash, the anchor) is recorded here, so `verify` can
-- check the rest and the removal is itself an audit entry (`audit.pruned`). One row at most; it only
-- moves forward, to an entry that exists when it is set.
CREATE TABLE audit_pruned (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  through_seq INTEGER NOT NULL CHECK (through_seq >= 1),
  through_hash TEXT NOT NULL CHECK (length(through_hash) = 64),
  pruned_at TEXT NOT NULL
) STRICT;

CREATE TRIGGER audit_pruned_names_an_entry BEFORE INSERT ON audit_pruned
WHEN NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.through_seq AND hash = NEW.through_hash)
BEGIN
  SELECT RAISE(ABORT, 'audit-log-anchor-invalid');
END;

CREATE TRIGGER audit_pruned_moves_forward BEFORE UPDATE ON audit_pruned
WHEN NEW.through_seq <= OLD.through_seq
  OR NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.through_seq AND hash = NEW.through_hash)
BEGIN
  SELECT RAISE(ABORT, 'audit-log-anchor-invalid');
END;

CREATE TRIGGER audit_pruned_no_delete BEFORE DELETE ON audit_pruned
BEGIN
  SELECT RAISE(ABORT, 'audit-log-append-only');
END;

-- Entries may be deleted only up to the recorded anchor; everything after it stays append-only.
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.seq > COALESCE((SELECT through_seq FROM audit_pruned WHERE id = 1), 0)
BEGIN
  SELECT RAISE(ABORT, 'audit-log-append-only');
END;
