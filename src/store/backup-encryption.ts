/**
 * Backup files encrypted with age (https://age-encryption.org/v1: X25519 recipients, ChaCha20-Poly1305
 * in 64 KiB chunks, each authenticated, the last one marked, so an altered, reordered or cut file
 * is refused). The only module that imports age-encryption.
 *
 * Why a public-key format: the machine that takes the nightly backup then holds only recipients
 * (public keys) and cannot read a backup, or any copy of one on backup storage; the identity (the
 * private key) stays offline and is needed only to restore (GDPR Art. 32(1)(a), encryption of
 * personal data; the pseudonyms, consent records and verification history in a backup are not
 * otherwise encrypted, only the templates are). Why age: a small, specified format with a command
 * line in Debian (`age`, `age-keygen`), so a backup can be opened without this service:
 * `age -d -i identity.txt FILE > voice-passport.db`.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { VoicePassportError } from '../errors.js';

/** The first line of a binary age file, and of an ASCII-armored one. */
const binaryMagic = 'age-encryption.org/v1\n';
const armoredMagic = '-----BEGIN AGE ENCRYPTED FILE-----';

/** Whether `file` starts as an age file does: binary, armored (`age -a`), or not at all. */
export function ageFormatOf(file: string): 'binary' | 'armored' | null {
  const head = Buffer.alloc(armoredMagic.length);
  const fd = fs.openSync(file, 'r');
  let n: number;
  try {
    n = fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const text = head.subarray(0, n).toString('latin1');
  if (text.startsWith(binaryMagic)) return 'binary';
  if (text.startsWith(armoredMagic)) return 'armored';
  return null;
}

/**
 * Checks age recipients (`age1…`, as `age-keygen` prints them) and returns them. The messages never
 * repeat what was given: a private key pasted by mistake must not reach a terminal log.
 */
export function checkRecipients(recipients: readonly string[], source: string): string[] {
  if (recipients.length === 0) throw new VoicePassportError('validation-failed', `${source} names no age recipient (age1…).`);
  return recipients.map((r, i) => {
    if (r.startsWith('AGE-SECRET-KEY-')) {
      throw new VoicePassportError('validation-failed', `Recipient ${i + 1} of ${source} is an age identity (a private key), not a recipient: give its public key (age-keygen -y IDENTITY_FILE), and keep the identity offline.`);
    }
    try {
      new Encrypter().addRecipient(r);
    } catch (e) {
      throw new VoicePassportError('validation-failed', `Recipient ${i + 1} of ${source} is not an age recipient (age1…): ${(e as Error).message}.`);
    }
    return r;
  });
}

/** The non-empty, non-comment lines of a recipients or identity file (age's file formats). */
function keyLines(file: string, what: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new VoicePassportError('validation-failed', `Cannot read the ${what} file ${path.resolve(file)}: ${(e as Error).message}.`);
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** A recipients file (`age -R`): one recipient a line, `#` comments. */
export function readRecipientsFile(file: string): string[] {
  return checkRecipients(keyLines(file, 'recipients'), `the recipients file ${path.resolve(file)}`);
}

/** An identity file (`age-keygen -o`, or `backup-key`): one `AGE-SECRET-KEY-1…` a line, `#` comments. */
export function readIdentityFile(file: string): string[] {
  const where = `the identity file ${path.resolve(file)}`;
  const lines = keyLines(file, 'identity');
  if (lines.length === 0) throw new VoicePassportError('validation-failed', `${where} holds no age identity (AGE-SECRET-KEY-1…).`);
  return lines.map((line, i) => {
    try {
      new Decrypter().addIdentity(line);
    } catch (e) {
      throw new VoicePassportError('validation-failed', `Line ${i + 1} of ${where} (not counting comments) is not an age identity (AGE-SECRET-KEY-1…): ${(e as Error).message}.`);
    }
    return line;
  });
}

/** A new X25519 identity, its recipient, and both in age-keygen's file format. */
export async function newIdentity(createdAt: Date): Promise<{ identity: string; recipient: string; fileText: string }> {
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  return { identity, recipient, fileText: `# created: ${createdAt.toISOString()}\n# public key: ${recipient}\n${identity}\n` };
}

/**
 * Where ciphertext or plaintext goes: an open file, written in order, fsynced at the end; its size,
 * and its sha256 when asked (the ciphertext's is the receipt's; nobody needs the plaintext's).
 */
class FileSink extends Writable {
  readonly hash;
  bytes = 0;
  constructor(
    private readonly fd: number,
    options: { hash: boolean },
  ) {
    super();
    this.hash = options.hash ? createHash('sha256') : null;
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    try {
      fs.writeSync(this.fd, chunk);
      this.hash?.update(chunk);
      this.bytes += chunk.length;
      done();
    } catch (e) {
      done(e as Error);
    }
  }
  override _final(done: (error?: Error | null) => void): void {
    try {
      fs.fsyncSync(this.fd);
      done();
    } catch (e) {
      done(e as Error);
    }
  }
}

const webStream = (file: string) => Readable.toWeb(fs.createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
const nodeStream = (s: ReadableStream<Uint8Array>) => Readable.fromWeb(s as unknown as WebReadableStream<Uint8Array>);

/** Encrypts `source` to `recipients` into `target`, an existing empty file; returns the ciphertext's size and sha256. */
export async function encryptFile(source: string, target: string, recipients: readonly string[]): Promise<{ bytes: number; sha256: string }> {
  const encrypter = new Encrypter();
  for (const r of recipients) encrypter.addRecipient(r);
  const fd = fs.openSync(target, 'r+');
  try {
    const sink = new FileSink(fd, { hash: true });
    await pipeline(nodeStream(await encrypter.encrypt(webStream(source))), sink);
    return { bytes: sink.bytes, sha256: sink.hash!.digest('hex') };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Decrypts the age file `source` with `identities` into `target`, a new file (0600); returns the
 * sha256 of `source` as read (the backup receipt's). A wrong identity, or a file altered or cut
 * short, is refused; `target` then holds at most a prefix of the plaintext, for the caller to remove.
 */
export async function decryptFile(source: string, target: string, identities: readonly string[]): Promise<string> {
  const decrypter = new Decrypter();
  for (const id of identities) decrypter.addIdentity(id);
  const sourceHash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sourceHash.update(chunk);
      done(null, chunk);
    },
  });
  const fd = fs.openSync(target, 'wx', 0o600);
  try {
    const ciphertext = Readable.toWeb(fs.createReadStream(source).pipe(hashing)) as unknown as ReadableStream<Uint8Array>;
    await pipeline(nodeStream(await decrypter.decrypt(ciphertext)), new FileSink(fd, { hash: false }));
  } catch (e) {
    const message = (e as Error).message;
    if (/no identity matched/i.test(message)) {
      throw new VoicePassportError('validation-failed', `None of the identities given opens the backup ${path.resolve(source)}: it was encrypted to other recipients. Nothing was restored.`);
    }
    throw new VoicePassportError('config-invalid', `The encrypted backup ${path.resolve(source)} is damaged, altered or cut short (${message}). Nothing was restored.`);
  } finally {
    fs.closeSync(fd);
  }
  return sourceHash.digest('hex');
}
