#!/usr/bin/env bash
# Trains, exports, normalises and calibrates the default model vp-resnet-v9 from a clean clone with
# ../shared beside it. Training runs in eight stages:
#   1. 68 min from scratch (the vp-resnet-v1 recipe: 1.0-2.0 s crops, channel p 0.35, lr 2e-3);
#   2. 92 min warm-started from stage 1 with a fresh cosine schedule (SGDR-style restart,
#      Loshchilov & Hutter, ICLR 2017) at lr 1e-3, the full AAM margin from the start, shorter
#      0.5-2.0 s crops (the dev sets hold 0.4-1 s words) and the telephone/8 kHz channel on half
#      the crops;
#   3. 100 min warm-started from stage 2, again with a fresh cosine schedule (lr 6e-4), 0.3-2.0 s
#      crops, and the spectral-shape branch (model.SpectralShapeBranch): the long-term average
#      spectrum that per-utterance CMN removes, level-normalised, added to the embedding. It starts
#      at zero, so stage 3 begins exactly where stage 2 ended;
#   4. speaker augmentation and distillation, warm-started from stage 3:
#      a. 0.8 and 1.2 speed-perturbed copies as classes of their own (train.py --speeds; 5 x 453
#         classes), on an 85 min cosine schedule at lr 5e-4 with 0.3-2.5 s crops, stopped after
#         21 min (--stop-at: the session that trained vp-resnet-v4 moved on to 4b there);
#      b. 65 min, fresh schedule at lr 5e-4, adding knowledge distillation from the reference model
#         voxsv (../shared/models/reference, MIT): a projection of the embedding is pulled towards
#         the teacher's embedding of the clean utterance at the crop's speed (teacher.py targets),
#         weight 2. teacher.py fusion shows why: fusing the teacher's scores with stage 3's lowered
#         so762 EER from 7.29 to 5.42 %.
#   5. 100 min warm-started from stage 4 with a fresh schedule at lr 4e-4, distillation weight 3
#      (fusing the teacher with stage 4 still lowered so762 from 6.67 to 4.80 %).
#   6. 75 min warm-started from stage 5 with the network's last stage keeping its frame rate
#      (--time-strides 2,2,1: pooling sees T/8 frames, not T/16, so a 0.4 s digit leaves 5 frames
#      for the attentive statistics instead of 2-3), a fresh schedule at lr 3e-4, distillation
#      weight 3. No weight changes shape, so stage 5's weights start it. Stage 6 alone was vp-resnet-v6.
#   7. 70 min from stage 6 as it was shipped: exported to ONNX and rebuilt from that file
#      (from_onnx.py: batch norms unfolded, head imprinted, distillation projection refitted: the
#      session that trained v7 had only the committed vp-resnet-v6.onnx, not the stage 6
#      checkpoint), lr 2e-4, with the telephone/8 kHz channel on 65 % of the crops instead of 50 %
#      (the so762 telephone EER was 1.57 x the wideband one against a goal of 1.5). Stage 7 was vp-resnet-v7.
#   8. 70 min from stage 7 as shipped (exported and rebuilt, as for stage 7), lr 1.5e-4, otherwise as
#      stage 7, with 50 more speakers: recorded voices from Debian packages (debian_voices.py build:
#      KLettres, KTuberling, Fish Fillets, Asterisk prompts; GPL-2+ and CC BY-SA 3.0), whose teacher
#      targets are made with the shared ones. The same run without them (seed 17 too) made so762 worse;
#      with them every dev EER of scripts/train/eval_dev.py fell (models/README.md). (vp-resnet-v8 was that run, never shipped.)
# All budgets are wall-clock minutes of training on CPU, so the step count depends on the
# machine; each stage resumes from its last checkpoint when rerun (a session may end mid-run).
# Then: ONNX export (checked against torch in onnxruntime-node; the manifest asks the service for
# the dither training used and 200 ms of audio around the VAD's speech), the AS-norm cohort of all
# 503 training speakers, the shared 453 and the 50 Debian voices, a row per utterance (switched on:
# scripts/train/eval_dev.py --asnorm and `voice-passport eval --score-normalisation` show it helps; with
# the Debian voices, and with a row per utterance rather than per speaker, the miss rates at both
# policies are lower, models/README.md), and the logistic calibration per channel on so762.
# Run it in the background with a log:  nohup bash scripts/train/train-default.sh > train.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
ID=vp-resnet-v9
if ! "$PY" -c 'import torch, torchaudio, soundfile, onnx' 2>/dev/null; then
  apt-get update && apt-get install -y python3-torch python3-torchaudio python3-onnx python3-numpy python3-scipy python3-soundfile
fi
[ -d node_modules ] || npm ci
RUNS=scripts/train/runs
if [ ! -f "$RUNS/v1/final.pt" ]; then
  nice -n 5 "$PY" scripts/train/train.py --out "$RUNS/v1" --minutes 68
fi
if [ ! -f "$RUNS/v2/final.pt" ]; then
  nice -n 5 "$PY" scripts/train/train.py --out "$RUNS/v2" --init "$RUNS/v1/final.pt" --minutes 92 \
    --lr 1e-3 --warmup 0.02 --margin-ramp 0,0 --crop-min 0.5 --crop-max 2.0 --p-channel 0.5
fi
if [ ! -f "$RUNS/v3/final.pt" ]; then
  nice -n 5 "$PY" scripts/train/train.py --out "$RUNS/v3" --init "$RUNS/v2/final.pt" --shape-branch --minutes 100 \
    --lr 6e-4 --warmup 0.02 --margin-ramp 0,0 --crop-min 0.3 --crop-max 2.0 --p-channel 0.5 --seed 3
fi
SPEEDS=1.0,0.9,1.1,0.8,1.2
if [ ! -f "$RUNS/v4a/final.pt" ]; then
  nice -n 5 "$PY" scripts/train/train.py --out "$RUNS/v4a" --init "$RUNS/v3/final.pt" --shape-branch --minutes 85 --stop-at 21 \
    --lr 5e-4 --warmup 0.02 --margin-ramp 0,0 --crop-min 0.3 --crop-max 2.5 --p-channel 0.5 --speeds "$SPEEDS" --seed 4
fi
TARGETS="$RUNS/teacher/voxsv-targets.npz"
[ -f "$TARGETS" ] || nice -n 5 "$PY" scripts/train/teacher.py targets --out "$TARGETS" --speeds "$SPEEDS"
if [ ! -f "$RUNS/v4/final.pt" ]; then
  nice -n 5 "$PY" scripts/train/train.py --out "$RUNS/v4" --init "$RUNS/v4a/final.pt" --shape-branch --minutes 65 \
    --lr 5e-4 --warmup 0.02 --margin-ramp 0,0 --crop-min 0.3 --crop-max 2.5 --p-channel 0.5 --speeds "$SPEEDS" \
    --distil "$TARGETS" --distil-weight 2 --seed 5
fi
if [ ! -f "$RUNS/v5/final.pt" ]; then
  nice -n 5 "$PY" scripts/train/train.py --out "$RUNS/v5" --init "$RUNS/v4/final.pt" --shape-branch --minutes 100 \
    --lr 4e-4 --warmup 0.02 --margin-ramp 0,0 --crop-min 0.3 --crop-max 2.5 --p-channel 0.5 --speeds "$SPEEDS" \
    --distil "$TARGETS" --distil-weight 3 --seed 6
fi
if [ ! -f "$RUNS/v6/final.pt" ]; then
  nice -n 5 "$PY" scripts/train/train.py --out "$RUNS/v6" --init "$RUNS/v5/final.pt" --shape-branch --time-strides 2,2,1 --minutes 75 \
    --lr 3e-4 --warmup 0.02 --margin-ramp 0,0 --crop-min 0.3 --crop-max 2.5 --p-channel 0.5 --speeds "$SPEEDS" \
    --distil "$TARGETS" --distil-weight 3 --seed 13
fi
if [ ! -f "$RUNS/v6/rebuilt.pt" ]; then
  "$PY" scripts/train/export.py --ckpt "$RUNS/v6/final.pt" --id vp-resnet-v6 --out-dir "$RUNS/v6/export"
  "$PY" scripts/train/from_onnx.py --model vp-resnet-v6 --models-dir "$RUNS/v6/export" --out "$RUNS/v6/rebuilt.pt" --distil "$TARGETS"
fi
if [ ! -f "$RUNS/v7/final.pt" ]; then
  nice -n 5 "$PY" scripts/train/train.py --out "$RUNS/v7" --init "$RUNS/v6/rebuilt.pt" --shape-branch --time-strides 2,2,1 --minutes 70 \
    --lr 2e-4 --warmup 0.02 --margin-ramp 0,0 --crop-min 0.3 --crop-max 2.5 --p-channel 0.65 --speeds "$SPEEDS" \
    --distil "$TARGETS" --distil-weight 3 --seed 16
fi
EXTRA=data/debian-voices
DESCRIPTION='Voice Passport default speaker model: thin ResNet, attentive statistics pooling, AAM-softmax; trained on CPU on LibriSpeech/speechocean762/Speech Commands samples (CC BY 4.0) and recorded voices from Debian packages (GPL-2+, CC BY-SA 3.0) with noise, reverberation, speed and telephone-channel augmentation.'
[ -f "$EXTRA/index.tsv" ] || "$PY" scripts/train/debian_voices.py build --out "$EXTRA"
TARGETS_DV="$RUNS/teacher/voxsv-targets-dv.npz"
[ -f "$TARGETS_DV" ] || nice -n 5 "$PY" scripts/train/teacher.py targets --out "$TARGETS_DV" --speeds "$SPEEDS" --extra-data "$EXTRA"
if [ ! -f "$RUNS/v7/rebuilt-dv.pt" ]; then
  "$PY" scripts/train/export.py --ckpt "$RUNS/v7/final.pt" --id vp-resnet-v7 --out-dir "$RUNS/v7/export"
  "$PY" scripts/train/from_onnx.py --model vp-resnet-v7 --models-dir "$RUNS/v7/export" --out "$RUNS/v7/rebuilt-dv.pt" \
    --distil "$TARGETS_DV" --extra-data "$EXTRA"
fi
if [ ! -f "$RUNS/dv/final.pt" ]; then
  nice -n 5 "$PY" scripts/train/train.py --out "$RUNS/dv" --init "$RUNS/v7/rebuilt-dv.pt" --extra-data "$EXTRA" --shape-branch \
    --time-strides 2,2,1 --minutes 70 --lr 1.5e-4 --warmup 0.02 --margin-ramp 0,0 --crop-min 0.3 --crop-max 2.5 --p-channel 0.65 \
    --speeds "$SPEEDS" --distil "$TARGETS_DV" --distil-weight 3 --seed 17
fi
"$PY" scripts/train/export.py --ckpt "$RUNS/dv/final.pt" --id "$ID" --description "$DESCRIPTION"
npx voice-passport cohort ../shared/data/train "$EXTRA" --model "$ID" --enable --write
# Calibrated on the trials the service decides: 20 s voiceprints against single utterances (models/README.md, *Calibration and policies*).
CAL_TRIALS="--trials enrolment --voiceprints rotating --enrol-seconds 20"
npx voice-passport calibrate ../shared/data/dev/so762 --channel wideband --model "$ID" $CAL_TRIALS --across-channels --write
npx voice-passport calibrate ../shared/data/dev/so762 --channel telephone --model "$ID" $CAL_TRIALS --across-channels --write
