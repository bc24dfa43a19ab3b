-- The bytes (SHA-256 of the ONNX file) each model id ran as on this store. Voiceprints and samples
-- name their model by id; a different network registered later under the same id (a fresh models
-- folder, a file replaced by hand) would otherwise score them without any error. The service
-- records the running model's hash at start and refuses another one under an id whose voiceprints
-- are still held (src/passport/model-fingerprint.ts).
CREATE TABLE model_fingerprints (
  model_id TEXT PRIMARY KEY,
  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
  recorded_at TEXT NOT NULL
) STRICT;
