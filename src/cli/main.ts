/**
 * The `voice-passport` command. One file per subcommand; this file only dispatches.
 * Output is JSON on stdout; errors are `{ error: { code, message } }` on stderr with the
 * API's stable codes and a non-zero exit.
 */
import { loadConfig } from '../config.js';
import { auditCommand } from './audit.js';
import { backupCommand, backupKeyCommand, restoreCommand } from './backup.js';
import { calibrateCommand } from './calibrate.js';
import { cohortCommand } from './cohort.js';
import { compareCommand, embedCommand } from './embed.js';
import { evalCommand } from './eval.js';
import { featuresCommand } from './features.js';
import { keysCommand } from './keys.js';
import { modelsCommand } from './models.js';
import { VoicePassportError } from '../errors.js';
import { fail } from './output.js';
import { purgeCommand } from './purge.js';

const usage = `usage: voice-passport <command> [options]

commands:
  features <audio> [--num-mel-bins 80 --frame-length 25 --frame-shift 10 --window-type hamming
                    --snip-edges true|false --high-freq=-400 --sample-scale unit|int16 ...]
                              raw Kaldi log-mel matrix (torchaudio option names)
  embed <audio|folder>... [--model ID]
                              speaker embedding(s); JSON for one file, JSONL for several
  compare <audioA> <audioB> [--model ID]
                              cosine similarity of two recordings
  eval <folder> [--channel wideband|telephone] [--law mulaw|alaw] [--trials all-pairs|enrolment]
       [--enrol-seconds S] [--test-seconds S] [--durations 2,3,5,10|none] [--model ID]
       [--score-normalisation manifest|none|as-norm] [--out report.json] [--plot det.svg]
       [--enrol-channel wideband|telephone] [--voiceprints first|rotating] [--noise white|pink
       | --noise-file F] [--snr=DB] [--embed speech|whole] [--speech-context-ms MS] [--vad-threshold P]
                              EER, minDCF, FMR/FNMR per policy, EER by duration over a folder
                              with one sub-folder per speaker
  calibrate <folder>... [--channel wideband|telephone] [--model ID] [--write] [--across-channels]
       [--prior P] [eval's --law --trials --enrol-seconds --voiceprints --test-seconds --durations]
                              fit llr = a·score + b (cosine, or AS-norm score when enabled), the FMR
                              operating table and the EER by duration on the eval trials; --write
                              stores them in the manifest
  cohort <folder>... [--model ID] [--channel wideband|telephone|both] [--law mulaw|alaw]
       [--per-speaker 3] [--seconds 6] [--embed speech|whole] [--rows utterance|speaker]
       [--top-k 100] [--enable] [--write]
                              AS-norm impostor cohort from the speaker sub-folders of every folder
                              given (names must differ across them), a row per utterance or per
                              speaker, written
                              to <id>.cohort-<channel>.f32; --write adds scoreNormalisation to the
                              manifest, --enable switches it on
  models list                 installed models (VP_MODELS_DIR) and the published-model catalogue
  models fetch ID [--url URL] [--sha256 HEX] [--trust-on-first-use]
                              download a catalogue model, check its sha256, register it (VP_MODEL=ID)
  models add FILE.onnx --convention wespeaker|3dspeaker [--id ID] [--dim D]
                              register a local ONNX file from a convention template
  keys create --role telephony|enrolment|operator|admin [--name NAME] [--expires-in-days D]
                              new API key; the secret is printed this once
  keys list                   API keys (ids, roles, times; never secrets)
  keys revoke KEY_ID          revoke an API key
  purge [--dry-run]           erase voiceprints unused for VP_RETENTION_DAYS
  audit verify [--anchor SEQ:HASH]
                              check the audit hash chain; exit 1 when broken
  backup FILE (--recipient AGE1… | --recipients-file F | --unencrypted)
                              copy the database to a new FILE (consistent; the service may run),
                              encrypted to age recipients (repeat either option for several)
  restore FILE [--identity IDENTITY_FILE] [--audit-log EXPORT]
                              replace the database with a backup (stop the service first); erasures
                              and key revocations recorded since the backup (by the database, or in
                              EXPORT, the audit log exported since, when the database is lost) are
                              applied again; IDENTITY_FILE opens an encrypted backup
  backup-key FILE             a new age identity for backups, to FILE (0600); prints its recipient
  serve                       run the HTTP service (same as npm start)

Configuration comes from the environment (see README.md).`;

/** Whether --help or -h comes among the options (before a `--`, after which a file may be named so). */
function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** The usage's lines for one command (its line and the deeper-indented ones after it); all of it for another. */
export function usageOf(command: string): string {
  const lines = usage.split('\n');
  const out: string[] = [];
  let inBlock = false;
  for (const line of lines) {
    if (/^  \S/.test(line)) inBlock = line.slice(2).split(' ')[0] === command;
    else if (!line.startsWith('   ')) inBlock = false;
    if (inBlock) out.push(line);
  }
  return out.length === 0 ? usage : `usage: voice-passport\n${out.join('\n')}`;
}

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // `serve --help` must not start the service, nor `keys create --help` answer "unknown option".
  if (command !== undefined && !['help', '--help', '-h'].includes(command) && asksForHelp(rest)) {
    process.stdout.write(`${usageOf(command)}\n`);
    return 0;
  }
  switch (command) {
    case 'features':
      await featuresCommand(rest, loadConfig().maxAudioSeconds);
      return 0;
    case 'embed':
      return embedCommand(rest, loadConfig());
    case 'compare':
      await compareCommand(rest, loadConfig());
      return 0;
    case 'eval':
      return evalCommand(rest, loadConfig());
    case 'calibrate':
      return calibrateCommand(rest, loadConfig());
    case 'cohort':
      return cohortCommand(rest, loadConfig());
    case 'models':
      return modelsCommand(rest, loadConfig());
    case 'keys':
      keysCommand(rest, loadConfig().dataDir);
      return 0;
    case 'purge':
      purgeCommand(rest, loadConfig());
      return 0;
    case 'audit':
      return auditCommand(rest, loadConfig().dataDir);
    case 'backup':
      await backupCommand(rest, loadConfig().dataDir);
      return 0;
    case 'restore':
      await restoreCommand(rest, loadConfig().dataDir);
      return 0;
    case 'backup-key':
      await backupKeyCommand(rest);
      return 0;
    case 'serve':
      // The service takes its settings from the environment only; an argument would be ignored silently.
      if (rest.length > 0) {
        throw new VoicePassportError('validation-failed', `serve takes no arguments, got "${rest[0]}"; configure it with environment variables (README.md, Configuration)\nusage: voice-passport serve`);
      }
      await import('../server.js');
      return -1; // keeps running; the server owns the exit
    case undefined:
      // No command is a usage error: stdout stays for results, as with an unknown command.
      process.stderr.write(`${usage}\n`);
      return 2;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${usage}\n`);
      return 0;
    default:
      process.stderr.write(`unknown command "${command}"\n${usage}\n`);
      return 2;
  }
}

try {
  const code = await runCli(process.argv.slice(2));
  if (code >= 0) process.exitCode = code;
} catch (e) {
  fail(e);
}
