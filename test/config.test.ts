import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { configVariables, loadConfig } from '../src/config.js';
import { VoicePassportError } from '../src/errors.js';
import { masterKeyVariables } from '../src/store/master-key.js';

describe('loadConfig', () => {
  it('keeps the default VP_WORKERS (the cores) within its 1-64 range on a larger machine', async () => {
    const cores = vi.spyOn(os, 'availableParallelism').mockReturnValue(128);
    try {
      vi.resetModules();
      const fresh = (await import('../src/config.js')) as typeof import('../src/config.js');
      expect(fresh.loadConfig({}).workers).toBe(64);
    } finally {
      cores.mockRestore();
      vi.resetModules();
    }
  });

  it('applies the documented defaults to an empty environment', () => {
    const c = loadConfig({});
    expect(c).toEqual({
      port: 8080,
      host: '0.0.0.0',
      dataDir: path.resolve('./data'),
      modelsDir: path.resolve('./models'),
      modelId: 'vp-resnet-v9',
      workers: Math.max(1, os.availableParallelism()),
      intraOpNumThreads: 1,
      queueMax: 32,
      maxAudioSeconds: 120,
      inferenceTimeoutMs: 30_000,
      shutdownGraceMs: 10_000,
      shutdownDelayMs: 0,
      enrolMinSeconds: 20,
      enrolMinSamples: 2,
      minSnrDb: 5,
      retentionDays: 1095,
      historyRetentionDays: 400,
      consentRecordRetentionDays: 1826,
      auditRetentionDays: null,
      consentNoticesDir: null,
      rateLimitPerMinute: 600,
      streamMaxOpen: 64,
      streamIdleSeconds: 10,
      console: true,
      logLevel: 'info',
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads and coerces values', () => {
    const c = loadConfig({ PORT: '9000', VP_WORKERS: '3', VP_MAX_AUDIO_SECONDS: '30.5', LOG_LEVEL: 'debug', VP_DATA_DIR: '/tmp/x' });
    expect(c.port).toBe(9000);
    expect(c.workers).toBe(3);
    expect(c.maxAudioSeconds).toBe(30.5);
    expect(c.logLevel).toBe('debug');
    expect(c.dataDir).toBe('/tmp/x');
  });

  it('reads the enrolment, retention, rate-limit and stream settings', () => {
    expect(loadConfig({ VP_STREAM_MAX_OPEN: '8', VP_STREAM_IDLE_SECONDS: '2.5' })).toMatchObject({ streamMaxOpen: 8, streamIdleSeconds: 2.5 });
    const c = loadConfig({ VP_ENROL_MIN_SECONDS: '12.5', VP_ENROL_MIN_SAMPLES: '3', VP_MIN_SNR_DB: '-2.5', VP_RETENTION_DAYS: '30', VP_HISTORY_RETENTION_DAYS: '90', VP_CONSENT_RECORD_RETENTION_DAYS: '3650', VP_AUDIT_RETENTION_DAYS: '2555', VP_RATE_LIMIT_PER_MINUTE: '60' });
    expect([c.enrolMinSeconds, c.enrolMinSamples, c.minSnrDb, c.retentionDays, c.historyRetentionDays, c.consentRecordRetentionDays, c.auditRetentionDays, c.rateLimitPerMinute]).toEqual([12.5, 3, -2.5, 30, 90, 3650, 2555, 60]);
    expect(loadConfig({ VP_CONSENT_NOTICES_DIR: 'bank/notices' }).consentNoticesDir).toBe(path.resolve('bank/notices'));
  });

  it('reads the shutdown settings, the grace from 1 s', () => {
    expect(loadConfig({ VP_SHUTDOWN_GRACE_MS: '1000', VP_SHUTDOWN_DELAY_MS: '5000' })).toMatchObject({ shutdownGraceMs: 1000, shutdownDelayMs: 5000 });
  });

  it('switches the operator console off with VP_CONSOLE=false (or 0, no, off)', () => {
    for (const off of ['false', '0', 'no', 'off']) expect(loadConfig({ VP_CONSOLE: off }).console).toBe(false);
    for (const on of ['true', '1', 'yes', 'on']) expect(loadConfig({ VP_CONSOLE: on }).console).toBe(true);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(8080);
  });

  it.each([
    ['PORT', '70000'],
    ['PORT', 'eighty'],
    ['VP_WORKERS', '0'],
    ['VP_MAX_AUDIO_SECONDS', '-1'],
    ['LOG_LEVEL', 'loud'],
    ['VP_MODEL', '../etc/passwd'],
    ['VP_MODEL', '..'],
    ['VP_ENROL_MIN_SECONDS', '0'],
    ['VP_ENROL_MIN_SAMPLES', '1.5'],
    ['VP_MIN_SNR_DB', '61'],
    ['VP_MIN_SNR_DB', 'quiet'],
    ['VP_RETENTION_DAYS', '0'],
    ['VP_HISTORY_RETENTION_DAYS', '36501'],
    ['VP_CONSENT_RECORD_RETENTION_DAYS', '0'],
    ['VP_AUDIT_RETENTION_DAYS', 'forever'],
    ['VP_RATE_LIMIT_PER_MINUTE', 'lots'],
    ['VP_STREAM_MAX_OPEN', '0'],
    ['VP_STREAM_IDLE_SECONDS', '0.5'],
    ['VP_CONSOLE', 'maybe'],
    // Under a second every stop would cut the requests just begun.
    ['VP_SHUTDOWN_GRACE_MS', '999'],
    ['VP_SHUTDOWN_DELAY_MS', '60001'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    let caught: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(VoicePassportError);
    const err = caught as VoicePassportError;
    expect(err.code).toBe('config-invalid');
    expect(err.message).toContain(name);
    expect(err.details).toEqual({ variables: [name] });
  });
});

describe('README', () => {
  it('documents every variable the service reads, and no other, in its configuration table', () => {
    const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
    const documented = section
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .flatMap((line) => [...line.split('|')[1]!.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!));
    expect(documented.length).toBeGreaterThan(20);
    expect([...documented].sort()).toEqual([...configVariables, ...masterKeyVariables].sort());
  });
});
