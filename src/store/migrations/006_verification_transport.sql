-- How the audio of each verification came (streaming verification): 'request', the recording in a
-- POST body, or 'stream', the call's audio over a WebSocket. The subject's export shows it (GDPR
-- Art. 15) as the audit entry already did. NULL for rows written before this migration.
ALTER TABLE verifications ADD COLUMN transport TEXT CHECK (transport IS NULL OR transport IN ('request', 'stream'));
