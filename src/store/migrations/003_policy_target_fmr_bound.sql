-- What a policy's target FMR bounds (accuracy issue 4 §3): 'estimate', the FMR measured on the
-- calibration speakers, or 'upper-95', the upper end of its 95 % interval over resampled speakers.
-- NULL for explicit thresholds, and for target policies written before this migration, which bound
-- the estimate (the only rule there was).
ALTER TABLE policies ADD COLUMN target_fmr_bound TEXT CHECK (target_fmr_bound IS NULL OR target_fmr_bound IN ('estimate', 'upper-95'));
