import { describe, expect, it } from 'vitest';
import { errorFromParts, errorParts } from '../lib/error-transfer.js';
import { toAnnalsError } from '../lib/errors.js';
import {
  AnnalsError,
  CorruptionError,
  DiskFullError,
  InvalidArgumentError,
  LimitExceededError,
  NotAStoreError,
  PermissionDeniedError,
  StoreClosedError,
} from '../lib/index.js';

/** Through postMessage's structured clone, as a worker's error travels. */
const across = (err: unknown): Error => errorFromParts(structuredClone(errorParts(err)));

describe('errors across threads and from the addon', () => {
  it('keeps the class, code, message, fatal flag and position of a typed error across a thread', () => {
    for (const err of [
      new LimitExceededError('too many rounds'),
      new InvalidArgumentError('bad key'),
      new DiskFullError('no space'),
      new PermissionDeniedError('no access'),
      new NotAStoreError('not a store'),
      new StoreClosedError(),
    ]) {
      const back = across(err);
      expect(back).toBeInstanceOf(err.constructor);
      expect(back).toMatchObject({ code: err.code, message: err.message, fatal: false });
    }
    const corrupt = across(new CorruptionError('bad record', true, 4096));
    expect(corrupt).toBeInstanceOf(CorruptionError);
    expect(corrupt).toMatchObject({ code: 'CORRUPTION', fatal: true, position: 4096 });
    const fatalIo = across(new AnnalsError('IO', 'flush failed', { fatal: true }));
    expect(fatalIo).toMatchObject({ code: 'IO', fatal: true, message: 'flush failed' });
  });

  it('carries another error as its name, message and code', () => {
    const fsErr = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    const back = across(fsErr);
    expect(back).not.toBeInstanceOf(AnnalsError);
    expect(back).toMatchObject({ name: 'Error', message: 'ENOENT: no such file', code: 'ENOENT' });
  });

  it('maps the addon and fs codes to typed errors, anything else to IO', () => {
    const withCode = (code: string, extra: object = {}) => Object.assign(new Error(`${code} happened`), { code, ...extra });
    expect(toAnnalsError(withCode('CORRUPTION', { position: 64 }))).toMatchObject({ code: 'CORRUPTION', position: 64 });
    expect(toAnnalsError(withCode('CORRUPTION'))).toBeInstanceOf(CorruptionError);
    expect(toAnnalsError(withCode('ENOSPC'))).toBeInstanceOf(DiskFullError);
    expect(toAnnalsError(withCode('EROFS'))).toBeInstanceOf(PermissionDeniedError);
    expect(toAnnalsError(withCode('ENOTDIR'), 'open /x: ').message).toBe(
      'open /x: ENOTDIR happened (a file stands where the store has a directory)',
    );
    expect(toAnnalsError(withCode('STORE_CLOSED'))).toBeInstanceOf(StoreClosedError);
    expect(toAnnalsError(withCode('INVALID_ARGUMENT'))).toBeInstanceOf(InvalidArgumentError);
    // Codes the addon does not throw are not trusted as annals codes.
    expect(toAnnalsError(withCode('WRONG_EXPECTED_VERSION'))).toMatchObject({ code: 'IO' });
    expect(toAnnalsError(withCode('EIO'))).toMatchObject({ code: 'IO' });
    expect(toAnnalsError('plain')).toMatchObject({ code: 'IO', message: 'plain' });
  });
});
