-- The SHA-256 of each enrolment sample's recording, so that the same recording sent twice (a retry
-- without an Idempotency-Key, a client that resends) is counted once towards the enrolment's speech
-- and samples, and is refused before it is analysed again (src/passport/enrolment.ts). It goes with
-- its sample: when the enrolment completes, restarts or is erased. NULL for samples stored before.
ALTER TABLE enrolment_samples ADD COLUMN audio_sha256 TEXT CHECK (audio_sha256 IS NULL OR length(audio_sha256) = 64);
