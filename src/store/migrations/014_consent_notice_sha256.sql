-- The SHA-256 of the notice text a consent was given to (the version's text in the language shown),
-- so that the record proves which words were agreed to even if the file under that version were
-- edited later (GDPR Art. 7(1)); the service warns at start when a text in use no longer matches.
-- NULL where no language was named, and for consents recorded before.
ALTER TABLE consent_events ADD COLUMN notice_sha256 TEXT CHECK (notice_sha256 IS NULL OR (kind = 'given' AND length(notice_sha256) = 64));
