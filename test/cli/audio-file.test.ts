/** Finding audio files in folders (src/cli/audio-file.ts) and speakers in an eval folder (src/cli/eval.ts). */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { expandAudioPaths } from '../../src/cli/audio-file.js';
import { listSpeakers } from '../../src/cli/eval.js';
import { tempDir } from './run-cli.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** A folder: alice/ and bob/ with files, a data set elsewhere that carol/ links to, a linked file, a dangling link and a loop. */
function dataSet(): string {
  const root = tempDir('vp-audio-files-');
  const elsewhere = tempDir('vp-audio-elsewhere-');
  dirs.push(root, elsewhere);
  const file = (p: string) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, 'RIFF');
  };
  file(path.join(root, 'alice', 'a1.wav'));
  file(path.join(root, 'alice', 'deeper', 'a2.flac'));
  file(path.join(root, 'alice', 'notes.txt'));
  file(path.join(root, 'bob', 'b1.wav'));
  file(path.join(elsewhere, 'carol', 'c1.wav'));
  file(path.join(elsewhere, 'extra.wav'));
  fs.symlinkSync(path.join(elsewhere, 'carol'), path.join(root, 'carol'));
  fs.symlinkSync(path.join(elsewhere, 'extra.wav'), path.join(root, 'bob', 'b2.wav'));
  fs.symlinkSync(path.join(root, 'nowhere.wav'), path.join(root, 'bob', 'dangling.wav'));
  fs.symlinkSync(path.join(root, 'alice'), path.join(root, 'alice', 'deeper', 'loop'));
  return root;
}

describe('expandAudioPaths', () => {
  it('finds the audio files of a folder, sorted, following links to files and folders, each folder once', async () => {
    const root = dataSet();
    expect(await expandAudioPaths([path.join(root, 'alice'), path.join(root, 'bob'), path.join(root, 'carol')])).toEqual([
      path.join(root, 'alice', 'a1.wav'),
      path.join(root, 'alice', 'deeper', 'a2.flac'),
      path.join(root, 'bob', 'b1.wav'),
      path.join(root, 'bob', 'b2.wav'),
      path.join(root, 'carol', 'c1.wav'),
    ]);
  });
});

describe('listSpeakers', () => {
  it('takes a speaker folder that is a link like any other', async () => {
    const root = dataSet();
    const { speakers, emptyFolders } = await listSpeakers(root);
    expect(speakers.map((s) => [s.name, s.files.length])).toEqual([
      ['alice', 2],
      ['bob', 2],
      ['carol', 1],
    ]);
    expect(emptyFolders).toEqual([]);
  });
});
