-- The channel each verification was scored on (accuracy issue 4 §3): wideband and telephone audio
-- have their own calibration and policy thresholds, so operators watch the two apart. NULL when no
-- audio was analysed (not-enrolled, no-consent, locked) and for rows written before this migration.
ALTER TABLE verifications ADD COLUMN channel TEXT CHECK (channel IS NULL OR channel IN ('wideband', 'telephone'));
