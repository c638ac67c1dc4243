// measure.mjs runs one load tool against one server and measures the SERVER process: the
// CPU time it spent (utime + stime from /proc/PID/stat) and the bytes it wrote (wchar from
// /proc/PID/io: every write(2)/writev(2) it made, which for a game server in its measured
// phase is the WebSocket frames it sends, headers and all), between two moments inside the
// tool's measured phase.
//
//	node measure.mjs -pid PID -players N [-clk-tck 100] [-out FILE] -- TOOL ARGS...
//
// The tool is cmd/loadgen or driver.mjs: both print a progress line a second on stderr,
// "t=12s measure connected=160/160 ...". The server is sampled as each line arrives; the
// window runs from the first to the last sample of the "measure" phase, so it holds no
// joins (the ramp is over) and no leaves (the settle phase follows), and both servers are
// timed by the same rule. The tool's stdout goes to FILE (its summary is its last line),
// its stderr to ours. One JSON line goes to stdout:
//
//	{"window_s":29.0,"started_ms":<Unix ms>,"cpu_s":3.1,"bytes":..,"players":160,"connected":[160,160],"rss_kb":..,
//	 "tool_cpu_s":..,"other_cpu_pct":4.2,"loadavg":[1.2,1.5],
//	 "exit":0,"summary":"<the tool's last stdout line>"}
//
// other_cpu_pct is the machine's other load over the same window: the share of all cores'
// time (/proc/stat) that went to processes other than the server, the load tool and this
// script, by bench/wsbench/sysload.go's rule (busy = user + nice + system + steal; irq and
// softirq time is left out, since on loopback it is mostly the benchmark's own packets,
// which the kernel charges to no process). A run with a high figure was measured on a busy
// machine. loadavg is /proc/loadavg's 1-minute figure at the window's two ends, the
// coarser view a reader knows from uptime(1): it counts the benchmark's own threads too.
//
// The exit status is the tool's, or 3 when no window could be measured.
import { spawn } from 'node:child_process';
import { readFileSync, createWriteStream } from 'node:fs';

function parseArgs(argv) {
  const cfg = { pid: 0, players: 0, clkTck: 100, out: '', cmd: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      cfg.cmd = argv.slice(i + 1);
      break;
    }
    const v = argv[++i];
    switch (a.replace(/^--?/, '')) {
      case 'pid': cfg.pid = Number(v); break;
      case 'players': cfg.players = Number(v); break;
      case 'clk-tck': cfg.clkTck = Number(v); break;
      case 'out': cfg.out = v; break;
      default: throw new Error(`measure.mjs: unknown flag ${a}`);
    }
  }
  if (!cfg.pid || !cfg.players || cfg.cmd.length === 0 || !(cfg.clkTck > 0)) {
    throw new Error('usage: node measure.mjs -pid PID -players N [-clk-tck 100] [-out FILE] -- TOOL ARGS...');
  }
  return cfg;
}

/** cpuTicks is the process's utime + stime in clock ticks (proc(5): fields 14 and 15). */
function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: split after it.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // fields 14, 15 counted from field 3
}

function ioField(pid, name) {
  const m = new RegExp(`^${name}: (\\d+)$`, 'm').exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  if (!m) throw new Error(`measure.mjs: no ${name} in /proc/${pid}/io`);
  return Number(m[1]);
}

/**
 * machineTicks is all cores' busy and total time since boot in clock ticks, from the "cpu"
 * line of /proc/stat, by bench/wsbench/sysload.go's rule (see the top of this file).
 */
function machineTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/);
  if (f[0] !== 'cpu') throw new Error('measure.mjs: /proc/stat has no cpu line');
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f.slice(1, 9).map((v) => Number(v) || 0);
  const busy = user + nice + system + steal;
  return { busy, total: busy + idle + iowait + irq + softirq };
}

/** toolTicks is cpuTicks of the load tool, or null once it is gone (its last lines may be read after it was reaped). */
function toolTicks(pid) {
  try {
    return cpuTicks(pid);
  } catch {
    return null;
  }
}

/** selfTicks is this script's own CPU time, in clock ticks. */
function selfTicks(clkTck) {
  const u = process.cpuUsage();
  return ((u.user + u.system) / 1e6) * clkTck;
}

function loadavg1() {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

function rssKB(pid) {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

const PROGRESS = /^t=\d+s (\w+) connected=(\d+)\/(\d+)/;

function main() {
  const cfg = parseArgs(process.argv.slice(2));
  cpuTicks(cfg.pid); // fail now, not mid-run, if the server is gone or /proc unreadable
  ioField(cfg.pid, 'wchar');
  machineTicks();

  const samples = [];
  const out = cfg.out ? createWriteStream(cfg.out) : null;
  let lastLine = '';
  let pendingOut = '';
  let pendingErr = '';
  const child = spawn(cfg.cmd[0], cfg.cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });

  child.stdout.on('data', (chunk) => {
    out?.write(chunk);
    pendingOut += chunk;
    const lines = pendingOut.split('\n');
    pendingOut = lines.pop();
    for (const l of lines) if (l.trim() !== '') lastLine = l;
  });
  child.stderr.on('data', (chunk) => {
    pendingErr += chunk;
    const lines = pendingErr.split('\n');
    pendingErr = lines.pop();
    for (const line of lines) {
      const m = PROGRESS.exec(line);
      if (m) {
        // Sample first: the line has just been written, the phase is still the one it names.
        samples.push({
          at: performance.now(), wall: Date.now(), phase: m[1], connected: Number(m[2]),
          ticks: cpuTicks(cfg.pid), wchar: ioField(cfg.pid, 'wchar'), rss: rssKB(cfg.pid),
          tool: toolTicks(child.pid), self: selfTicks(cfg.clkTck), machine: machineTicks(), loadavg: loadavg1(),
        });
      }
      process.stderr.write(`${line}\n`);
    }
  });
  child.on('error', (err) => {
    process.stderr.write(`measure.mjs: cannot run ${cfg.cmd[0]}: ${err.message}\n`);
    process.exit(3);
  });
  child.on('close', (code) => {
    out?.end();
    if (pendingOut.trim() !== '') lastLine = pendingOut;
    const win = samples.filter((s) => s.phase === 'measure');
    if (win.length < 2) {
      process.stderr.write(`measure.mjs: the tool printed ${win.length} progress line(s) in its measure phase; need 2\n`);
      process.stdout.write(`${JSON.stringify({ exit: code, summary: lastLine, error: 'no window' })}\n`);
      process.exit(3);
    }
    const a = win[0];
    const b = win[win.length - 1];
    const total = a.tool === null || b.tool === null ? 0 : b.machine.total - a.machine.total;
    const other = (b.machine.busy - a.machine.busy) - (b.ticks - a.ticks) - (b.tool - a.tool) - (b.self - a.self);
    const result = {
      window_s: Number(((b.at - a.at) / 1000).toFixed(3)),
      started_ms: a.wall,
      cpu_s: (b.ticks - a.ticks) / cfg.clkTck,
      bytes: b.wchar - a.wchar,
      players: cfg.players,
      connected: [a.connected, b.connected],
      rss_kb: b.rss,
      tool_cpu_s: (b.tool - a.tool) / cfg.clkTck,
      other_cpu_pct: total > 0 ? Number(Math.max(0, (100 * other) / total).toFixed(1)) : -1,
      loadavg: [a.loadavg, b.loadavg],
      exit: code,
      summary: lastLine,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(code ?? 3);
  });
}

try {
  main();
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  process.exit(3);
}
