import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalKey, httpKind, MAX_HEADERS, parseRequest, parseResponse } from './http.js';

const bytes = (s: string) => Uint8Array.from(Buffer.from(s, 'utf8'));

describe('HTTP heads', () => {
  it("classifies Tracee's prefixes only", () => {
    assert.equal(httpKind(bytes('HTTP/1.1 200 OK\r\n')), 'response');
    for (const m of ['GET', 'POST', 'PUT', 'DELETE', 'HEAD'])
      assert.equal(httpKind(bytes(`${m} / HTTP/1.1\r\n`)), 'request', m);
    assert.equal(httpKind(bytes('OPTIONS / HTTP/1.1\r\n')), undefined);
    assert.equal(httpKind(bytes('GET')), undefined);
  });

  it('reads a request as Go does: Host moved out, keys canonical and sorted, path unescaped', () => {
    const r = parseRequest(
      bytes(
        'GET /a%20b/c?x=1&y=2 HTTP/1.1\r\nhost: ktrail.test:8080\r\nuser-agent: ktrail-e2e\r\n' +
          'X-Multi: one\r\nx-multi:  two \r\nAccept: */*\r\n\r\nbody',
      ),
    );
    assert.deepEqual(r, {
      ok: true,
      value: {
        method: 'GET',
        protocol: 'HTTP/1.1',
        host: 'ktrail.test:8080',
        uriPath: '/a b/c',
        headers: { Accept: ['*/*'], 'User-Agent': ['ktrail-e2e'], 'X-Multi': ['one', 'two'] },
        contentLength: 0,
        cut: false,
      },
    });
  });

  it('takes the host of an absolute target, Content-Length, and drops Transfer-Encoding', () => {
    const a = parseRequest(
      bytes('POST http://h.test/p?q HTTP/1.0\r\nHost: other\r\nContent-Length: 12\r\n\r\n'),
    );
    assert.ok(a.ok);
    assert.deepEqual(
      [a.value.host, a.value.uriPath, a.value.contentLength, a.value.headers],
      ['h.test', '/p', 12, { 'Content-Length': ['12'] }],
    );
    const c = parseRequest(
      bytes('PUT /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n'),
    );
    assert.ok(c.ok);
    assert.deepEqual([c.value.contentLength, c.value.headers], [-1, {}]);
  });

  it('reads a response: status, code, length -1 when not given, 0 for 204', () => {
    assert.deepEqual(
      parseResponse(bytes('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello')),
      {
        ok: true,
        value: {
          status: '200 OK',
          statusCode: 200,
          protocol: 'HTTP/1.1',
          headers: { 'Content-Length': ['5'], 'Content-Type': ['text/plain'] },
          contentLength: 5,
          cut: false,
        },
      },
    );
    const r = parseResponse(bytes('HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n'));
    assert.ok(r.ok);
    assert.deepEqual([r.value.status, r.value.statusCode, r.value.contentLength], ['404 Not Found', 404, -1]);
    const n = parseResponse(bytes('HTTP/1.1 204 No Content\r\n\r\n'));
    assert.ok(n.ok);
    assert.equal(n.value.contentLength, 0);
  });

  it('keeps the complete header lines of a cut head, and at most MAX_HEADERS', () => {
    const cut = parseRequest(bytes('GET / HTTP/1.1\r\nHost: a\r\nCookie: 123456789'));
    assert.deepEqual(cut, {
      ok: true,
      value: {
        method: 'GET',
        protocol: 'HTTP/1.1',
        host: 'a',
        uriPath: '/',
        headers: {},
        contentLength: 0,
        cut: true,
      },
    });
    const many = Array.from({ length: MAX_HEADERS + 3 }, (_, i) => `H${i}: ${i}\r\n`).join('');
    const r = parseRequest(bytes(`GET / HTTP/1.1\r\n${many}\r\n`));
    assert.ok(r.ok);
    assert.equal(Object.keys(r.value.headers).length, MAX_HEADERS);
    assert.equal(r.value.cut, true);
  });

  it('refuses malformed heads', () => {
    assert.deepEqual(parseRequest(bytes('GET /\r\n\r\n')), {
      ok: false,
      error: "malformed request line 'GET /'",
    });
    assert.deepEqual(parseRequest(bytes('GET / HTTP/x\r\n\r\n')), {
      ok: false,
      error: "malformed HTTP version 'HTTP/x'",
    });
    assert.deepEqual(parseRequest(bytes('GET /%zz HTTP/1.1\r\n\r\n')), {
      ok: false,
      error: "malformed request target '/%zz'",
    });
    assert.deepEqual(parseRequest(bytes('GET / HTTP/1.1\r\nno colon here\r\n\r\n')), {
      ok: false,
      error: 'malformed header line',
    });
    assert.deepEqual(parseResponse(bytes('HTTP/1.1 2000 OK\r\n\r\n')), {
      ok: false,
      error: "malformed status code '2000'",
    });
    assert.deepEqual(parseRequest(bytes('GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n')), {
      ok: false,
      error: 'bad Content-Length',
    });
  });

  it("canonicalises keys as Go's textproto", () => {
    assert.equal(canonicalKey('content-type'), 'Content-Type');
    assert.equal(canonicalKey('X-FORWARDED-FOR'), 'X-Forwarded-For');
    assert.equal(canonicalKey('www-authenticate'), 'Www-Authenticate');
    assert.equal(canonicalKey('bad key'), 'bad key');
  });
});
