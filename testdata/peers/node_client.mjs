// node_client.mjs: the `ws` package as CLIENT of our server (net/ws/interop_test.go).
//
//   node node_client.mjs --url ws://127.0.0.1:PORT [--deflate on|off]
//        [--scenarios text,binary,...] [--sizes 0,1,125,...] [--large 1048576,4194304]
//        [--timeout SECONDS]
//
// Our server is expected to serve:
//   /echo?tag=T                      echo every message with its type; when the client
//                                    closes, remember the close code/reason under T
//   /close?tag=T&code=C&reason=R     close with C/R right after the opening handshake
// and to select subprotocol "rallypoint.v1" when offered.
//
// One JSON line per scenario: {"scenario":S,"ok":bool,"error":E,"extensions":X,"protocol":P,...}
// and a last line {"event":"done","passed":N,"failed":M}. Exit status 0 iff all passed.
import WebSocket from 'ws';
import { createRequire } from 'node:module';
import { compressibleBytes, describe, emit, parseArgs, randomBytes, sizeList, splitBuffer, textOfBytes } from './lib.mjs';

const ALL = ['text', 'binary', 'fragmented-text', 'fragmented-binary', 'fragmented-ping', 'large',
  'ping', 'subprotocol', 'close-peer', 'close-server'];

const args = parseArgs(process.argv.slice(2), {
  url: '',
  deflate: true,
  scenarios: ALL.join(','),
  sizes: '0,1,125,126,127,65535,65536,65537',
  large: `${1 << 20},${4 << 20}`,
  timeout: 30,
});
if (!args.url) throw new Error('--url is required');
const wsVersion = createRequire(import.meta.url)('ws/package.json').version;

// Conn wraps a ws client with an awaitable message queue.
class Conn {
  static open(path, { protocols = [] } = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(args.url + path, protocols, {
        perMessageDeflate: args.deflate ? { threshold: 0 } : false,
        maxPayload: 64 << 20,
        handshakeTimeout: args.timeout * 1000,
      });
      const c = new Conn(ws);
      ws.once('upgrade', (res) => { c.extensions = res.headers['sec-websocket-extensions'] || ''; });
      ws.once('open', () => resolve(c));
      ws.once('error', (err) => reject(err));
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.extensions = '';
    this.queue = [];
    this.waiters = [];
    this.pongs = [];
    this.closed = null;
    ws.on('message', (data, isBinary) => this.push({ data: Buffer.from(data), isBinary }));
    ws.on('pong', (data) => this.pongs.push(Buffer.from(data)));
    ws.on('error', (err) => this.push({ error: err }));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString('utf8') };
      this.push({ closed: this.closed });
    });
  }

  push(ev) {
    const w = this.waiters.shift();
    if (w) w(ev); else this.queue.push(ev);
  }

  next() {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  // expectEcho waits for the next message and checks it equals want (type and bytes).
  async expectEcho(want, isBinary, label) {
    const ev = await this.next();
    if (ev.error) throw new Error(`${label}: error ${ev.error.message}`);
    if (ev.closed) throw new Error(`${label}: connection closed ${ev.closed.code} ${JSON.stringify(ev.closed.reason)} instead of echo`);
    if (ev.isBinary !== isBinary) throw new Error(`${label}: echo type binary=${ev.isBinary}, want ${isBinary}`);
    if (!ev.data.equals(want)) throw new Error(`${label}: echo differs: got ${describe(ev.data)}, want ${describe(want)}`);
  }

  // waitClosed resolves with {code, reason} once the close handshake is over.
  async waitClosed() {
    for (;;) {
      if (this.closed) return this.closed;
      const ev = await this.next();
      if (ev.closed) return ev.closed;
      if (ev.error) throw new Error(`error while waiting for close: ${ev.error.message}`);
      if (ev.data) throw new Error(`unexpected message while waiting for close: ${describe(ev.data)}`);
    }
  }

  send(data, opts) {
    return new Promise((resolve, reject) => this.ws.send(data, opts, (err) => (err ? reject(err) : resolve())));
  }

  async closeNormally() {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'done');
    await this.waitClosed();
  }
}

async function echoAll(c, items) {
  for (const [label, data, isBinary] of items) {
    await c.send(data, { binary: isBinary });
    await c.expectEcho(data, isBinary, label);
  }
}

async function sendFragments(c, data, isBinary, parts, pingAfterFirst) {
  const pieces = splitBuffer(data, parts);
  for (let i = 0; i < pieces.length; i++) {
    await c.send(pieces[i], { binary: isBinary, fin: i === pieces.length - 1 });
    if (i === 0 && pingAfterFirst) c.ws.ping(Buffer.from('between'));
  }
}

const scenarios = {
  async text(tag) {
    const c = await Conn.open(`/echo?tag=${tag}`);
    const items = sizeList(args.sizes).map((n) => [`text ${n} bytes`, Buffer.from(textOfBytes(n)), false]);
    items.push(['text ascii', Buffer.from('hello, rallypoint'), false]);
    await echoAll(c, items);
    await c.closeNormally();
    return { extensions: c.extensions, protocol: c.ws.protocol, messages: items.length };
  },

  async binary(tag) {
    const c = await Conn.open(`/echo?tag=${tag}`);
    const items = sizeList(args.sizes).map((n) => [`binary ${n} bytes`, randomBytes(n, n + 1), true]);
    items.push(['binary compressible 100000', compressibleBytes(100000), true]);
    await echoAll(c, items);
    await c.closeNormally();
    return { extensions: c.extensions, protocol: c.ws.protocol, messages: items.length };
  },

  // RFC 6455 §5.4: fragments of a text message may split a UTF-8 sequence; only the whole
  // message must be valid UTF-8 (§8.1).
  async 'fragmented-text'(tag) {
    const c = await Conn.open(`/echo?tag=${tag}`);
    const cases = [[Buffer.from(textOfBytes(1000)), 7], [Buffer.from(textOfBytes(70000)), 3], [Buffer.from('🎮'), 4]];
    for (const [data, parts] of cases) {
      await sendFragments(c, data, false, parts, false);
      await c.expectEcho(data, false, `fragmented text ${data.length} bytes in ${parts}`);
    }
    await c.closeNormally();
    return { extensions: c.extensions, protocol: c.ws.protocol, messages: cases.length };
  },

  async 'fragmented-binary'(tag) {
    const c = await Conn.open(`/echo?tag=${tag}`);
    const cases = [[randomBytes(1000, 3), 5], [compressibleBytes(300000), 4], [randomBytes(2, 4), 2]];
    for (const [data, parts] of cases) {
      await sendFragments(c, data, true, parts, false);
      await c.expectEcho(data, true, `fragmented binary ${data.length} bytes in ${parts}`);
    }
    await c.closeNormally();
    return { extensions: c.extensions, protocol: c.ws.protocol, messages: cases.length };
  },

  // RFC 6455 §5.4: control frames may be injected in the middle of a fragmented message.
  async 'fragmented-ping'(tag) {
    const c = await Conn.open(`/echo?tag=${tag}`);
    const data = Buffer.from(textOfBytes(5000));
    await sendFragments(c, data, false, 3, true);
    await c.expectEcho(data, false, 'fragmented text with a ping between fragments');
    if (!c.pongs.some((p) => p.toString() === 'between')) throw new Error(`no pong "between" received (pongs: ${c.pongs.length})`);
    await c.closeNormally();
    return { extensions: c.extensions, protocol: c.ws.protocol, messages: 1 };
  },

  async large(tag) {
    const c = await Conn.open(`/echo?tag=${tag}`);
    const items = [];
    for (const n of sizeList(args.large)) {
      items.push([`large binary random ${n}`, randomBytes(n, n), true]);
      items.push([`large binary compressible ${n}`, compressibleBytes(n, 3), true]);
    }
    items.push([`large text ${1 << 20}`, Buffer.from(textOfBytes(1 << 20)), false]);
    await echoAll(c, items);
    await c.closeNormally();
    return { extensions: c.extensions, protocol: c.ws.protocol, messages: items.length };
  },

  async ping(tag) {
    const c = await Conn.open(`/echo?tag=${tag}`);
    const payload = Buffer.from('ping-payload-✓');
    c.ws.ping(payload);
    await c.send(Buffer.from('after ping'), { binary: false });
    await c.expectEcho(Buffer.from('after ping'), false, 'message after ping');
    if (!c.pongs.some((p) => p.equals(payload))) throw new Error(`no pong with the ping payload (pongs: ${c.pongs.map(describe)})`);
    await c.closeNormally();
    return { extensions: c.extensions, protocol: c.ws.protocol, messages: 1 };
  },

  async subprotocol(tag) {
    const c = await Conn.open(`/echo?tag=${tag}`, { protocols: ['chat.other', 'rallypoint.v1'] });
    if (c.ws.protocol !== 'rallypoint.v1') throw new Error(`protocol ${JSON.stringify(c.ws.protocol)}, want "rallypoint.v1"`);
    await echoAll(c, [['subprotocol echo', Buffer.from('hi'), false]]);
    await c.closeNormally();
    return { extensions: c.extensions, protocol: c.ws.protocol, messages: 1 };
  },

  // We close with 4000 + reason; the server records what it received under the tag.
  async 'close-peer'(tag) {
    const c = await Conn.open(`/echo?tag=${tag}`);
    await echoAll(c, [['before close', Buffer.from('bye soon'), false]]);
    c.ws.close(4000, 'peer-bye');
    const got = await c.waitClosed();
    return { extensions: c.extensions, protocol: c.ws.protocol, code: got.code, reason: got.reason, messages: 1 };
  },

  // The server closes with 1001 + reason; we report what we received.
  async 'close-server'(tag) {
    const c = await Conn.open(`/close?tag=${tag}&code=1001&reason=server-going-away`);
    const got = await c.waitClosed();
    if (got.code !== 1001 || got.reason !== 'server-going-away') {
      throw new Error(`close ${got.code} ${JSON.stringify(got.reason)}, want 1001 "server-going-away"`);
    }
    return { extensions: c.extensions, protocol: c.ws.protocol, code: got.code, reason: got.reason };
  },
};

function withTimeout(p, ms, label) {
  let timer;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${label}: timed out after ${ms / 1000} s`)), ms); }),
  ]);
}

let passed = 0;
let failed = 0;
for (const name of args.scenarios.split(',').filter(Boolean)) {
  const fn = scenarios[name];
  const started = Date.now();
  const line = { peer: 'node-ws', version: wsVersion, scenario: name, deflate: args.deflate };
  if (!fn) {
    Object.assign(line, { ok: false, error: `unknown scenario ${name}` });
  } else {
    try {
      Object.assign(line, { ok: true }, await withTimeout(fn(name), args.timeout * 1000, name));
    } catch (err) {
      Object.assign(line, { ok: false, error: String(err && err.stack ? err.message : err) });
    }
  }
  line.ms = Date.now() - started;
  if (line.ok) passed++; else failed++;
  emit(line);
}
emit({ event: 'done', peer: 'node-ws', passed, failed });
process.exitCode = failed === 0 ? 0 : 1;
// Connections that timed out may still be open; do not wait for them.
setTimeout(() => process.exit(process.exitCode), 100).unref();
