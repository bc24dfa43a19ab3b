-- API keys may expire (GDPR Art. 32(1)(b) access control; a credential that outlives its use is a
-- standing risk, cf. NIST SP 800-57 Part 1 §5.3 cryptoperiods). NULL: the key does not expire, as
-- every key made before this migration.
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
