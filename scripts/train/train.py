"""Train the default speaker model on CPU within a wall-clock budget, resumable.

Reproduce from a clean clone (with ../shared next to it):
    nice -n 19 /usr/bin/python3 scripts/train/train.py --out scripts/train/runs/v1 --minutes 70
Re-running the same command resumes from <out>/last.pt.  The learning-rate schedule (linear warm-up,
then cosine decay) and the AAM margin ramp are functions of elapsed *training* seconds over the
budget, so a run always ends annealed at the deadline whatever the machine's speed.
"""
import argparse
import json
import math
import os
import queue
import random
import sys
import threading
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import DEFAULT_DATA, CropSampler, add_extra_data_arg, load_train, parse_speeds  # noqa: E402
from features import TRAIN_DITHER, batched_fbank, spec_augment  # noqa: E402
from model import BLOCKS, TIME_STRIDES, AAMSoftmax, build_model  # noqa: E402


def load_targets(flag, path, speakers, spk_of_utt, speeds):
    """Per-(speed, utterance) embedding targets (teacher.py targets, self_targets.py) as a numpy array
    [speed index of this run, utterance, dim], after checking they were made for this training data
    and these speeds; exits naming `flag` otherwise."""
    z = np.load(path)
    if list(z['speakers']) != speakers or list(z['spk_of_utt']) != spk_of_utt:
        sys.exit(f'{flag} {path}: made for other training data (speakers or utterances differ)')
    have = [float(v) for v in z['speeds']]
    if any(v not in have for v in speeds):
        sys.exit(f'{flag} {path}: no targets for speeds {[v for v in speeds if v not in have]}')
    return z['targets'][[have.index(v) for v in speeds]]


def relational_kd(emb, target):
    """1 - Pearson correlation between our and the teacher's cosines over the batch's pairs (relational
    knowledge distillation, Park et al., CVPR 2019, here with a scale-free loss): it asks the student to
    rank pairs as the teacher does rather than to map onto the teacher's space, which stage 5 found a
    linear projection cannot take further (models/README.md)."""
    off = ~torch.eye(emb.shape[0], dtype=torch.bool)
    e = F.normalize(emb, dim=1)
    ours, theirs = (e @ e.T)[off], (target @ target.T)[off]
    return 1 - torch.corrcoef(torch.stack([ours, theirs]))[0, 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--data', default=DEFAULT_DATA)
    add_extra_data_arg(ap)
    ap.add_argument('--minutes', type=float, default=70.0, help='wall-clock training budget')
    ap.add_argument('--stop-at', type=float, help='minutes: stop here, before the end of the schedule planned for --minutes (final.pt is then not annealed; a later stage warm-starts from it)')
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--min-lr', type=float, default=2e-5)
    ap.add_argument('--weight-decay', type=float, default=0.02)
    ap.add_argument('--warmup', type=float, default=0.04, help='fraction of the budget')
    ap.add_argument('--margin', type=float, default=0.2)
    ap.add_argument('--scale', type=float, default=32.0)
    ap.add_argument('--crop-min', type=float, default=1.0, help='seconds; crop length is drawn per batch')
    ap.add_argument('--crop-max', type=float, default=2.0)
    ap.add_argument('--p-channel', type=float, default=0.35, help='share of crops sent through a telephone/8 kHz channel')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--ckpt-every', type=float, default=180.0, help='seconds')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--widths', default='16,32,64,128')
    ap.add_argument('--blocks', default=','.join(map(str, BLOCKS)))
    ap.add_argument('--emb-dim', type=int, default=192)
    ap.add_argument('--time-strides', default=','.join(map(str, TIME_STRIDES)), help='time stride of stages 2-4 (model.ThinResNet): 1 keeps that stage\'s frame rate, for more frames to pool on short clips')
    ap.add_argument('--shape-branch', action='store_true', help='add the spectral-shape branch (model.SpectralShapeBranch); the model then takes raw log-mel features')
    ap.add_argument('--speeds', default='1.0,0.9,1.1', help='speed-perturbation factors, each a class of its own (data.SPEED_RATIOS); a warm start may append factors to its checkpoint\'s list')
    ap.add_argument('--init', help='warm start: model and head weights from this checkpoint, with a fresh optimiser and schedule (SGDR-style restart, Loshchilov & Hutter 2017)')
    ap.add_argument('--distil', help='knowledge distillation: teacher embeddings per (speed, training utterance) from teacher.py targets; a loss on them, chosen by --distil-mode, is added to the AAM loss')
    ap.add_argument('--distil-online', action='store_true',
                    help='knowledge distillation with the teacher (../shared/models/reference/voxsv.onnx, run by teacher_torch.py) asked about each crop itself (before augmentation), '
                         'instead of targets from a file (--distil); a loss on them, chosen by --distil-mode, is added to the AAM loss')
    ap.add_argument('--distil-weight', type=float, default=1.0, help='weight of the distillation loss')
    ap.add_argument('--distil-mode', choices=['embedding', 'relational', 'mimic'], default='embedding',
                    help='embedding: 1 - cosine between a projection of the embedding and the teacher embedding; '
                         'relational: 1 - correlation between the pairwise cosines of the batch, ours and the teacher\'s (relational_kd); '
                         'mimic (with --distil-online, --emb-dim = the teacher\'s 64): no AAM loss, the embedding itself is pulled towards '
                         'the teacher\'s embedding of the same augmented crop (consistent views), to train a model that stands in for the teacher')
    ap.add_argument('--self-distil', help='short-utterance compensation: targets per (speed, training utterance) from self_targets.py (the previous stage\'s embeddings of whole '
                         'clean utterances, or of each speaker\'s centroid); 1 - cosine between each crop\'s embedding and its target is added to the loss')
    ap.add_argument('--self-distil-weight', type=float, default=1.0, help='weight of the --self-distil loss')
    ap.add_argument('--init-trunk', action='store_true', help='with --init: take only the weights whose names and shapes fit this model (e.g. another --emb-dim); the rest, and the head, start fresh')
    ap.add_argument('--spec-augment', type=float, default=0.0, help='share of crops given SpecAugment time and frequency masks (features.spec_augment); 0 = none')
    ap.add_argument('--margin-ramp', default='0.1,0.4', help='budget fractions where the AAM margin ramps from 0 to --margin; "0,0" keeps it at --margin throughout')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, 'train.log'), 'a', buffering=1)

    def say(msg):
        line = time.strftime('%H:%M:%S ') + msg
        print(line, flush=True)
        log.write(line + '\n')

    cfg = dict(widths=[int(v) for v in args.widths.split(',')], blocks=[int(v) for v in args.blocks.split(',')], emb_dim=args.emb_dim, stem_stride=2)
    time_strides = tuple(int(v) for v in args.time_strides.split(','))
    if time_strides != TIME_STRIDES:  # the default stays out of cfg, so older checkpoints' cfgs still match
        cfg['time_strides'] = list(time_strides)
    if args.shape_branch:
        cfg['shape_branch'] = True
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    waves, spk_of_utt, speakers = load_train(args.data, args.extra_data)
    speeds = parse_speeds(args.speeds)
    sampler = CropSampler(waves, spk_of_utt, len(speakers), seed=args.seed, speeds=speeds)
    model = build_model(cfg)
    head = AAMSoftmax(cfg['emb_dim'], sampler.n_classes, scale=args.scale)
    teacher, distil, oracle = None, None, None
    if args.distil and args.distil_online:
        sys.exit('--distil FILE and --distil-online are alternatives')
    mimic = args.distil_mode == 'mimic'
    if args.init_trunk and not args.init:
        sys.exit('--init-trunk needs --init (the checkpoint to take the weights from)')
    if mimic and not args.distil_online:
        sys.exit('--distil-mode mimic needs --distil-online (the teacher must hear the crop the student hears)')
    if args.distil_online:
        from teacher import TEACHER, batch_windows, centre_windows, pool_windows  # noqa: E402
        from teacher_torch import OnnxTeacher  # noqa: E402
        if not os.path.exists(TEACHER):
            sys.exit(f'--distil-online: {TEACHER} not found (the teacher lives in ../shared)')
        oracle = OnnxTeacher(TEACHER)
        teacher_dim = oracle(torch.zeros(1, 80, 128)).shape[1]
        if mimic and teacher_dim != cfg['emb_dim']:
            sys.exit(f'--distil-mode mimic: --emb-dim must be the teacher\'s {teacher_dim}')
        if args.distil_mode == 'embedding':
            distil = torch.nn.Linear(cfg['emb_dim'], teacher_dim, bias=False)
    elif args.distil:
        # [speed index of this run, utterance, teacher dim]. Centred (the teacher's embeddings share a
        # common direction: different speakers average cosine 0.33 on this data, as teacher.py targets
        # prints) and re-normalised, so the cosine loss is about what tells speakers apart.
        t = load_targets('--distil', args.distil, speakers, spk_of_utt, speeds)
        t = t - t.reshape(-1, t.shape[2]).mean(axis=0)
        teacher = F.normalize(torch.from_numpy(t), dim=2)
        if args.distil_mode == 'embedding':
            # Only the projection learns the teacher's space; it is not part of the exported model.
            distil = torch.nn.Linear(cfg['emb_dim'], teacher.shape[2], bias=False)
    own_targets = None
    if args.self_distil:
        t = load_targets('--self-distil', args.self_distil, speakers, spk_of_utt, speeds)
        if t.shape[2] != cfg['emb_dim']:
            sys.exit(f'--self-distil {args.self_distil}: {t.shape[2]}-dim targets for a {cfg["emb_dim"]}-dim embedding')
        # Not centred: they live in the space the service scores in (cosines of this very embedding).
        own_targets = F.normalize(torch.from_numpy(t), dim=2)
    # A mimic has no classification loss, so the head (kept for the checkpoint's layout) is not trained.
    params = list(model.parameters()) + ([] if mimic else list(head.parameters())) + (list(distil.parameters()) if distil is not None else [])
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    n_params = sum(p.numel() for p in model.parameters())
    say(f'config {json.dumps(vars(args))} model {cfg} params {n_params} speakers {len(speakers)} classes {sampler.n_classes} utts {len(waves)}')

    if args.init and args.init_trunk:
        ck = torch.load(args.init)
        own = model.state_dict()
        fit = {k: v for k, v in ck['model'].items() if k in own and own[k].shape == v.shape}
        model.load_state_dict(fit, strict=False)
        say(f'initialised {len(fit)} of {len(own)} tensors from {args.init} (step {ck["step"]}); fresh: {sorted(set(own) - set(fit))}')
    elif args.init:
        ck = torch.load(args.init)
        # A checkpoint without the shape branch may warm-start one with it (the branch starts at zero),
        # and one with other time strides (no weight changes shape).
        def shapes(c):
            return {k: v for k, v in c.items() if k not in ('shape_branch', 'time_strides')}
        if ck['cfg'].get('shape_branch') and not cfg.get('shape_branch') or shapes(ck['cfg']) != shapes(cfg) or ck['speakers'] != speakers:
            sys.exit(f'--init {args.init}: its model config or speaker list differs from this run')
        missing, unexpected = model.load_state_dict(ck['model'], strict=False)
        if unexpected or any(not k.startswith('shape.') for k in missing):
            sys.exit(f'--init {args.init}: weights do not fit this model (missing {missing}, unexpected {unexpected})')
        # Class k*S + s is speaker s at speed k, so appended speeds keep the old classes' rows; the
        # new classes' rows start as in a fresh head.
        init_speeds = tuple(float(v) for v in ck['args'].get('speeds', '1.0,0.9,1.1').split(','))
        if speeds[: len(init_speeds)] != init_speeds:
            sys.exit(f'--init {args.init}: its speeds {init_speeds} must be a prefix of --speeds {speeds}')
        with torch.no_grad():
            head.weight[: ck['head']['weight'].shape[0]] = ck['head']['weight']
        if distil is not None and ck.get('distil') is not None:
            distil.load_state_dict(ck['distil'])
        say(f'initialised from {args.init} (step {ck["step"]}, {ck["elapsed"] / 60:.1f} min trained)')
    ramp0, ramp1 = (float(v) for v in args.margin_ramp.split(','))

    budget = args.minutes * 60.0
    elapsed, step, centre = 0.0, 0, None
    last = os.path.join(args.out, 'last.pt')
    if os.path.exists(last):
        ck = torch.load(last)
        model.load_state_dict(ck['model'])
        head.load_state_dict(ck['head'])
        if distil is not None:
            distil.load_state_dict(ck['distil'])
        opt.load_state_dict(ck['opt'])
        elapsed, step = ck['elapsed'], ck['step']
        centre = ck.get('centre')
        sampler.rng.seed(args.seed + step)  # fresh crops after a resume
        say(f'resumed from {last} at step {step}, {elapsed / 60:.1f} min trained')

    def save(path, final=False):
        tmp = path + '.tmp'
        torch.save(dict(model=model.state_dict(), head=head.state_dict(), distil=None if distil is None else distil.state_dict(), centre=heard_mean, opt=opt.state_dict(), elapsed=elapsed, step=step, cfg=cfg, speakers=speakers, args=vars(args), final=final), tmp)
        os.replace(tmp, path)  # atomic: a killed run never leaves a torn checkpoint

    # Batches are prepared in a background thread: torch kernels release the GIL, so crop
    # augmentation overlaps with the network's forward/backward.
    q = queue.Queue(maxsize=3)
    stop = threading.Event()

    def producer():
        r = random.Random(args.seed * 7919 + step)
        dither_gen = torch.Generator().manual_seed(args.seed * 7919 + step)
        while not stop.is_set():
            n = int(r.uniform(args.crop_min, args.crop_max) * 16000)
            x, y, utt, *clean = sampler.batch(args.batch, n, p_channel=args.p_channel, keep_clean=oracle is not None and not mimic)
            feats = batched_fbank(x, dither=TRAIN_DITHER, normalise=not model.takes_raw_feats, generator=dither_gen)
            if args.spec_augment > 0:
                feats = spec_augment(feats, args.spec_augment, dither_gen)
            if oracle is None:
                heard = None
            elif mimic:
                # A mimic must reproduce the teacher on whatever it hears, so the teacher hears exactly the
                # student's augmented crop (consistent views: Beyer et al., "Knowledge distillation: a good
                # teacher is patient and consistent", CVPR 2022), windowed and averaged as for an utterance.
                w = batch_windows(x)
                heard = pool_windows(oracle(w.reshape(-1, 80, 128)).reshape(w.shape[0], w.shape[1], -1))
            else:
                # The teacher hears the same crop before reverberation, noise and channel (its middle 1.295 s
                # window, teacher.centre_windows): clean teacher, augmented student, so the student is not
                # taught the teacher's own channel dependence.
                heard = F.normalize(oracle(centre_windows(clean[0])), dim=1)
            q.put((feats, y, utt, heard))

    th = threading.Thread(target=producer, daemon=True)
    th.start()

    model.train()
    head.train()
    t_last_ck = time.time()
    t_prev = time.time()
    loss_avg = acc_avg = kd_avg = sd_avg = None
    heard_mean = centre  # running centre of the teacher's crop embeddings (kept in checkpoints)
    stop_at = budget if args.stop_at is None else min(budget, args.stop_at * 60.0)
    while elapsed < stop_at:
        frac = elapsed / budget
        warm = args.warmup
        lr = args.lr * frac / warm if frac < warm else args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * (frac - warm) / (1 - warm)))
        for g in opt.param_groups:
            g['lr'] = lr
        # margin ramps from 0 to its final value between 10 % and 40 % of the budget (WeSpeaker-style)
        head.margin = args.margin if frac >= ramp1 else args.margin * max(0.0, (frac - ramp0) / (ramp1 - ramp0))
        feats, y, utt, heard = q.get()
        emb = model(feats)
        loss, acc = (torch.zeros(()), None) if mimic else head(emb, y)
        if teacher is not None or heard is not None:
            if heard is None:
                # The teacher saw the clean utterance at the crop's speed; the student sees an augmented crop.
                target = teacher[y // len(speakers), utt]
            else:
                # Centred as the file targets are (their common direction says nothing about the speaker),
                # here by a running mean over batches.
                heard_mean = heard.mean(0) if heard_mean is None else 0.99 * heard_mean + 0.01 * heard.mean(0)
                target = F.normalize(heard - heard_mean, dim=1)
            if mimic:
                kd = (1 - F.cosine_similarity(emb, target, dim=1)).mean()
            else:
                kd = relational_kd(emb, target) if distil is None else (1 - F.cosine_similarity(distil(emb), target, dim=1)).mean()
            loss = loss + args.distil_weight * kd
            kd_avg = kd.item() if kd_avg is None else 0.95 * kd_avg + 0.05 * kd.item()
        if own_targets is not None:
            sd = (1 - F.cosine_similarity(emb, own_targets[y // len(speakers), utt], dim=1)).mean()
            loss = loss + args.self_distil_weight * sd
            sd_avg = sd.item() if sd_avg is None else 0.95 * sd_avg + 0.05 * sd.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        step += 1
        now = time.time()
        elapsed += now - t_prev
        t_prev = now
        loss_avg = loss.item() if loss_avg is None else 0.95 * loss_avg + 0.05 * loss.item()
        if acc is not None:
            acc_avg = acc.item() if acc_avg is None else 0.95 * acc_avg + 0.05 * acc.item()
        if step % 10 == 0:
            kd_note = ('' if kd_avg is None else f' kd {kd_avg:.3f}') + ('' if sd_avg is None else f' sd {sd_avg:.3f}')
            acc_note = '' if acc_avg is None else f' acc {acc_avg:.3f}'
            say(f'step {step} elapsed {elapsed / 60:.1f}m loss {loss_avg:.3f}{kd_note}{acc_note} lr {lr:.2e} margin {head.margin:.3f} T {feats.shape[1]}')
        if now - t_last_ck > args.ckpt_every:
            save(last)
            if frac >= 0.7:  # weights for averaging over the annealed tail (average.py)
                os.makedirs(os.path.join(args.out, 'tail'), exist_ok=True)
                torch.save(dict(model=model.state_dict(), step=step, elapsed=elapsed), os.path.join(args.out, 'tail', f'{step:07d}.pt'))
            t_last_ck = now
    stop.set()
    while th.is_alive():  # unblock and join the producer, so the process never exits inside a torch op
        try:
            q.get_nowait()
        except queue.Empty:
            th.join(0.1)
    save(last, final=True)
    save(os.path.join(args.out, 'final.pt'), final=True)
    say(f'done: {step} steps, {elapsed / 60:.1f} min')


if __name__ == '__main__':
    main()
