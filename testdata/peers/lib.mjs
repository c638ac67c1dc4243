// Shared helpers for the Node.js interop peers (node_server.mjs, node_client.mjs,
// browser_driver.mjs). Every peer prints one JSON object per line on stdout; the Go
// tests in net/ws/interop_test.go parse those lines. Diagnostics go to stderr.

// parseArgs turns "--name value" and "--flag" pairs into an object, starting from defaults.
export function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2);
    if (!(key in defaults)) throw new Error(`unknown option --${key}`);
    const next = argv[i + 1];
    if (typeof defaults[key] === 'boolean' && (next === undefined || next.startsWith('--'))) {
      out[key] = true;
      continue;
    }
    i++;
    if (next === undefined) throw new Error(`option --${key} needs a value`);
    out[key] = typeof defaults[key] === 'number' ? Number(next) : parseBool(defaults[key], next);
  }
  return out;
}

function parseBool(def, v) {
  if (typeof def !== 'boolean') return v;
  if (v === 'on' || v === 'true' || v === '1') return true;
  if (v === 'off' || v === 'false' || v === '0') return false;
  throw new Error(`not a boolean: ${v}`);
}

// sizeList parses "0,1,125,126" into numbers.
export function sizeList(s) {
  if (s === '') return [];
  return String(s).split(',').map((x) => {
    const n = Number(x.trim());
    if (!Number.isInteger(n) || n < 0) throw new Error(`bad size ${x}`);
    return n;
  });
}

// emit prints one JSON line on stdout.
export function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// randomBytes returns n deterministic pseudo-random bytes (xorshift32), incompressible.
export function randomBytes(n, seed = 0x9e3779b9) {
  const buf = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    buf[i] = x & 0xff;
  }
  return buf;
}

// compressibleBytes returns n bytes of repetitive, game-state-like data.
export function compressibleBytes(n, seed = 7) {
  const buf = Buffer.allocUnsafe(n);
  const pattern = Buffer.from(`{"player":${seed},"x":12.5,"y":-3.25,"hp":100,"state":"running"}\n`);
  for (let i = 0; i < n; i++) buf[i] = pattern[i % pattern.length] ^ ((i >> 12) & 1);
  return buf;
}

// textOfBytes returns a string whose UTF-8 encoding is exactly n bytes, mixing one- to
// four-byte characters so that fragment boundaries fall inside code points.
export function textOfBytes(n) {
  const pieces = ['a', 'é', '✓', '🎮'];
  let s = '';
  let len = 0;
  let i = 0;
  while (len < n) {
    const p = pieces[i++ % pieces.length];
    const b = Buffer.byteLength(p);
    if (len + b > n) { s += 'z'.repeat(n - len); len = n; break; }
    s += p; len += b;
  }
  return s;
}

// splitBuffer cuts buf into `parts` pieces of uneven size (the last one may be empty).
export function splitBuffer(buf, parts) {
  if (parts <= 1 || buf.length === 0) return [buf];
  const out = [];
  let off = 0;
  for (let p = 0; p < parts - 1; p++) {
    // uneven cuts: 1/(parts+1), then the rest spread out; always at least one byte
    let cut = Math.max(1, Math.floor(((buf.length - off) * (p + 1)) / (parts * 2)));
    if (off + cut > buf.length) cut = buf.length - off;
    out.push(buf.subarray(off, off + cut));
    off += cut;
  }
  out.push(buf.subarray(off));
  return out;
}

// describe gives a short description of a payload for error messages.
export function describe(buf) {
  return `${buf.length} bytes, head ${buf.subarray(0, 16).toString('hex')}`;
}
