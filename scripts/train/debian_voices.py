"""More training speakers from Debian packages that hold real recorded voices (../shared/data/README.md,
"More real voices from Debian packages"): KDE's letter and word games, the Fish Fillets dubbing,
Asterisk's telephone prompts, and (group `more`) Tux Paint's spoken stamp descriptions, Kajongg's
voices and Festival's Russian recordings. Each source below is one voice (or, for Fish Fillets, one
character, voiced by one actor per language); what was checked about the labels is written beside it.

    /usr/bin/python3 scripts/train/debian_voices.py build --out data/debian-voices
    /usr/bin/python3 scripts/train/debian_voices.py build --group prompts --out data/debian-prompts
    /usr/bin/python3 scripts/train/debian_voices.py build --group more --out data/debian-more
    /usr/bin/python3 scripts/train/debian_voices.py check --data data/debian-voices --ckpt CKPT
    /usr/bin/python3 scripts/train/debian_voices.py check --data data/debian-prompts --extra-data data/debian-voices --ckpt CKPT
    /usr/bin/python3 scripts/train/debian_voices.py check --data data/debian-more --extra-data data/debian-voices \
        --extra-data data/debian-prompts --ckpt CKPT

Voices come in groups (GROUPS), each built into its own folder, so a later group never changes what
an earlier model was trained on: `base` (50 voices, vp-resnet-v9 and later), `prompts` (3 more) and
`more` (16 more).
`build` downloads the group's .deb files with `apt-get download` (the apt mirror, not the internet),
unpacks each with `dpkg -x` into a tree of its own (nothing is installed), and writes
`<out>/<speaker>/<nnn>.flac` at 16 kHz with an `index.tsv` (speaker, path, seconds, package,
licence) that `data.load_train(..., extra=[out])` reads. Clips are trimmed of leading and trailing
silence and joined, per speaker and in file order, into utterances of at least UTT_SECONDS (a
one-letter clip is too short to crop from), at most MAX_SECONDS per speaker. `check` prints, for a
model checkpoint, the closest pairs of speaker centroids among a group's voices and against the
shared training speakers (and earlier groups given with --extra-data), to catch one person filed
under two names.

Licences: klettres-data, ktuberling-data and fillets-ng-data* are GPL-2+; asterisk-core-sounds-* are
CC BY-SA 3.0 (Digium / Sangoma); asterisk-prompt-es-co is GPL-2, -fr-armelle GPL-2+, -it-menardi
CC BY-SA 3.0 Italy (its authors ask to be named: Marco Menardi and Paola Dal Zot,
http://www.voip.ammdomus.it); tuxpaint-stamps-default is GPL-2, kajongg GPL-2+ (its voices © Wolfgang
Rohdewald), festvox-ru BSD-like (© 2005 Nickolay V. Shmyrev). All but the last are copyleft:
whether model weights trained on them are derived works is unsettled, so a model trained on them
says so in its card.
"""
import argparse
import csv
import glob
import hashlib
import io
import os
import shutil
import subprocess
import sys

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import SR, add_extra_data_arg, read16  # noqa: E402

UTT_SECONDS = 4.0
MAX_SECONDS = 120.0
GAP_SECONDS = 0.15
MIN_CLIP_SECONDS = 0.2

# Each group is one build (its own --out folder), so adding a group never changes what an earlier
# model was trained on: `base` is the 50 voices of vp-resnet-v9 (stage 8), `prompts` the three
# community Asterisk prompt voices added after it.
GROUPS = {
    'base': {
        'klettres-data': 'GPL-2+',
        'ktuberling-data': 'GPL-2+',
        'fillets-ng-data': 'GPL-2+',
        'fillets-ng-data-cs': 'GPL-2+',
        'fillets-ng-data-nl': 'GPL-2+',
        'asterisk-core-sounds-en-wav': 'CC-BY-SA-3.0',
        'asterisk-core-sounds-es-wav': 'CC-BY-SA-3.0',
        'asterisk-core-sounds-fr-wav': 'CC-BY-SA-3.0',
        'asterisk-core-sounds-it-wav': 'CC-BY-SA-3.0',
        'asterisk-core-sounds-ru-wav': 'CC-BY-SA-3.0',
    },
    # One voice per package (its debian/copyright names the voice or the recording's authors); the
    # Colombian and French prompts exist only as raw GSM 06.10 (13 kbit/s, the GSM full-rate mobile
    # codec), decoded with sox.
    'prompts': {
        'asterisk-prompt-es-co': 'GPL-2',
        'asterisk-prompt-fr-armelle': 'GPL-2+',
        'asterisk-prompt-it-menardi-wav': 'CC-BY-SA-3.0-IT',
    },
    # Tux Paint's spoken stamp descriptions (one recordist per language, named in the package's
    # changelog), Kajongg's voices in English and German, and the recorded sentences of Festival's
    # Russian unit-selection voice (see more_sources).
    'more': {
        'tuxpaint-stamps-default': 'GPL-2',
        'kajongg': 'GPL-2+',
        'festvox-ru': 'BSD-like',
    },
}
# Where `build` writes each group unless --out says: never one folder for two groups.
DEFAULT_OUT = {'base': 'data/debian-voices', 'prompts': 'data/debian-prompts', 'more': 'data/debian-more'}


def sources(root, group):
    """[(speaker, packages (comma-separated), [files])] under the unpacked tree `root` of one group."""
    if group == 'prompts':
        return prompt_sources(root)
    if group == 'more':
        return more_sources(root)
    out = []
    # KLettres: one voice per language reads the alphabet and syllables (alpha/ and syllab/).
    for d in sorted(glob.glob(os.path.join(root, 'klettres-data/usr/share/klettres/*/'))):
        files = sorted(glob.glob(os.path.join(d, '*/*.ogg')))
        if files:
            out.append((f'klettres-{os.path.basename(d.rstrip("/"))}', 'klettres-data', files))
    # KTuberling: one voice per language names the toy's parts. Some languages ship another's very
    # recordings (three Serbian variants; Norwegian Nynorsk): a language whose files are all
    # byte-identical to earlier ones is dropped.
    seen = set()
    for d in sorted(glob.glob(os.path.join(root, 'ktuberling-data/usr/share/ktuberling/sounds/*/'))):
        files = sorted(f for f in glob.glob(os.path.join(d, '*')) if f.endswith(('.ogg', '.wav')))
        digests = {hashlib.sha256(open(f, 'rb').read()).hexdigest() for f in files}
        if files and not digests <= seen:
            out.append((f'ktuberling-{os.path.basename(d.rstrip("/"))}', 'ktuberling-data', files))
        seen |= digests
    # Fish Fillets: the small (m) and the big (v) fish, dubbed in Czech and Dutch; files are named
    # <level>-<character>-<line>.ogg. Other characters have few lines and may share actors: left out.
    for lang, package in (('cs', 'fillets-ng-data-cs'), ('nl', 'fillets-ng-data-nl')):
        for who in ('m', 'v'):
            files = sorted(glob.glob(os.path.join(root, f'fillets-ng-data*/usr/share/games/fillets-ng/sound/*/{lang}/*-{who}-*.ogg')))
            if files:
                out.append((f'fillets-{lang}-{who}', package, files))
    # Asterisk: 8 kHz telephone prompts. The US English and Mexican Spanish prompts are both Allison
    # Smith's (the folder names say so), so they are one speaker.
    voices = {}
    for d in sorted(glob.glob(os.path.join(root, 'asterisk-core-sounds-*-wav/usr/share/asterisk/sounds/*/'))):
        name = os.path.basename(d.rstrip('/'))
        who = name.split('_')[-1].lower()
        lang = name.split('_')[0]
        files = sorted(glob.glob(os.path.join(d, '**/*.wav'), recursive=True))
        voices.setdefault(who, ([], []))
        voices[who][0].extend(files)
        voices[who][1].append(f'asterisk-core-sounds-{lang}-wav')
    for who, (files, packages) in sorted(voices.items()):
        out.append((f'asterisk-{who}', ','.join(packages), files))
    return out


def prompt_sources(root):
    """The `prompts` group: each package's prompts are one voice (Colombian Spanish; Armelle
    Desjardins, French; Paola Dal Zot, Italian)."""
    names = {'asterisk-prompt-es-co': 'asterisk-es-co', 'asterisk-prompt-fr-armelle': 'asterisk-armelle',
             'asterisk-prompt-it-menardi-wav': 'asterisk-menardi'}
    out = []
    for package, speaker in names.items():
        # Packages link folders into one another (sounds/digits/es -> ../es/digits): each file once.
        files = sorted({os.path.realpath(f) for f in glob.glob(os.path.join(root, package, '**/*'), recursive=True)
                        if f.endswith(('.wav', '.gsm'))})
        if files:
            out.append((speaker, package, files))
    return out

# Tux Paint languages whose stamp descriptions one person recorded, as the package's changelog
# credits them: Jacques Chion (fr; a Google Code-in student, PaulK, added some later), Edwin Veber
# (ru), Tabbytha (ro), Pere Pujal i Carabantes (ca), Krasimir Petkov (bg), Estefania Ortiz (es),
# Kseniya Buraya (be), Kiriaki Serafeim (el), Joe Dalton (da). Other languages have a few dozen
# clips or several voices (pt_BR: "various Brazilian school children").
STAMP_LANGUAGES = ('be', 'bg', 'ca', 'da', 'el', 'es', 'fr', 'ro', 'ru')


def more_sources(root):
    """The `more` group. Tux Paint: each language's `*_desc_<lang>.ogg` descriptions, in file order,
    without `symbols/` (letters and numbers, many from other voices: Schoolsplay's numbers, John
    Arundel's British English). Kajongg: its voice folders, two women and two men per language
    (SAME_PERSON joins the women's).
    Festival's msu_ru_nsh_clunits: 620 read Russian sentences (about 100 min) of one man, Nickolay
    Shmyrev, the unit-selection database the voice concatenates from."""
    out = []
    stamps = os.path.join(root, 'tuxpaint-stamps-default/usr/share/tuxpaint/stamps')
    for lang in STAMP_LANGUAGES:
        files = sorted(f for f in glob.glob(os.path.join(stamps, f'**/*_desc_{lang}.ogg'), recursive=True)
                       if not os.path.relpath(f, stamps).startswith('symbols/'))
        if files:
            out.append((f'tuxpaint-{lang}', 'tuxpaint-stamps-default', files))
    voices = os.path.join(root, 'kajongg/usr/share/kajongg/voices')
    for lang, base in (('en', voices), ('de', os.path.join(voices, 'de'))):
        for who in ('female1', 'female2', 'male1', 'male2'):
            files = sorted(glob.glob(os.path.join(base, who, '*.ogg')))
            if files:
                out.append((f'kajongg-{lang}-{who}', 'kajongg', files))
    files = sorted(glob.glob(os.path.join(root, 'festvox-ru/usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav/*.wav')))
    if files:
        out.append(('festvox-ru-nsh', 'festvox-ru', files))
    return out


# One person under two source names, so one speaker (build --as-packaged keeps them apart, for
# `check` to measure). Kajongg's English and German folders have the same four names; `check` on such
# a build (`build --group more --as-packaged --out DIR`, then `check --data DIR --extra-data
# data/debian-voices --extra-data data/debian-prompts --ckpt scripts/train/runs/dv/final.pt`) puts
# each woman's two languages as close as one speaker's two halves (cosine 0.911 and 0.872;
# same-speaker 5th percentile 0.902, minimum 0.868), the men's not (0.664 and lower).
SAME_PERSON = {
    'kajongg-en-female1': 'kajongg-female1',
    'kajongg-de-female1': 'kajongg-female1',
    'kajongg-en-female2': 'kajongg-female2',
    'kajongg-de-female2': 'kajongg-female2',
}


def merged(voices):
    """`voices` ([(speaker, packages, files)]) with SAME_PERSON's names joined, each at its first
    name's place, its files in source order."""
    out = {}
    for speaker, package, files in voices:
        name = SAME_PERSON.get(speaker, speaker)
        if name in out:
            out[name][2].extend(files)
        else:
            out[name] = (name, package, list(files))
    return list(out.values())


def read_gsm16(path):
    """A raw GSM 06.10 file (8 kHz, headerless: libsndfile cannot read it), decoded by sox to WAV and
    then read as data.read16 reads any file."""
    wav = subprocess.run(['sox', '-t', 'gsm', path, '-t', 'wav', '-'], check=True, capture_output=True).stdout
    return read16(io.BytesIO(wav))


def load_clip(path):
    """Mono float32 at 16 kHz, trimmed of leading and trailing silence (10 ms frames more than 40 dB
    below the clip's loudest); None when less than MIN_CLIP_SECONDS is left."""
    x = torch.from_numpy(read_gsm16(path) if path.endswith('.gsm') else read16(path))
    if x.shape[0] < MIN_CLIP_SECONDS * SR:
        return None
    hop = SR // 100
    n = x.shape[0] // hop
    energy = x[: n * hop].reshape(n, hop).pow(2).mean(dim=1)
    loud = torch.nonzero(energy > energy.max() * 1e-4).flatten()
    if loud.numel() == 0:
        return None
    y = x[loud[0] * hop: (loud[-1] + 1) * hop].numpy()
    return y if y.shape[0] >= MIN_CLIP_SECONDS * SR else None


def utterances(clips):
    """Clips joined in order, with short silences, into utterances of at least UTT_SECONDS; the
    speaker's total is capped at MAX_SECONDS. A shorter last remainder is kept when it is the only one."""
    gap = np.zeros(int(GAP_SECONDS * SR), dtype=np.float32)

    def join(parts):
        return np.concatenate([q for p in parts for q in (p, gap)][:-1])
    out, cur, n, total = [], [], 0, 0
    for c in clips:
        if total >= MAX_SECONDS * SR:
            break
        cur.append(c)
        n += c.shape[0]
        if n >= UTT_SECONDS * SR:
            out.append(join(cur))
            total += n
            cur, n = [], 0
    if cur and not out:
        out.append(join(cur))
    return out


def build(args):
    packages = GROUPS[args.group]
    debs = os.path.join(args.cache, 'debs')
    os.makedirs(debs, exist_ok=True)
    missing = [p for p in packages if not glob.glob(os.path.join(debs, f'{p}_*.deb'))]
    if missing:
        # apt-get download fetches from the configured mirror into the working directory, as root too.
        subprocess.run(['apt-get', 'download', *missing], cwd=debs, check=True)
    # One unpacked tree per package, so no glob can pick up another package's files.
    tree = os.path.join(args.cache, 'tree')
    os.makedirs(tree, exist_ok=True)
    for p in packages:
        if not os.path.isdir(os.path.join(tree, p)):
            deb = sorted(glob.glob(os.path.join(debs, f'{p}_*.deb')))[-1]
            part = os.path.join(tree, f'.{p}.part')  # renamed once whole: a stopped unpack is redone
            shutil.rmtree(part, ignore_errors=True)
            subprocess.run(['dpkg', '-x', deb, part], check=True)
            os.rename(part, os.path.join(tree, p))
    os.makedirs(args.out, exist_ok=True)
    rows = []
    voices = sources(tree, args.group)
    for speaker, package, files in (voices if args.as_packaged else merged(voices)):
        clips = [c for c in (load_clip(f) for f in files) if c is not None]
        utts = utterances(clips)
        os.makedirs(os.path.join(args.out, speaker), exist_ok=True)
        for i, u in enumerate(utts):
            rel = f'{speaker}/{i:03d}.flac'
            sf.write(os.path.join(args.out, rel), u, SR, subtype='PCM_16')
            rows.append((speaker, rel, f'{u.shape[0] / SR:.2f}', package, packages[package.split(',')[0]]))
        print(f'{speaker}: {len(files)} files, {len(clips)} clips kept, {len(utts)} utterances, '
              f'{sum(u.shape[0] for u in utts) / SR:.1f} s', flush=True)
    with open(os.path.join(args.out, 'index.tsv'), 'w', newline='') as f:
        w = csv.writer(f, delimiter='\t', lineterminator='\n')
        w.writerow(('speaker', 'path', 'seconds', 'package', 'licence'))
        w.writerows(rows)
    print(f'{len({r[0] for r in rows})} speakers, {len(rows)} utterances, '
          f'{sum(float(r[2]) for r in rows) / 3600:.2f} h -> {args.out}/index.tsv')


def check(args):
    from data import load_train  # noqa: E402
    from eval_dev import embed, load_model  # noqa: E402
    torch.set_num_threads(args.threads)
    model, _ = load_model(args.ckpt)
    waves, spk_of_utt, speakers = load_train(args.shared, extra=[*args.extra_data, args.data])
    with torch.no_grad():
        e = torch.from_numpy(np.stack([embed(model, torch.from_numpy(w), dither=args.dither) for w in waves]))
    spk = torch.tensor(spk_of_utt)
    cent = torch.nn.functional.normalize(torch.stack([e[spk == s].mean(dim=0) for s in range(len(speakers))]), dim=1)
    with open(os.path.join(args.data, 'index.tsv')) as f:
        ours = {row['speaker'] for row in csv.DictReader(f, delimiter='\t')}
    new = [i for i, s in enumerate(speakers) if s in ours]
    # Same-person reference: the cosine between the centroids of the odd and the even utterances of
    # each new speaker with two or more. A cross-name pair as close as these is one person twice.
    def unit(v):
        return v / v.norm()
    halves = [float(unit(e[spk == s][0::2].mean(dim=0)) @ unit(e[spk == s][1::2].mean(dim=0)))
              for s in new if int((spk == s).sum()) >= 2]
    print(f'new speakers {len(new)}; same speaker, odd vs even utterances\' centroids: min {min(halves):.3f}, '
          f'5th percentile {float(np.percentile(halves, 5)):.3f}, median {float(np.median(halves)):.3f}')
    sim = cent[new] @ cent.T
    pairs = []
    for a, i in enumerate(new):
        for j in range(len(speakers)):
            if j != i and not (j in new and j < i):
                pairs.append((float(sim[a, j]), speakers[i], speakers[j]))
    for c, a, b in sorted(pairs, reverse=True)[: args.top]:
        print(f'{c:.3f}  {a}  {b}')


def main():
    from data import DEFAULT_DATA  # noqa: E402
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    b = sub.add_parser('build')
    b.add_argument('--group', choices=sorted(GROUPS), default='base', help='which voices (see GROUPS); build each into its own --out')
    b.add_argument('--out', help='default: DEFAULT_OUT of the group (data/debian-voices, data/debian-prompts, data/debian-more)')
    b.add_argument('--as-packaged', action='store_true', help='keep SAME_PERSON\'s names apart (for check); never train on such a build')
    b.add_argument('--cache', default='data/debian-voices-cache', help='where the .deb files and their unpacked tree go')
    c = sub.add_parser('check')
    c.add_argument('--data', default='data/debian-voices', help='the built group whose speakers are checked')
    add_extra_data_arg(c)  # earlier groups, compared with as the shared speakers are
    c.add_argument('--shared', default=DEFAULT_DATA, help='../shared/data, for the training speakers to compare with')
    c.add_argument('--ckpt', required=True)
    c.add_argument('--top', type=int, default=25)
    c.add_argument('--dither', type=float, default=1.0, help='as the model is served (v6 and later: 1.0)')
    c.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    if args.cmd == 'build' and args.out is None:
        args.out = DEFAULT_OUT[args.group]
    build(args) if args.cmd == 'build' else check(args)


if __name__ == '__main__':
    main()
