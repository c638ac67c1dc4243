// report.mjs turns the two measurements of run.sh into its table and its last line,
//
//	cpu_ratio=X bytes_ratio=Y
//
// the Rallypoint figure divided by the Colyseus one, for server CPU seconds per
// player-second and server bytes sent per player per second.
//
//	node report.mjs RALLYPOINT.json COLYSEUS.json
//
// Each file is measure.mjs's JSON line; its "summary" is the load tool's last line
// (loadgen's "players=N ... errors=E", or driver.mjs's JSON). It exits 1, saying why, when
// a run had errors, lost players or measured nothing.
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

const [rpPath, csPath] = process.argv.slice(2);
if (!rpPath || !csPath) {
  process.stderr.write('usage: node report.mjs RALLYPOINT.json COLYSEUS.json\n');
  process.exit(2);
}
const rp = load(rpPath);
const cs = load(csPath);
const rpTool = loadgenSummary(rp.summary || '');
let csTool = {};
try {
  csTool = JSON.parse(cs.summary || '{}');
} catch {
  csTool = {};
}
const problems = [...check('Rallypoint', rp, rpTool), ...check('Colyseus', cs, csTool)];
if (problems.length > 0) {
  for (const p of problems) process.stderr.write(`run.sh: ${p}\n`);
  process.exit(1);
}

const perPlayerSecond = (m, v) => v / m.players / m.window_s;
const rows = [
  ['players', rp.players, cs.players],
  ['measured window (s)', rp.window_s.toFixed(1), cs.window_s.toFixed(1)],
  ['server CPU (s)', rp.cpu_s.toFixed(2), cs.cpu_s.toFixed(2)],
  ['server CPU ms per player-s', (1000 * perPlayerSecond(rp, rp.cpu_s)).toFixed(3), (1000 * perPlayerSecond(cs, cs.cpu_s)).toFixed(3)],
  ['server bytes/player/s', Math.round(perPlayerSecond(rp, rp.bytes)), Math.round(perPlayerSecond(cs, cs.bytes))],
  ['client bytes in/player/s', rpTool.bytes_in_per_player_s, csTool.bytes_in_per_player_s],
  ['updates/player/s', (rpTool.snapshots_per_s / rp.players).toFixed(1), (csTool.patches_per_s / cs.players).toFixed(1)],
  ['rtt p50/p99 (ms)', `${rpTool.rtt_p50_ms}/${rpTool.rtt_p99_ms}`, `${csTool.rtt_p50_ms}/${csTool.rtt_p99_ms}`],
  ['server RSS (MB)', (rp.rss_kb / 1024).toFixed(0), (cs.rss_kb / 1024).toFixed(0)],
];
const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max('Rallypoint'.length, ...rows.map((r) => String(r[1]).length));
const line = (a, b, c) => `${a.padEnd(w0)}  ${String(b).padStart(w1)}  ${String(c).padStart(10)}`;
console.log(line('', 'Rallypoint', 'Colyseus'));
for (const r of rows) console.log(line(...r));
for (const [name, m, ups] of [['Rallypoint', rp, rpTool.snapshots_per_s], ['Colyseus', cs, csTool.patches_per_s]]) {
  if (ups / m.players < 27) {
    console.log(`warning: ${name} delivered ${(ups / m.players).toFixed(1)} updates a second per player, below 30: it is saturated`);
  }
}
const cpuRatio = rp.cpu_s / rp.players / rp.window_s / (cs.cpu_s / cs.players / cs.window_s);
const bytesRatio = (rp.bytes / rp.players / rp.window_s) / (cs.bytes / cs.players / cs.window_s);
console.log(`cpu_ratio=${cpuRatio.toFixed(3)} bytes_ratio=${bytesRatio.toFixed(3)}`);
