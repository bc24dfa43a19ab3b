/** parseCliArgs: strict parsing, and an option that takes one value refused when given twice. */
import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../src/cli/args.js';
import { VoicePassportError } from '../../src/errors.js';

const usage = 'usage: test';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VoicePassportError);
    expect((e as VoicePassportError).code).toBe('validation-failed');
    return (e as VoicePassportError).message;
  }
  throw new Error('not refused');
}

describe('parseCliArgs', () => {
  it('refuses a single-valued option given twice, rather than keeping the last silently', () => {
    const options = { role: { type: 'string' }, write: { type: 'boolean' } } as const;
    expect(refusal(() => parseCliArgs(['--role', 'admin', '--role=operator'], options, usage))).toBe('--role is given twice; give it once\nusage: test');
    expect(refusal(() => parseCliArgs(['--write', '--write'], options, usage))).toBe('--write is given twice; give it once\nusage: test');
  });

  it('takes a repeatable option several times, and a single one once', () => {
    const { values } = parseCliArgs(['--recipient', 'a', '--recipient', 'b', '--role', 'x'], { recipient: { type: 'string', multiple: true }, role: { type: 'string' } }, usage);
    expect(values).toEqual({ recipient: ['a', 'b'], role: 'x' });
  });
});
