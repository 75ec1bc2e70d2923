import type { CloudFrontRequest } from '../../../layers/cloudfront/events';
import { validateOriginResponse, validateResult } from '../../../local/cloudfront/validate';

const viewerInput: CloudFrontRequest = {
  clientIp: '127.0.2.10',
  method: 'GET',
  uri: '/v2/demo/hello/blobs/sha256:aa',
  querystring: 'a=1',
  headers: { host: [{ key: 'Host', value: 'd111111abcdef8.cloudfront.net' }], authorization: [{ key: 'Authorization', value: 'Bearer x' }] },
};

const customOrigin = {
  custom: { domainName: '127.0.0.1', port: 4566, protocol: 'http', path: '/bucket', sslProtocols: ['TLSv1.2'], readTimeout: 30, keepaliveTimeout: 5, customHeaders: {} },
};

const originInput: CloudFrontRequest = {
  clientIp: '127.0.0.1',
  method: 'GET',
  uri: '/containers/images/sha256:aa',
  querystring: '',
  headers: { host: [{ key: 'Host', value: '127.0.0.1' }], range: [{ key: 'Range', value: 'bytes=0-1' }] },
  origin: customOrigin as CloudFrontRequest['origin'],
};

const response = (extra: Record<string, unknown>) => ({ status: '200', statusDescription: 'OK', headers: { 'content-type': [{ key: 'Content-Type', value: 'text/plain' }] }, body: 'ok', ...extra });

describe('validateResult: generated responses', () => {
  it.each([
    ['a 307 with a Location', { status: '307', headers: { location: [{ key: 'Location', value: 'http://x/' }] } }, 307],
    ['a numeric status', { status: 200 }, 200],
    ['a base64 body', response({ bodyEncoding: 'base64', body: Buffer.from('hi').toString('base64') }), 200],
    ['a body of exactly 40 KB minus the headers', { status: '200', body: 'x'.repeat(40 * 1024 - 100) }, 200],
  ])('accepts %s', (_name, result, status) => {
    const outcome = validateResult('viewer-request', viewerInput, result);
    expect(outcome).toMatchObject({ kind: 'response', response: { status } });
  });

  it('decodes a base64 body and keeps header spelling and order', () => {
    const outcome = validateResult('viewer-request', viewerInput, {
      status: '200',
      headers: { 'x-a': [{ key: 'X-A', value: '1' }, { value: '2' }] },
      bodyEncoding: 'base64',
      body: Buffer.from([0, 1, 2]).toString('base64'),
    });
    expect(outcome.kind === 'response' && outcome.response).toEqual({ status: 200, headers: [['X-A', '1'], ['x-a', '2']], body: Buffer.from([0, 1, 2]) });
  });

  it.each([
    ['no object at all', 'hello', 'returned no object'],
    ['null', null, 'returned no object'],
    ['a status that is not a code', { status: 'OK' }, 'not an HTTP status code'],
    ['a 1xx status', { status: '101' }, 'not an HTTP status code'],
    ['a 600 status', { status: '600' }, 'not an HTTP status code'],
    ['an upper-case header name', response({ headers: { Location: [{ value: 'x' }] } }), 'lower-case header name'],
    ['a key that differs from the name', response({ headers: { location: [{ key: 'Content-Type', value: 'x' }] } }), 'does not match'],
    ['a header value with a line break', response({ headers: { location: [{ value: 'x\r\nSet-Cookie: a=b' }] } }), 'line break'],
    ['a header that is not an array', response({ headers: { location: { value: 'x' } } }), 'must be an array'],
    ['a value that is not a string', response({ headers: { location: [{ value: 3 }] } }), 'string value'],
    ['a disallowed header', response({ headers: { connection: [{ value: 'close' }] } }), 'may not set the "connection"'],
    ['an x-amz-cf- header', response({ headers: { 'x-amz-cf-pop': [{ value: 'x' }] } }), 'may not set'],
    ['a body that is not a string', response({ body: { a: 1 } }), 'body must be a string'],
    ['an unknown body encoding', response({ bodyEncoding: 'gzip' }), 'bodyEncoding'],
    ['invalid base64', response({ bodyEncoding: 'base64', body: '!!!' }), 'not valid base64'],
    ['a viewer response over 40 KB', { status: '200', body: 'x'.repeat(40 * 1024 + 1) }, 'over the viewer-request limit of 40960'],
    ['a multi-line statusDescription', response({ statusDescription: 'OK\r\nX: y' }), 'statusDescription'],
  ])('refuses %s', (_name, result, reason) => {
    const outcome = validateResult('viewer-request', viewerInput, result);
    expect(outcome.kind).toBe('invalid');
    expect(outcome.kind === 'invalid' && outcome.reason).toContain(reason);
  });

  it('allows an origin-request response up to 1 MB, not beyond', () => {
    expect(validateResult('origin-request', originInput, { status: '200', body: 'x'.repeat(500 * 1024) }).kind).toBe('response');
    expect(validateResult('origin-request', originInput, { status: '200', body: 'x'.repeat(1024 * 1024 + 1) }).kind).toBe('invalid');
  });
});

describe('validateResult: requests passed on', () => {
  const forward = (changes: Partial<Record<keyof CloudFrontRequest, unknown>>) => ({ ...viewerInput, ...changes });

  it.each([
    ['the request unchanged', forward({})],
    ['a new uri and query string', forward({ uri: '/containers/images/sha256:aa', querystring: '' })],
    ['a header removed (authorization)', forward({ headers: { host: viewerInput.headers.host } })],
  ])('accepts %s', (_name, result) => {
    expect(validateResult('viewer-request', viewerInput, result)).toEqual({ kind: 'request', request: result });
  });

  it.each([
    ['a uri without a leading slash', forward({ uri: 'v2/' }), 'uri must start with "/"'],
    ['a uri with a space', forward({ uri: '/a b' }), 'uri must start'],
    ['a query string with a line break', forward({ querystring: 'a=1\n' }), 'querystring'],
    ['a changed method', forward({ method: 'POST' }), 'method is read-only'],
    ['a changed clientIp', forward({ clientIp: '1.2.3.4' }), 'clientIp is read-only'],
    ['a changed Host', forward({ headers: { host: [{ key: 'Host', value: 'evil.example' }] } }), 'read-only header "host"'],
    ['an added Via', forward({ headers: { ...viewerInput.headers, via: [{ value: '1.1 x' }] } }), 'read-only header "via"'],
    ['headers that are not an object', forward({ headers: [] }), 'headers must be an object'],
    ['an origin chosen at the viewer', forward({ origin: customOrigin }), 'cannot choose an origin'],
  ])('refuses %s', (_name, result, reason) => {
    const outcome = validateResult('viewer-request', viewerInput, result);
    expect(outcome.kind === 'invalid' && outcome.reason).toContain(reason);
  });

  const withOrigin = (origin: unknown, headers = originInput.headers) => ({ ...originInput, headers, origin });
  const custom = (changes: Record<string, unknown>) => ({ custom: { ...customOrigin.custom, ...changes } });

  it.each([
    ['the origin unchanged', withOrigin(customOrigin)],
    ['another custom origin and Host', withOrigin(custom({ domainName: 'bucket.example', port: 8443, protocol: 'https', path: '' }), { ...originInput.headers, host: [{ key: 'Host', value: 'bucket.example' }] })],
    ['an S3 origin', withOrigin({ s3: { domainName: 'b.s3.eu-west-1.amazonaws.com', region: 'eu-west-1', authMethod: 'none', path: '', customHeaders: {} } })],
  ])('origin-request: accepts %s', (_name, result) => {
    expect(validateResult('origin-request', originInput, result).kind).toBe('request');
  });

  it.each([
    ['no origin', withOrigin(undefined), 'origin must be an object'],
    ['an empty origin', withOrigin({}), 'exactly one of'],
    ['both kinds of origin', withOrigin({ ...customOrigin, s3: { domainName: 'b', path: '', authMethod: 'none' } }), 'exactly one of'],
    ['a port out of range', withOrigin(custom({ port: 70000 })), 'port'],
    ['an unknown protocol', withOrigin(custom({ protocol: 'ftp' })), 'protocol'],
    ['a path ending in a slash', withOrigin(custom({ path: '/bucket/' })), 'path'],
    ['a path without a leading slash', withOrigin(custom({ path: 'bucket' })), 'path'],
    ['a domain name with a slash', withOrigin(custom({ domainName: 'a/b' })), 'domainName'],
    ['a read timeout over 180 s', withOrigin(custom({ readTimeout: 181 })), 'readTimeout'],
    ['a bad S3 auth method', withOrigin({ s3: { domainName: 'b', path: '', authMethod: 'sigv4', customHeaders: {} } }), 'authMethod'],
    ['a disallowed custom header', withOrigin(custom({ customHeaders: { 'x-real-ip': [{ value: '1' }] } })), 'may not set'],
    ['a changed Range (read-only at origin-request)', withOrigin(customOrigin, { ...originInput.headers, range: [{ value: 'bytes=0-' }] }), 'read-only header "range"'],
  ])('origin-request: refuses %s', (_name, result, reason) => {
    const outcome = validateResult('origin-request', originInput, result);
    expect(outcome.kind === 'invalid' && outcome.reason).toContain(reason);
  });
});

describe('validateOriginResponse', () => {
  const input = { status: '404', headers: { 'transfer-encoding': [{ key: 'Transfer-Encoding', value: 'chunked' }], 'x-amz-request-id': [{ key: 'x-amz-request-id', value: 'R' }] } };
  const kept = { 'transfer-encoding': input.headers['transfer-encoding'] };

  it('keeps the origin body when the result has none, and replaces it when it has one (even an empty one)', () => {
    expect(validateOriginResponse(input, { status: '404', headers: kept })).toEqual({ kind: 'origin-response', response: { status: 404, headers: [['Transfer-Encoding', 'chunked']], body: null } });
    const redirect = validateOriginResponse(input, { status: '307', headers: { ...kept, location: [{ key: 'Location', value: 'https://upstream/v2/x/blobs/sha256:aa' }] }, body: '' });
    expect(redirect).toMatchObject({ kind: 'origin-response', response: { status: 307, body: Buffer.alloc(0) } });
  });

  it.each([
    ['no object', null, /returned no object/],
    ['no status (a request, not a response)', { headers: kept }, /must return the response/],
    ['no headers', { status: '200' }, /headers must be an object/],
    ['Transfer-Encoding dropped', { status: '200', headers: {} }, /read-only header "transfer-encoding"/],
    ['Via added', { status: '200', headers: { ...kept, via: [{ key: 'Via', value: 'x' }] } }, /read-only header "via"/],
    ['a header CloudFront keeps for itself', { status: '200', headers: { ...kept, 'x-cache': [{ key: 'X-Cache', value: 'Hit' }] } }, /may not set the "x-cache" header/],
    ['a status out of range', { status: '700', headers: kept }, /not an HTTP status code/],
    ['a body over 1 MB', { status: '200', headers: kept, body: 'x'.repeat(1024 * 1024) }, /over the origin-response limit/],
    ['a CR in a value', { status: '307', headers: { ...kept, location: [{ key: 'Location', value: 'http://a/\r\nx: y' }] } }, /line break/],
  ])('refuses %s', (_name, result, reason) => {
    const outcome = validateOriginResponse(input, result);
    expect(outcome.kind).toBe('invalid');
    expect(outcome.kind === 'invalid' && outcome.reason).toMatch(reason);
  });
});
