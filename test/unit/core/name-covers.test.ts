// RFC 6125 §6.4.3 wildcard matching, table-driven.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nameCovers } from '../../../src/core/certificate.js';

test('nameCovers follows RFC 6125 wildcard rules', () => {
  const cases: [string, string, boolean][] = [
    ['mx.example.com', 'mx.example.com', true],
    ['MX.Example.com', 'mx.example.com.', true],
    ['*.example.com', 'mx.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'a.b.example.com', false],
    ['*.com', 'example.com', false],
    ['mx*.example.com', 'mx1.example.com', false],
    ['*.example.com', 'mxexample.com', false],
    ['mail.example.com', 'mx.example.com', false],
  ];
  for (const [pattern, name, want] of cases) assert.equal(nameCovers(pattern, name), want, `${pattern} vs ${name}`);
});
