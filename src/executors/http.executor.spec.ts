import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { executionContext } from '../../test/support/execution-context.js';
import { HttpSink } from '../../test/support/http-sink.js';
import { BODY_KEPT_BYTES, BODY_READ_BYTES, BODY_WIRE_BYTES, HttpExecutor, type HttpOutput } from './http.executor.js';
import { parseAllowlist, TargetGuard } from './target-guard.js';

/** What a target answers and the output a run records of it (http jobs; webhook jobs read responses the same way). */
describe('HttpExecutor response output', () => {
  let sink: HttpSink;
  const executor = new HttpExecutor(new TargetGuard(parseAllowlist('127.0.0.1/32')));
  beforeAll(async () => {
    sink = await new HttpSink().start();
  });
  afterAll(() => sink.stop());

  const answered = async (body: Buffer, headers: Record<string, string> = {}, status = 200): Promise<HttpOutput> => {
    sink.answer = () => ({ status, headers, body });
    return (await executor.run(executionContext({ url: sink.url('/answer'), expectStatus: status }))) as HttpOutput;
  };

  it('records a text body as text, with its byte count', async () => {
    expect(await answered(Buffer.from('héllo ✓\n'), { 'content-type': 'text/plain' })).toMatchObject({
      status: 200,
      body: 'héllo ✓\n',
      bodyEncoding: 'utf8',
      bodyBytes: Buffer.byteLength('héllo ✓\n'),
      bodyTruncated: false,
    });
  });

  it('records binary bodies (a NUL, a PNG, an encoded surrogate) as base64 of their bytes', async () => {
    expect(await answered(Buffer.from([0x61, 0x00, 0x62]))).toMatchObject({ body: 'YQBi', bodyEncoding: 'base64', bodyBytes: 3, bodyTruncated: false });
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(100, 0xff)]);
    const output = await answered(png, { 'content-type': 'image/png' });
    expect(Buffer.from(output.body, 'base64')).toEqual(png);
    expect((await answered(Buffer.from([0x78, 0xed, 0xa0, 0x80]))).bodyEncoding).toBe('base64');
  });

  it('cuts a long text body on a character: 4,095 × "a" then an emoji keeps the a\'s, never half the emoji', async () => {
    const body = Buffer.from(`${'a'.repeat(BODY_KEPT_BYTES - 1)}😀 and more`);
    expect(await answered(body)).toEqual(expect.objectContaining({ body: 'a'.repeat(BODY_KEPT_BYTES - 1), bodyEncoding: 'utf8', bodyBytes: body.length, bodyTruncated: true }));
  });

  it('undoes gzip, deflate and br; leaves an unknown coding as sent', async () => {
    const text = 'compressed ✓ '.repeat(50);
    for (const [coding, encode] of [['gzip', gzipSync], ['x-gzip', gzipSync], ['deflate', deflateSync], ['br', brotliCompressSync]] as const) {
      expect(await answered(encode(Buffer.from(text)), { 'content-encoding': coding })).toMatchObject({ body: text, bodyEncoding: 'utf8', bodyBytes: Buffer.byteLength(text), bodyTruncated: false });
    }
    const gzipped = gzipSync(Buffer.from(text));
    const bogus = await answered(gzipped, { 'content-encoding': 'bogus' });
    expect(Buffer.from(bogus.body, 'base64')).toEqual(gzipped);
    expect(bogus).toMatchObject({ bodyEncoding: 'base64', bodyBytes: gzipped.length });
  });

  it('records a body whose Content-Encoding lies as what could be read, saying why it stopped', async () => {
    const output = await answered(Buffer.from('plain text, not gzip'), { 'content-encoding': 'gzip' });
    expect(output).toMatchObject({ status: 200, bodyTruncated: true, bodyIncomplete: expect.stringMatching(/^decoding Content-Encoding gzip failed: /) });
    const brotli = await answered(Buffer.from('not brotli at all \u0000\u0001'), { 'content-encoding': 'br' });
    expect(brotli).toMatchObject({ bodyTruncated: true, bodyIncomplete: expect.stringMatching(/^decoding Content-Encoding br failed: /) });
  });

  it('stops reading a gzip bomb at the decoded cap: the target cannot send the rest', async () => {
    const member = gzipSync(Buffer.alloc(1024 * 1024, 'a'));
    const bomb = Buffer.concat(Array.from({ length: 300 }, () => member)); // 300 MiB of "a" in ~300 KB
    const output = await answered(bomb, { 'content-encoding': 'gzip' });
    expect(output).toMatchObject({ body: 'a'.repeat(BODY_KEPT_BYTES), bodyTruncated: true, bodyIncomplete: `not read past ${BODY_READ_BYTES} bytes` });
    expect(output.bodyBytes).toBeGreaterThan(BODY_READ_BYTES);
    // Decoding stopped right after the cap: the reader took a few chunks more at most.
    expect(output.bodyBytes).toBeLessThan(BODY_READ_BYTES + 1024 * 1024);
  });

  it('stops reading at the wire cap when the decoded body stays small (empty gzip members)', async () => {
    const empty = gzipSync(Buffer.alloc(0));
    // More than any socket buffers hold: the sink's writes can only complete if the client reads it all.
    const padding = Buffer.concat(Array.from({ length: Math.ceil((BODY_WIRE_BYTES * 32) / empty.length) }, () => empty));
    const output = await answered(Buffer.concat([gzipSync(Buffer.from('start')), padding]), { 'content-encoding': 'gzip' });
    expect(output).toMatchObject({ body: 'start', bodyBytes: 5, bodyTruncated: true, bodyIncomplete: `not read past ${BODY_WIRE_BYTES} bytes on the wire` });
    expect(sink.deliveries.at(-1)!.complete).toBe(false);
  });

  it('records header values as text: UTF-8 bytes as UTF-8, other bytes as Latin-1; repeated headers joined', async () => {
    const output = await answered(Buffer.from('ok'), {
      'x-utf8': Buffer.from('café ✓').toString('latin1'),
      'x-latin1': 'caf\u00e9 \u00ff',
      'set-cookie': ['a=1', 'b=2'] as unknown as string,
    });
    expect(output.headers).toMatchObject({ 'x-utf8': 'café ✓', 'x-latin1': 'café ÿ', 'set-cookie': 'a=1, b=2' });
  });

  it('records an empty body and a HEAD answer', async () => {
    expect(await answered(Buffer.alloc(0), {}, 204)).toMatchObject({ status: 204, body: '', bodyEncoding: 'utf8', bodyBytes: 0, bodyTruncated: false });
  });
});
