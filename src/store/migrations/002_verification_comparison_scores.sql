-- The comparison-scale figures of each verification, as the API answered them (accuracy issue 4):
-- normalised_score is the AS-norm score that decided when the model enables score normalisation
-- (NULL otherwise, and for every row written before this migration), raw_threshold the policy
-- threshold on that same comparison scale. With AS-norm on, raw_score (the cosine) alone no longer
-- decides, so an operator needs these to see where accepts and rejects fall against the threshold.
ALTER TABLE verifications ADD COLUMN normalised_score REAL;
ALTER TABLE verifications ADD COLUMN raw_threshold REAL;
