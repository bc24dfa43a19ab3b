/**
 * age encryption of backup files (src/store/backup-encryption.ts): round trips over the chunk
 * boundaries, refusals of a wrong identity and of altered or cut files, the key file formats, and,
 * where Debian's `age` is installed, that its command line opens our files and we open its.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ageFormatOf, checkRecipients, decryptFile, encryptFile, newIdentity, readIdentityFile, readRecipientsFile } from '../../src/store/backup-encryption.js';
import { removeDir, tempDataDir } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = tempDataDir();
});
afterEach(() => removeDir(dir));

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** age's payload: 64 KiB chunks, each with a 16-byte Poly1305 tag. */
const chunkBytes = 64 * 1024 + 16;

let n = 0;
/** Writes `bytes` to a new file and returns its path. */
function file(bytes: Uint8Array | string): string {
  const f = path.join(dir, `f${n++}`);
  fs.writeFileSync(f, bytes);
  return f;
}
const emptyFile = () => file('');

/** Encrypts `plain` to `recipients` and returns the file with what encryptFile reported. */
async function encrypted(plain: Uint8Array, recipients: string[]) {
  const target = emptyFile();
  const written = await encryptFile(file(plain), target, recipients);
  return { target, written, bytes: fs.readFileSync(target) };
}

/** Where the payload starts: after the header's MAC line and the 16-byte nonce (age spec, "Payload"). */
function payloadStart(bytes: Buffer): number {
  const mac = bytes.indexOf('\n---');
  return bytes.indexOf('\n', mac + 1) + 1 + 16;
}

describe('encryptFile / decryptFile', () => {
  it('round-trips files of any size across the 64 KiB chunk boundaries, reporting the ciphertext size and sha256', async () => {
    const { identity, recipient } = await newIdentity(new Date());
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0, 1, 65_535, 65_536, 65_537, 3 * 65_536).chain((edge) => fc.integer({ min: Math.max(0, edge - 2), max: edge + 2 })), async (size) => {
        const plain = randomBytes(size);
        const { target, written, bytes } = await encrypted(plain, [recipient]);
        expect(written).toEqual({ bytes: bytes.length, sha256: sha256(bytes) });
        expect(ageFormatOf(target)).toBe('binary');
        const out = path.join(dir, `out${n++}`);
        expect(await decryptFile(target, out, [identity])).toBe(sha256(bytes));
        expect(fs.readFileSync(out).equals(plain)).toBe(true);
        expect(fs.statSync(out).mode & 0o777).toBe(0o600);
      }),
      { numRuns: 12 },
    );
  });

  it('encrypts to several recipients, each of whose identities opens the file alone', async () => {
    const a = await newIdentity(new Date());
    const b = await newIdentity(new Date());
    const plain = randomBytes(100_000);
    const { target } = await encrypted(plain, [a.recipient, b.recipient]);
    for (const id of [a.identity, b.identity]) {
      const out = path.join(dir, `out${n++}`);
      await decryptFile(target, out, [id]);
      expect(fs.readFileSync(out).equals(plain)).toBe(true);
    }
  });

  it('refuses an identity the file was not encrypted to, and a file altered anywhere or cut short', async () => {
    const { identity, recipient } = await newIdentity(new Date());
    const stranger = await newIdentity(new Date());
    const { target, bytes } = await encrypted(randomBytes(3 * 65_536 + 100), [recipient]);
    await expect(decryptFile(target, path.join(dir, 'x'), [stranger.identity])).rejects.toMatchObject({
      code: 'validation-failed',
      message: `None of the identities given opens the backup ${target}: it was encrypted to other recipients. Nothing was restored.`,
    });

    const start = payloadStart(bytes);
    const flip = (at: number) => {
      const b = Buffer.from(bytes);
      b[at]! ^= 0x01;
      return b;
    };
    const cases: Array<[string, Buffer]> = [
      ['a payload byte changed', flip(start + 70_000)],
      ['the last byte changed', flip(bytes.length - 1)],
      // (A changed recipient stanza cannot be told from one for another identity: that is the refusal above.)
      ["the header's MAC changed", flip(bytes.indexOf('\n--- ') + 8)],
      ['cut at a chunk boundary', bytes.subarray(0, start + 2 * chunkBytes)],
      ['cut inside a chunk', bytes.subarray(0, start + chunkBytes + 100)],
      ['the last byte dropped', bytes.subarray(0, bytes.length - 1)],
      ['two chunks swapped', Buffer.concat([bytes.subarray(0, start), bytes.subarray(start + chunkBytes, start + 2 * chunkBytes), bytes.subarray(start, start + chunkBytes), bytes.subarray(start + 2 * chunkBytes)])],
    ];
    for (const [what, altered] of cases) {
      const f = file(altered);
      await expect(decryptFile(f, path.join(dir, `out${n++}`), [identity]), what).rejects.toMatchObject({
        code: 'config-invalid',
        message: expect.stringMatching(new RegExp(`^The encrypted backup ${f} is damaged, altered or cut short \\(.+\\)\\. Nothing was restored\\.$`)),
      });
    }
  });
});

describe('ageFormatOf', () => {
  it('tells binary and armored age files from anything else, short or empty files included', async () => {
    const { recipient } = await newIdentity(new Date());
    expect(ageFormatOf((await encrypted(Buffer.from('x'), [recipient])).target)).toBe('binary');
    expect(ageFormatOf(file('-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n'))).toBe('armored');
    expect(ageFormatOf(file('SQLite format 3\0'))).toBeNull();
    expect(ageFormatOf(file('age-encryption.org/v2\n'))).toBeNull();
    expect(ageFormatOf(file('age'))).toBeNull();
    expect(ageFormatOf(emptyFile())).toBeNull();
  });
});

describe('recipients and identities', () => {
  it('takes age recipients, and refuses an identity given as a recipient without repeating it', async () => {
    const { identity, recipient } = await newIdentity(new Date());
    expect(checkRecipients([recipient], '--recipient')).toEqual([recipient]);
    expect(() => checkRecipients([], '--recipient')).toThrow(expect.objectContaining({ code: 'validation-failed', message: '--recipient names no age recipient (age1…).' }));
    let thrown: Error | undefined;
    try {
      checkRecipients([recipient, identity], '--recipient');
    } catch (e) {
      thrown = e as Error;
    }
    expect(thrown).toMatchObject({ code: 'validation-failed', message: expect.stringMatching(/^Recipient 2 of --recipient is an age identity \(a private key\), not a recipient: give its public key \(age-keygen -y IDENTITY_FILE\)/) });
    expect(thrown!.message).not.toContain(identity.slice('AGE-SECRET-KEY-1'.length, 30));
    expect(() => checkRecipients(['age1notbech32'], '--recipient')).toThrow(expect.objectContaining({ message: expect.stringMatching(/^Recipient 1 of --recipient is not an age recipient \(age1…\): /) }));
  });

  it('reads identity and recipients files as age writes them: comments and blank lines skipped, anything else refused', async () => {
    const a = await newIdentity(new Date('2026-12-02T08:00:00Z'));
    const b = await newIdentity(new Date());
    expect(a.fileText).toBe(`# created: 2026-12-02T08:00:00.000Z\n# public key: ${a.recipient}\n${a.identity}\n`);
    expect(readIdentityFile(file(`${a.fileText}\n${b.fileText}`))).toEqual([a.identity, b.identity]);
    expect(readRecipientsFile(file(`# nightly backups\n${a.recipient}\n\n  ${b.recipient}  \r\n`))).toEqual([a.recipient, b.recipient]);

    const noIdentity = file('# nothing here\n');
    expect(() => readIdentityFile(noIdentity)).toThrow(expect.objectContaining({ code: 'validation-failed', message: `the identity file ${noIdentity} holds no age identity (AGE-SECRET-KEY-1…).` }));
    const recipientAsIdentity = file(`${a.identity}\n${a.recipient}\n`);
    expect(() => readIdentityFile(recipientAsIdentity)).toThrow(
      expect.objectContaining({ message: expect.stringMatching(new RegExp(`^Line 2 of the identity file ${recipientAsIdentity} \\(not counting comments\\) is not an age identity`)) }),
    );
    const missing = path.join(dir, 'missing');
    expect(() => readRecipientsFile(missing)).toThrow(expect.objectContaining({ code: 'validation-failed', message: expect.stringMatching(/^Cannot read the recipients file .*missing: ENOENT/) }));
    expect(() => readRecipientsFile(file('\n'))).toThrow(expect.objectContaining({ message: expect.stringMatching(/names no age recipient/) }));
  });
});

const ageCli = spawnSync('age', ['--version']).status === 0;
if (!ageCli) console.warn('backup-encryption: Debian\'s `age` is not installed (apt-get install age): its interoperability test is skipped');

describe.skipIf(!ageCli)("with Debian's age command line", () => {
  it('age -d opens what encryptFile wrote, and decryptFile opens what age -r wrote', async () => {
    const { identity, recipient, fileText } = await newIdentity(new Date());
    const identityFile = file(fileText);
    const plain = randomBytes(200_000);
    const { target } = await encrypted(plain, [recipient]);
    expect(execFileSync('age', ['-d', '-i', identityFile, target]).equals(plain)).toBe(true);

    const theirs = path.join(dir, 'theirs.age');
    execFileSync('age', ['-r', recipient, '-o', theirs, file(plain)]);
    const out = path.join(dir, 'out');
    await decryptFile(theirs, out, [identity]);
    expect(fs.readFileSync(out).equals(plain)).toBe(true);
  });
});
