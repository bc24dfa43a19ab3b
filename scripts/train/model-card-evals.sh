#!/usr/bin/env bash
# The evaluation behind the model card's tables (models/README.md): every dev set, both channels,
# through the service's own engine (`voice-passport eval`), all-pairs single-utterance trials.
#   whole  - every utterance embedded whole: the protocol of ../shared/models/reference/README.md;
#   speech - only the VAD's speech, as the service embeds a caller (with EER by test duration);
#   cosine - whole utterances scored by plain cosine, to show what AS-norm adds;
#   cross  - whole utterances across channels (enrolled on wideband audio, verified on the phone,
#            and the other way round), so762 and sc (fsdd is recorded at 8 kHz already);
#   alaw   - whole and the service path through a G.711 A-law line (Europe's), scored with the
#            cohort and calibration made on µ-law, as the service scores every 8 kHz call;
#   enrol  - so762 as the service decides: voiceprints of 20 s of speech (VP_ENROL_MIN_SECONDS's
#            default), one from each utterance on (--voiceprints rotating), against single
#            utterances through the service path, on and across channels.
# Usage: bash scripts/train/model-card-evals.sh [model-id] [out-dir]   (about 25 min on 2 cores)
# The model defaults to the service's own (VP_MODEL, else src/config.ts's default), so a new default
# model needs no edit here.
set -euo pipefail
cd "$(dirname "$0")/../.."
ID=${1:-$(node --import tsx --input-type=module -e 'const { loadConfig } = await import("./src/config.ts"); console.log(loadConfig({ VP_MODEL: process.env.VP_MODEL }).modelId)')}
OUT=${2:-data/model-card/$ID}
DEV=../shared/data/dev
if [ ! -d "$DEV" ]; then echo "model-card-evals: $DEV is absent (it holds the dev sets); nothing to do" >&2; exit 0; fi
mkdir -p "$OUT"
run() { npx voice-passport eval "$@" 2>> "$OUT/summary.md" > /dev/null; }
for kind in whole speech cosine; do
  for set in so762 sc fsdd; do
    for ch in wideband telephone; do
      case $kind in
        whole) run "$DEV/$set" --channel "$ch" --model "$ID" --embed whole --durations none --out "$OUT/$set-$ch-whole.json" ;;
        speech) run "$DEV/$set" --channel "$ch" --model "$ID" --out "$OUT/$set-$ch-speech.json" --plot "$OUT/$set-$ch-speech-det.svg" ;;
        cosine) run "$DEV/$set" --channel "$ch" --model "$ID" --embed whole --durations none --score-normalisation none --out "$OUT/$set-$ch-cosine.json" ;;
      esac
    done
  done
done
for set in so762 sc; do
  run "$DEV/$set" --enrol-channel wideband --channel telephone --model "$ID" --embed whole --durations none --out "$OUT/$set-wideband-telephone-cross.json"
  run "$DEV/$set" --enrol-channel telephone --channel wideband --model "$ID" --embed whole --durations none --out "$OUT/$set-telephone-wideband-cross.json"
done
for set in so762 sc fsdd; do
  run "$DEV/$set" --channel telephone --law alaw --model "$ID" --embed whole --durations none --out "$OUT/$set-telephone-alaw-whole.json"
  run "$DEV/$set" --channel telephone --law alaw --model "$ID" --durations none --out "$OUT/$set-telephone-alaw-speech.json"
done
for pair in wideband:wideband telephone:telephone wideband:telephone telephone:wideband; do
  enrol=${pair%%:*} test=${pair##*:}
  run "$DEV/so762" --trials enrolment --voiceprints rotating --enrol-seconds 20 --enrol-channel "$enrol" --channel "$test" --model "$ID" --out "$OUT/so762-$enrol-$test-enrolment.json"
done
grep '^|' "$OUT/summary.md"
node scripts/train/model-card-tables.mjs "$OUT"
