#!/usr/bin/env bash
# How accuracy and the service's quality gate hold up in noise (README, *Accuracy in noise*):
# so762 through the service path (VAD speech, as a caller is embedded), as the service decides:
# voiceprints of 20 s of clean speech, one from each utterance on (eval --trials enrolment
# --voiceprints rotating), against single utterances with white noise or six-talker babble
# (scripts/eval/make-babble.ts) at 20, 10, 5 and 0 dB SNR, on both channels, and clean; then a customer who enrolled in the app (wideband, clean) and
# calls from a noisy place (telephone, babble at 20, 10 and 5 dB); one `voice-passport eval` report per
# condition, then the table.
# Usage: bash scripts/eval/noise-evals.sh [model-id] [out-dir]   (about 20 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
ID=${1:-$(node --import tsx --input-type=module -e 'const { loadConfig } = await import("./src/config.ts"); console.log(loadConfig({ VP_MODEL: process.env.VP_MODEL }).modelId)')}
OUT=${2:-data/noise-evals/$ID}
SET=../shared/data/dev/so762
if [ ! -d "$SET" ]; then echo "noise-evals: $SET is absent (the shared dev speech); nothing to do" >&2; exit 0; fi
mkdir -p "$OUT"
BABBLE=data/noise/babble-6.wav
[ -f "$BABBLE" ] || node --import tsx scripts/eval/make-babble.ts --out "$BABBLE"
run() { npx voice-passport eval "$SET" --model "$ID" --trials enrolment --voiceprints rotating --enrol-seconds 20 --durations none "$@" 2>> "$OUT/summary.md" > /dev/null; }
for ch in wideband telephone; do
  run --channel "$ch" --out "$OUT/so762-$ch-clean.json"
  for snr in 20 10 5 0; do
    run --channel "$ch" --noise white --snr "$snr" --out "$OUT/so762-$ch-white-$snr.json"
    run --channel "$ch" --noise-file "$BABBLE" --snr "$snr" --out "$OUT/so762-$ch-babble-$snr.json"
  done
done
run --enrol-channel wideband --channel telephone --out "$OUT/so762-wideband-telephone-clean.json"
for snr in 20 10 5; do
  run --enrol-channel wideband --channel telephone --noise-file "$BABBLE" --snr "$snr" --out "$OUT/so762-wideband-telephone-babble-$snr.json"
done
grep '^|' "$OUT/summary.md"
node scripts/eval/noise-tables.mjs "$OUT"
