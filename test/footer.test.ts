import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { encodeFooter, parseFooter } from '../src/main/format/footer.js';
import { FormatError } from '../src/main/errors.js';
import { fixturesDir } from './helpers/vectors.js';

test('encodeFooter matches the reference eStargz footer bytes', () => {
  const meta = JSON.parse(readFileSync(path.join(fixturesDir, 'whiteout.meta.json'), 'utf8'));
  const blob = readFileSync(path.join(fixturesDir, 'whiteout.esgz'));
  assert.equal(Buffer.from(encodeFooter(meta.tocOffset)).toString('hex'), meta.footerHex);
  const f = parseFooter(blob.subarray(blob.length - 51), blob.length);
  assert.deepEqual(f, { format: 'estargz', size: 51, tocOffset: meta.tocOffset });
});

test('legacy footer round-trips and is detected from the last 51 bytes', () => {
  const blob = Buffer.concat([Buffer.alloc(1000), encodeFooter(123, 'stargz-legacy')]);
  assert.equal(encodeFooter(123, 'stargz-legacy').length, 47);
  assert.deepEqual(parseFooter(blob.subarray(blob.length - 51), blob.length), { format: 'stargz-legacy', size: 47, tocOffset: 123 });
});

test('footer errors: garbage, offset outside the blob', () => {
  assert.throws(() => parseFooter(Buffer.alloc(51), 51), FormatError);
  const f = encodeFooter(5000);
  assert.throws(() => parseFooter(f, 100), /outside the blob/);
});
