import { isReplayedHeader, isStoredResponse, storedBody, storedResponse } from '@bulwark/http';
import { describe, expect, it } from 'vitest';

describe('storedResponse', () => {
  it('keeps the status, the end-to-end headers and a text body as text', () => {
    const stored = storedResponse(
      201,
      { 'content-type': 'application/json', etag: 'W/"1"' },
      Buffer.from('{"id":1}'),
    );
    expect(stored).toEqual({
      status: 201,
      headers: [
        ['content-type', 'application/json'],
        ['etag', 'W/"1"'],
      ],
      body: '{"id":1}',
      bodyEncoding: 'utf8',
    });
  });

  it('leaves out Set-Cookie, hop-by-hop fields, Content-Length and Date', () => {
    const stored = storedResponse(
      200,
      {
        'set-cookie': ['a=1', 'b=2'],
        connection: 'keep-alive, x-hop',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        te: 'trailers',
        trailer: 'x-checksum',
        upgrade: 'h2c',
        'proxy-authenticate': 'Basic',
        'proxy-connection': 'close',
        'content-length': 5,
        date: 'Tue, 01 Jan 2030 00:00:00 GMT',
        'x-hop': 'listed in Connection',
        'x-kept': 'yes',
      },
      'hello',
    );
    expect(stored.headers).toEqual([['x-kept', 'yes']]);
  });

  it('keeps multi-valued and numeric headers as strings', () => {
    const stored = storedResponse(200, { vary: ['accept', 'origin'], 'x-count': 3 }, '');
    expect(stored.headers).toEqual([
      ['vary', ['accept', 'origin']],
      ['x-count', '3'],
    ]);
  });

  it('stores binary bodies in base64 and gives back the same bytes', () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x80]);
    const stored = storedResponse(200, {}, bytes);
    expect(stored.bodyEncoding).toBe('base64');
    expect(storedBody(stored).equals(bytes)).toBe(true);
  });

  it('survives JSON, as a store keeps it', () => {
    const stored = storedResponse(202, { 'x-a': ['1', '2'] }, Buffer.from('caf\u00e9'));
    const back = JSON.parse(JSON.stringify(stored));
    expect(isStoredResponse(back)).toBe(true);
    expect(storedBody(back).toString()).toBe('caf\u00e9');
  });

  it('recognises only records of its own shape', () => {
    expect(isStoredResponse({ status: 200, headers: [], body: '', bodyEncoding: 'utf8' })).toBe(
      true,
    );
    expect(isStoredResponse('hello')).toBe(false);
    expect(isStoredResponse({ status: 200, headers: [], body: '' })).toBe(false);
    expect(isStoredResponse({ status: 99, headers: [], body: '', bodyEncoding: 'utf8' })).toBe(
      false,
    );
    expect(
      isStoredResponse({ status: 200, headers: [[1, 'a']], body: '', bodyEncoding: 'utf8' }),
    ).toBe(false);
  });

  it('replays every header but the listed ones', () => {
    expect(isReplayedHeader('content-type')).toBe(true);
    expect(isReplayedHeader('proxy-anything')).toBe(false);
    expect(isReplayedHeader('set-cookie')).toBe(false);
  });
});
