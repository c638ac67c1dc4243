// report.mjs turns run.sh's measurements, one pair per round, into its table and its last
// line,
//
//	cpu_ratio=X bytes_ratio=Y cpu_ratio_spread=A..B bytes_ratio_spread=C..D rounds=N other_cpu_pct=E..F
//
// cpu_ratio and bytes_ratio are the ratios of the medians over the rounds: Rallypoint's
// median divided by Colyseus's, for server CPU seconds per player-second and the bytes each
// player received per second, as its load tool counted them off the wire (below 1:
// Rallypoint spends less). Not the server's own count (wchar, /proc/PID/io): that misses
// what a server sends through io_uring, as Rallypoint's rooms do. Each *_spread is the
// smallest and largest of the per-round ratios (each round measures the two sides back to
// back, so a round's ratio shares that moment's load); with one round it is X..X.
// other_cpu_pct is the range, over every measured window, of the CPU that processes other
// than the server and its load tool used (measure.mjs): a quiet run reads near 0.
//
//	node report.mjs RALLYPOINT1.json COLYSEUS1.json [RALLYPOINT2.json COLYSEUS2.json ...]
//
// Each file is measure.mjs's JSON line; its "summary" is the load tool's last line
// (loadgen's "players=N ... errors=E", or driver.mjs's JSON). The table gives, per side,
// the median of each figure over the rounds and its spread (min..max). It exits 1, saying
// why, when a run had errors, lost players or measured nothing.
import { readFileSync } from 'node:fs';

function load(path) {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** loadgenSummary parses "players=N duration_s=D ... errors=E" into numbers. */
function loadgenSummary(line) {
  const out = {};
  for (const kv of line.trim().split(/\s+/)) {
    const [k, v] = kv.split('=');
    if (v !== undefined) out[k] = Number(v);
  }
  return out;
}

function driverSummary(line) {
  try {
    return JSON.parse(line || '{}');
  } catch {
    return {};
  }
}

function check(name, m, tool) {
  const problems = [];
  if (m.error) problems.push(m.error);
  if (m.exit !== 0) problems.push(`its load tool exited with status ${m.exit}`);
  if (!(tool.errors === 0)) problems.push(`its load tool counted ${tool.errors} errors`);
  if (m.connected && (m.connected[0] !== m.players || m.connected[1] !== m.players)) {
    problems.push(`${m.connected.join(' then ')} of ${m.players} players were connected in the window`);
  }
  if (!(m.window_s > 0)) problems.push('the measured window is empty');
  return problems.map((p) => `${name}: ${p}`);
}

/** median of the finite numbers in v (the mean of the middle two for an even count); NaN when none. */
function median(v) {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** spread is [min, max] of the finite numbers in v. */
function spread(v) {
  const s = v.filter(Number.isFinite);
  return s.length === 0 ? [NaN, NaN] : [Math.min(...s), Math.max(...s)];
}

/** figures are one measured window's numbers, per player and second where it applies. */
function figures(m, tool, updatesPerS) {
  const perPlayerSecond = (v) => v / m.players / m.window_s;
  return {
    window: m.window_s,
    cpuMs: 1000 * perPlayerSecond(m.cpu_s),
    bytes: perPlayerSecond(m.bytes),
    clientBytes: tool.bytes_in_per_player_s,
    updates: updatesPerS / m.players,
    rttP50: tool.rtt_p50_ms,
    rttP99: tool.rtt_p99_ms,
    rssMB: m.rss_kb / 1024,
    toolCpu: m.tool_cpu_s === undefined ? NaN : (100 * m.tool_cpu_s) / m.window_s,
    other: m.other_cpu_pct === undefined || m.other_cpu_pct < 0 ? NaN : m.other_cpu_pct,
    started: m.started_ms,
  };
}

function main(paths) {
  if (paths.length < 2 || paths.length % 2 !== 0) {
    process.stderr.write('usage: node report.mjs RALLYPOINT1.json COLYSEUS1.json [RALLYPOINT2.json COLYSEUS2.json ...]\n');
    process.exit(2);
  }
  const rounds = [];
  const problems = [];
  for (let i = 0; i < paths.length; i += 2) {
    const r = i / 2 + 1;
    const rp = load(paths[i]);
    const cs = load(paths[i + 1]);
    const rpTool = loadgenSummary(rp.summary || '');
    const csTool = driverSummary(cs.summary);
    problems.push(...check(`Rallypoint (round ${r})`, rp, rpTool), ...check(`Colyseus (round ${r})`, cs, csTool));
    rounds.push({
      rp: figures(rp, rpTool, rpTool.snapshots_per_s),
      cs: figures(cs, csTool, csTool.patches_per_s),
      players: [rp.players, cs.players],
    });
  }
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`run.sh: ${p}\n`);
    process.exit(1);
  }

  const side = (s, key) => rounds.map((r) => r[s][key]);
  const cell = (s, key, digits) => {
    const v = side(s, key);
    const m = median(v);
    if (!Number.isFinite(m)) return '-';
    if (rounds.length === 1) return m.toFixed(digits);
    const [lo, hi] = spread(v);
    return `${m.toFixed(digits)} (${lo.toFixed(digits)}..${hi.toFixed(digits)})`;
  };
  const rows = [
    ['players', String(rounds[0].players[0]), String(rounds[0].players[1])],
    ['measured window (s)', cell('rp', 'window', 1), cell('cs', 'window', 1)],
    ['server CPU ms per player-s', cell('rp', 'cpuMs', 3), cell('cs', 'cpuMs', 3)],
    ['server write(2) bytes/player/s', cell('rp', 'bytes', 0), cell('cs', 'bytes', 0)],
    ['client bytes in/player/s', cell('rp', 'clientBytes', 0), cell('cs', 'clientBytes', 0)],
    ['updates/player/s', cell('rp', 'updates', 1), cell('cs', 'updates', 1)],
    ['rtt p50 (ms)', cell('rp', 'rttP50', 1), cell('cs', 'rttP50', 1)],
    ['rtt p99 (ms)', cell('rp', 'rttP99', 1), cell('cs', 'rttP99', 1)],
    ['server RSS (MB)', cell('rp', 'rssMB', 0), cell('cs', 'rssMB', 0)],
    ['load tool CPU (% of a core)', cell('rp', 'toolCpu', 0), cell('cs', 'toolCpu', 0)],
    ['other load (% of all cores)', cell('rp', 'other', 1), cell('cs', 'other', 1)],
  ];
  const head = rounds.length === 1 ? '' : `median (min..max) of ${rounds.length} rounds`;
  const w0 = Math.max(head.length, ...rows.map((r) => r[0].length));
  const w1 = Math.max('Rallypoint'.length, ...rows.map((r) => r[1].length));
  const w2 = Math.max('Colyseus'.length, ...rows.map((r) => r[2].length));
  const line = (a, b, c) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c.padStart(w2)}`;
  console.log(line(head, 'Rallypoint', 'Colyseus'));
  for (const r of rows) console.log(line(...r));

  const ratio = (key, r) => r.rp[key] / r.cs[key];
  rounds.forEach((r, i) => {
    const first = r.rp.started <= r.cs.started ? 'Rallypoint' : 'Colyseus';
    console.log(`round ${i + 1} (${first} first): cpu_ratio=${ratio('cpuMs', r).toFixed(3)} bytes_ratio=${ratio('clientBytes', r).toFixed(3)}` +
      ` other_cpu_pct=${fmt(r.rp.other, 1)}/${fmt(r.cs.other, 1)}`);
  });
  for (const [name, s] of [['Rallypoint', 'rp'], ['Colyseus', 'cs']]) {
    const ups = median(side(s, 'updates'));
    if (ups < 27) {
      console.log(`warning: ${name} delivered ${ups.toFixed(1)} updates a second per player (median), below 30: it is saturated`);
    }
  }
  const cpuRatio = median(side('rp', 'cpuMs')) / median(side('cs', 'cpuMs'));
  const bytesRatio = median(side('rp', 'clientBytes')) / median(side('cs', 'clientBytes'));
  const cpuSpread = spread(rounds.map((r) => ratio('cpuMs', r)));
  const bytesSpread = spread(rounds.map((r) => ratio('clientBytes', r)));
  const other = spread([...side('rp', 'other'), ...side('cs', 'other')]);
  console.log(`cpu_ratio=${cpuRatio.toFixed(3)} bytes_ratio=${bytesRatio.toFixed(3)}` +
    ` cpu_ratio_spread=${cpuSpread.map((v) => v.toFixed(3)).join('..')}` +
    ` bytes_ratio_spread=${bytesSpread.map((v) => v.toFixed(3)).join('..')}` +
    ` rounds=${rounds.length} other_cpu_pct=${other.map((v) => fmt(v, 1)).join('..')}`);
}

function fmt(v, digits) {
  return Number.isFinite(v) ? v.toFixed(digits) : '-';
}

main(process.argv.slice(2));
