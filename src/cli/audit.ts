/**
 * `voice-passport audit verify [--anchor SEQ:HASH]`: recomputes the hash chain of the audit log
 * (issue 3; GDPR Art. 5(2) accountability, Art. 32(1)(d) testing the safeguards). Exit 0 when it holds,
 * 1 when an entry was changed, removed or reordered.
 *
 * The chain alone cannot show that the newest entries were cut off. The printed `head` is what an
 * operator records elsewhere (ticket, SIEM); passing it back as `--anchor` later proves that every
 * entry up to it is still there, unchanged.
 */
import { VoicePassportError } from '../errors.js';
import type { AuditHead } from '../store/index.js';
import { withAdminStore } from './admin-store.js';
import { parseCliArgs } from './args.js';
import { printJson } from './output.js';

const usage = 'usage: voice-passport audit verify [--anchor SEQ:HASH]   (SEQ and HASH as printed in "head" by an earlier run)';

/** `SEQ:HASH` → { seq, hash }: a positive integer and 64 lowercase hex digits (SHA-256). */
export function parseAnchor(text: string): AuditHead {
  const m = /^([1-9][0-9]{0,15}):([0-9a-fA-F]{64})$/.exec(text.trim());
  const seq = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(seq)) {
    throw new VoicePassportError('validation-failed', `--anchor must be SEQ:HASH, e.g. 42:${'0'.repeat(64)}; got "${text.slice(0, 100)}"\n${usage}`);
  }
  return { seq, hash: (m[2] as string).toLowerCase() };
}

/** Returns the exit code: 0 when the chain holds (and reaches the anchor), 1 otherwise. */
export function auditCommand(argv: string[], dataDir: string): number {
  const [action, ...rest] = argv;
  if (action !== 'verify') {
    throw new VoicePassportError('validation-failed', `${action === undefined ? 'missing audit action' : `unknown audit action "${action}"`}\n${usage}`);
  }
  const { values, positionals } = parseCliArgs(rest, { anchor: { type: 'string' } }, usage);
  if (positionals.length > 0) throw new VoicePassportError('validation-failed', `Unexpected argument '${positionals[0]}'. This command does not take positional arguments\n${usage}`);
  const anchorText = values.anchor;
  const anchor = anchorText === undefined ? undefined : parseAnchor(anchorText);
  const report = withAdminStore(dataDir, { mustExist: true }, (store) => store.audit.verify(anchor === undefined ? {} : { anchor }));
  printJson(report);
  return report.ok ? 0 : 1;
}
