// render.js: draws one frame of the arena and the overlays on the full-window canvas.
//
// It knows nothing of the network: shooter.js hands it a scene (positions already
// predicted or interpolated, in world units) and the short-lived effects live here. The
// whole arena is always in view, scaled to fit the window, so the world-to-screen mapping
// is one scale and one offset, and on a phone held upright a quarter turn too.
//
// Three layouts, chosen by resize():
//
//   - desktop: the arena as large as fits, the HUD a 60 px strip under it with the help;
//   - compact (touch controls on, or a window too small for the desktop HUD): the HUD is a
//     one- or two-line strip above the arena, the panels are smaller;
//   - turned (compact, touch controls on, taller than wide): the 5:3 arena drawn a quarter
//     turn clockwise, so that it fills the width of an upright phone instead of being a strip
//     across its middle, with room under it where the thumbs rest. The world turns, the text
//     does not: labels and panels are placed in screen space from toScreen().

import { WIDTH, HEIGHT, RADIUS, MAX_HEALTH } from "./sim.js";
import { STICK_RADIUS } from "./touch.js";

const TRACER_MS = 150;
const BOOM_MS = 400;
const BOOM_RADIUS = 48; // drawn size only; rockets hurt on direct hits
const FEED_MS = 6000;
const FEED_MAX = 6;
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const HUD_HEIGHT = 60; // the strip under the arena, so that no panel hides a corner of it
const PAD = 8;
// Below this arena width (CSS px) the desktop HUD's three columns and help do not fit.
const COMPACT_BELOW = 660;
const ROW = 18; // a line of the compact HUD
const SIDE = 4; // margin beside the arena in the compact layouts
const THUMBS = 150; // turned layout: room under the arena for the thumbs, CSS px
const KNOB = 22; // radius of a stick's knob
const BUTTON = 30; // radius of the rocket button

const COLORS = {
  page: "#0b0e14",
  floor: "#151a23",
  grid: "#1c2330",
  border: "#334155",
  wall: "#3a4557",
  wallEdge: "#55637a",
  text: "#e6edf3",
  dim: "#8b96a5",
  panel: "rgba(11, 14, 20, 0.72)",
  good: "#3fb950",
  warn: "#d29922",
  bad: "#f85149",
  rocket: "#ffb347",
};

/** Draws frames and keeps the effects (tracers, explosions, kill feed) until they fade. */
export class Renderer {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.dpr = 1;
    this.scale = 1; // CSS pixels per world unit
    this.ox = 0; // CSS pixel of world x = 0 (not turned)
    this.oy = 0;
    this.w = 1; // the window, CSS px
    this.h = 1;
    /** The arena's box on screen (CSS px), whichever way it is turned. */
    this.arena = { x: 0, y: 0, w: 1, h: 1 };
    /** The compact HUD (a strip above the arena) rather than the desktop one under it. */
    this.compact = false;
    /** The top of the compact HUD, CSS px: right above the arena. */
    this.hudTop = 0;
    /** The arena drawn a quarter turn clockwise: world +x points down the screen, +y left. */
    this.turned = false;
    /** Where the touch controls rest and the rocket button is (CSS px). */
    this.thumbs = { move: { x: 0, y: 0 }, aim: { x: 0, y: 0 }, rocket: { x: -1000, y: -1000, r: BUTTON } };
    /** The touch controls, set by the page: when they are on, the layout is made for thumbs. */
    this.touch = null;
    this.tracers = [];
    this.booms = [];
    this.feed = [];
    this.resize();
    window.addEventListener("resize", () => this.resize());
  }

  /** Matches the canvas to the window (in device pixels) and refits the arena. */
  resize() {
    const w = window.innerWidth;
    const h = window.innerHeight;
    this.w = w;
    this.h = h;
    this.dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(w * this.dpr));
    this.canvas.height = Math.max(1, Math.round(h * this.dpr));
    this.scale = Math.max(0.05, Math.min((w - 2 * PAD) / WIDTH, (h - 2 * PAD - HUD_HEIGHT) / HEIGHT));
    this.ox = (w - WIDTH * this.scale) / 2;
    this.oy = Math.max(PAD, (h - HUD_HEIGHT - HEIGHT * this.scale) / 2);
    const touch = this.touch !== null && this.touch.enabled;
    this.compact = touch || WIDTH * this.scale < COMPACT_BELOW;
    this.turned = touch && h > w;
    if (this.compact) {
      // The arena under the HUD strip, as large as fits beside the margins (and, turned,
      // above the thumbs' room).
      const top = this.hudHeight();
      const aw = this.turned ? HEIGHT : WIDTH; // the arena's extent across the screen, world units
      const ah = this.turned ? WIDTH : HEIGHT;
      const below = this.turned ? THUMBS : SIDE;
      this.scale = Math.max(0.05, Math.min((w - 2 * SIDE) / aw, (h - top - below) / ah));
      this.ox = (w - aw * this.scale) / 2;
      // The HUD and the arena together, centred in the height left (turned, at the top).
      this.hudTop = this.turned ? 0 : Math.max(0, (h - top - below - ah * this.scale) / 2);
      this.oy = this.hudTop + top;
    }
    const s = this.scale;
    this.arena = { x: this.ox, y: this.oy, w: (this.turned ? HEIGHT : WIDTH) * s, h: (this.turned ? WIDTH : HEIGHT) * s };
    this.placeThumbs();
  }

  /** The compact HUD's height: one line when the window is wide enough, else two. */
  hudHeight() {
    return this.w >= 600 ? 8 + ROW : 8 + 2 * ROW;
  }

  /** Where the sticks rest and the rocket button is, for the current layout. */
  placeThumbs() {
    const { w, h, arena } = this;
    if (this.turned) {
      // The room under the arena: move stick left, aim stick right of centre, the rocket
      // button at the right edge, clear of the aim stick's ring.
      const y = (arena.y + arena.h + h) / 2;
      this.thumbs = {
        move: { x: w * 0.25, y },
        aim: { x: w * 0.62, y },
        rocket: { x: w - 12 - BUTTON, y, r: BUTTON },
      };
    } else {
      // Landscape: the sticks low in the margins beside the arena, the button above the aim stick.
      const side = Math.max(STICK_RADIUS + 12, arena.x / 2);
      const y = h - STICK_RADIUS - 24;
      this.thumbs = {
        move: { x: side, y },
        aim: { x: w - side, y },
        rocket: { x: w - Math.max(BUTTON + 12, arena.x / 2), y: y - STICK_RADIUS - BUTTON - 24, r: BUTTON },
      };
    }
  }

  /** The rocket button's circle (CSS px), for the touch controls. */
  rocketButton() {
    return this.thumbs.rocket;
  }

  /** The world point under the viewport point (clientX, clientY). */
  toWorld(px, py) {
    if (this.turned) return { x: (py - this.oy) / this.scale, y: HEIGHT - (px - this.ox) / this.scale };
    return { x: (px - this.ox) / this.scale, y: (py - this.oy) / this.scale };
  }

  /** The viewport point (CSS px) where the world point (x, y) is drawn. */
  toScreen(x, y) {
    if (this.turned) return { x: this.ox + (HEIGHT - y) * this.scale, y: this.oy + x * this.scale };
    return { x: this.ox + x * this.scale, y: this.oy + y * this.scale };
  }

  /** A direction on screen (dx, dy) as the same direction in the world. */
  worldDir(dx, dy) {
    return this.turned ? { x: dy, y: -dx } : { x: dx, y: dy };
  }

  /** A blaster tracer from (x1, y1) to (x2, y2), fading out over 150 ms. */
  addTracer(x1, y1, x2, y2, color, hit, now) {
    this.tracers.push({ x1, y1, x2, y2, color, hit, t0: now });
  }

  /** A rocket explosion at (x, y). */
  addBoom(x, y, now) {
    this.booms.push({ x, y, t0: now });
  }

  /** A kill feed line. */
  addKill(killer, killerColor, victim, victimColor, weapon, mine, now) {
    this.feed.push({ killer, killerColor, victim, victimColor, weapon, mine, t0: now });
    if (this.feed.length > FEED_MAX) this.feed.shift();
  }

  /**
   * Draws one frame.
   * @param {object} scene - {now, walls, players, rockets, scores, hud, pointer}; see shooter.js
   */
  draw(scene) {
    const { ctx, dpr } = this;
    const now = scene.now;
    expire(this.tracers, now - TRACER_MS);
    expire(this.booms, now - BOOM_MS);
    expire(this.feed, now - FEED_MS);

    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = COLORS.page;
    ctx.fillRect(0, 0, this.canvas.width / dpr, this.canvas.height / dpr);

    // World space.
    const s = this.scale;
    if (this.turned) ctx.setTransform(0, dpr * s, -dpr * s, 0, dpr * (this.ox + HEIGHT * s), dpr * this.oy);
    else ctx.setTransform(dpr * s, 0, 0, dpr * s, dpr * this.ox, dpr * this.oy);
    this.drawArena(scene.walls);
    this.drawBooms(now);
    for (const r of scene.rockets) this.drawRocket(r);
    this.drawTracers(now);
    for (const p of scene.players) if (p.alive) this.drawPlayer(p);

    // Screen space.
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    for (const p of scene.players) if (p.alive) this.drawLabel(p);
    // Panels fade while a player, or the pointer, is under them.
    const focus = [];
    for (const p of scene.players) if (p.alive) focus.push(this.toScreen(p.x, p.y));
    if (scene.pointer) focus.push(scene.pointer);
    if (this.compact) {
      this.drawScoresCompact(scene.scores, focus);
      this.drawFeedCompact(now, focus);
      this.drawCompactHud(scene.hud);
    } else {
      this.drawScores(scene.scores, focus);
      this.drawFeed(now, focus);
      this.drawHud(scene.hud);
    }
    if (scene.touch && scene.touch.enabled) this.drawTouch(scene.touch, scene.hud);
  }

  drawArena(walls) {
    const ctx = this.ctx;
    const px = 1 / this.scale; // one CSS pixel in world units
    ctx.fillStyle = COLORS.floor;
    ctx.fillRect(0, 0, WIDTH, HEIGHT);
    ctx.strokeStyle = COLORS.grid;
    ctx.lineWidth = px;
    ctx.beginPath();
    for (let x = 100; x < WIDTH; x += 100) {
      ctx.moveTo(x, 0);
      ctx.lineTo(x, HEIGHT);
    }
    for (let y = 100; y < HEIGHT; y += 100) {
      ctx.moveTo(0, y);
      ctx.lineTo(WIDTH, y);
    }
    ctx.stroke();
    ctx.strokeStyle = COLORS.border;
    ctx.lineWidth = 2 * px;
    ctx.strokeRect(0, 0, WIDTH, HEIGHT);
    if (!walls) return;
    for (const [x, y, w, h] of walls) {
      ctx.fillStyle = COLORS.wall;
      ctx.fillRect(x, y, w, h);
      ctx.strokeStyle = COLORS.wallEdge;
      ctx.lineWidth = 2 * px;
      ctx.strokeRect(x + px, y + px, w - 2 * px, h - 2 * px);
    }
  }

  drawPlayer(p) {
    const ctx = this.ctx;
    const px = 1 / this.scale;
    // Aim line first, so the body covers its root.
    const len = RADIUS + 14;
    ctx.strokeStyle = p.me ? "#ffffff" : "rgba(230, 237, 243, 0.85)";
    ctx.lineWidth = Math.max(4, 2.5 * px);
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(p.x, p.y);
    ctx.lineTo(p.x + Math.cos(p.aim) * len, p.y + Math.sin(p.aim) * len);
    ctx.stroke();
    ctx.fillStyle = p.color;
    ctx.beginPath();
    ctx.arc(p.x, p.y, RADIUS, 0, 2 * Math.PI);
    ctx.fill();
    ctx.lineWidth = p.me ? Math.max(3, 2 * px) : Math.max(1.5, px);
    ctx.strokeStyle = p.me ? "#ffffff" : "rgba(0, 0, 0, 0.55)";
    ctx.stroke();
  }

  drawLabel(p) {
    const ctx = this.ctx;
    const at = this.toScreen(p.x, p.y);
    const sx = at.x;
    const sy = at.y - RADIUS * this.scale;
    const bw = Math.max(28, 40 * this.scale);
    const frac = Math.max(0, Math.min(1, p.health / MAX_HEALTH));
    ctx.fillStyle = "rgba(0, 0, 0, 0.6)";
    ctx.fillRect(sx - bw / 2 - 1, sy - 9, bw + 2, 5);
    ctx.fillStyle = frac > 0.6 ? COLORS.good : frac > 0.3 ? COLORS.warn : COLORS.bad;
    ctx.fillRect(sx - bw / 2, sy - 8, bw * frac, 3);
    ctx.font = `${p.me ? "600 " : ""}12px ${FONT}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillStyle = p.me ? "#ffffff" : COLORS.text;
    // Kept on the screen: on a phone the arena reaches its edges.
    const half = ctx.measureText(p.name).width / 2 + 2;
    ctx.fillText(p.name, Math.max(half, Math.min(this.w - half, sx)), sy - 11);
  }

  drawRocket(r) {
    const ctx = this.ctx;
    const v = Math.hypot(r.vx, r.vy) || 1;
    const tx = (-r.vx / v) * 26;
    const ty = (-r.vy / v) * 26;
    const g = ctx.createLinearGradient(r.x, r.y, r.x + tx, r.y + ty);
    g.addColorStop(0, "rgba(255, 179, 71, 0.9)");
    g.addColorStop(1, "rgba(255, 179, 71, 0)");
    ctx.strokeStyle = g;
    ctx.lineWidth = 6;
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(r.x, r.y);
    ctx.lineTo(r.x + tx, r.y + ty);
    ctx.stroke();
    ctx.fillStyle = COLORS.rocket;
    ctx.beginPath();
    ctx.arc(r.x, r.y, 6, 0, 2 * Math.PI);
    ctx.fill();
  }

  drawTracers(now) {
    const ctx = this.ctx;
    const px = 1 / this.scale;
    ctx.lineCap = "round";
    for (const t of this.tracers) {
      const a = 1 - (now - t.t0) / TRACER_MS;
      ctx.globalAlpha = Math.max(0, a);
      ctx.strokeStyle = t.color;
      ctx.lineWidth = Math.max(2.5, 2 * px);
      ctx.beginPath();
      ctx.moveTo(t.x1, t.y1);
      ctx.lineTo(t.x2, t.y2);
      ctx.stroke();
      ctx.fillStyle = t.hit ? "#ffffff" : t.color;
      ctx.beginPath();
      ctx.arc(t.x2, t.y2, t.hit ? 7 : 4, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
  }

  drawBooms(now) {
    const ctx = this.ctx;
    for (const b of this.booms) {
      const k = (now - b.t0) / BOOM_MS; // 0 → 1
      const r = 10 + (BOOM_RADIUS - 10) * Math.sqrt(k);
      ctx.globalAlpha = Math.max(0, 1 - k);
      const g = ctx.createRadialGradient(b.x, b.y, 0, b.x, b.y, r);
      g.addColorStop(0, "rgba(255, 244, 214, 1)");
      g.addColorStop(0.4, "rgba(255, 160, 60, 0.9)");
      g.addColorStop(1, "rgba(220, 60, 30, 0)");
      ctx.fillStyle = g;
      ctx.beginPath();
      ctx.arc(b.x, b.y, r, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
  }

  /** How opaque a panel at (x, y, w, h) is drawn: faint while a player or the pointer is under it. */
  panelAlpha(x, y, w, h, focus) {
    for (const p of focus) {
      if (p.x >= x - 20 && p.x <= x + w + 20 && p.y >= y - 20 && p.y <= y + h + 20) return 0.3;
    }
    return 1;
  }

  /** The scoreboard, in the arena's top-left corner. */
  drawScores(rows, focus) {
    const ctx = this.ctx;
    const x = this.ox + 8;
    const y = this.oy + 8;
    const w = 240;
    const lh = 18;
    const h = 30 + lh * rows.length;
    ctx.globalAlpha = this.panelAlpha(x, y, w, h, focus);
    ctx.fillStyle = COLORS.panel;
    ctx.fillRect(x, y, w, h);
    ctx.textBaseline = "top";
    ctx.font = `600 11px ${FONT}`;
    ctx.fillStyle = COLORS.dim;
    ctx.textAlign = "left";
    ctx.fillText("Player", x + 10, y + 9);
    ctx.textAlign = "right";
    ctx.fillText("Frags", x + w - 62, y + 9);
    ctx.fillText("Deaths", x + w - 10, y + 9);
    let ry = y + 28;
    for (const r of rows) {
      ctx.fillStyle = r.color;
      ctx.fillRect(x + 10, ry + 4, 8, 8);
      ctx.font = `${r.me ? "700" : "400"} 13px ${FONT}`;
      ctx.fillStyle = r.me ? "#ffffff" : r.bot ? COLORS.dim : COLORS.text;
      ctx.textAlign = "left";
      ctx.fillText(clip(ctx, r.name, w - 24 - 100), x + 24, ry);
      ctx.textAlign = "right";
      ctx.fillText(String(r.frags), x + w - 62, ry);
      ctx.fillText(String(r.deaths), x + w - 10, ry);
      ry += lh;
    }
    ctx.globalAlpha = 1;
  }

  /** The kill feed, newest last, in the arena's top-right corner. */
  drawFeed(now, focus) {
    const ctx = this.ctx;
    const right = this.ox + WIDTH * this.scale - 8;
    let y = this.oy + 8;
    ctx.textBaseline = "top";
    ctx.font = `13px ${FONT}`;
    for (const f of this.feed) {
      const age = now - f.t0;
      const mid = f.weapon === "rocket" ? "  \u2739  " : "  \u279c  ";
      const wk = ctx.measureText(f.killer).width;
      const wm = ctx.measureText(mid).width;
      const wv = ctx.measureText(f.victim).width;
      const total = wk + wm + wv;
      const fade = age > FEED_MS - 1000 ? Math.max(0, (FEED_MS - age) / 1000) : 1;
      ctx.globalAlpha = fade * this.panelAlpha(right - total - 16, y, total + 16, 22, focus);
      ctx.fillStyle = f.mine ? "rgba(70, 55, 15, 0.85)" : COLORS.panel;
      ctx.fillRect(right - total - 16, y, total + 16, 22);
      let x = right - total - 8;
      ctx.textAlign = "left";
      ctx.fillStyle = f.killerColor;
      ctx.fillText(f.killer, x, y + 4);
      x += wk;
      ctx.fillStyle = COLORS.dim;
      ctx.fillText(mid, x, y + 4);
      x += wm;
      ctx.fillStyle = f.victimColor;
      ctx.fillText(f.victim, x, y + 4);
      y += 26;
    }
    ctx.globalAlpha = 1;
  }

  /** The strip under the arena: you, your weapons, the connection, the controls. */
  drawHud(h) {
    const ctx = this.ctx;
    const left = this.ox;
    const right = this.ox + WIDTH * this.scale;
    const top = this.oy + HEIGHT * this.scale + 8;
    const row = (i) => top + 2 + i * 17;
    ctx.textBaseline = "top";
    ctx.font = `12px ${FONT}`;

    // You.
    ctx.textAlign = "left";
    ctx.font = `600 13px ${FONT}`;
    ctx.fillStyle = h.color || COLORS.text;
    ctx.fillText(h.name, left, row(0));
    ctx.font = `12px ${FONT}`;
    ctx.textAlign = "right";
    ctx.fillStyle = COLORS.dim;
    ctx.fillText(h.alive ? `health ${h.health}` : "dead", left + 200, row(0) + 1);
    const hf = h.alive ? h.health / MAX_HEALTH : 0;
    bar(ctx, left, row(1) + 4, 200, 7, hf, hf > 0.6 ? COLORS.good : hf > 0.3 ? COLORS.warn : COLORS.bad);

    // Weapons.
    const wx = left + 230;
    ctx.textAlign = "left";
    ctx.fillStyle = COLORS.text;
    ctx.fillText("Blaster", wx, row(0) + 1);
    bar(ctx, wx + 54, row(0) + 6, 120, 5, h.blaster, h.blaster >= 1 ? "#58a6ff" : "#30507a");
    ctx.fillStyle = COLORS.text;
    ctx.fillText("Rocket", wx, row(1) + 1);
    bar(ctx, wx + 54, row(1) + 6, 120, 5, h.rocket, h.rocket >= 1 ? COLORS.rocket : "#7a5a30");

    // The connection.
    const cx = wx + 204;
    ctx.fillStyle = COLORS.dim;
    const rtt = h.rtt > 0 ? `${h.rtt.toFixed(0)} ms` : "…";
    ctx.fillText(`RTT ${rtt}  ·  tick ${h.tick || "…"}  ·  ${h.players} in room`, cx, row(0) + 1);
    ctx.fillStyle = h.state === "open" ? COLORS.good : h.state === "closed" ? COLORS.bad : COLORS.warn;
    const st = `\u25cf ${h.state}`;
    ctx.fillText(st, cx, row(1) + 1);
    ctx.fillStyle = COLORS.dim;
    ctx.fillText(h.extensions ? h.extensions.split(";")[0] : "no extensions", cx + ctx.measureText(st).width + 12, row(1) + 1);

    // How to play, where there is room for it.
    const help = ["WASD move \u00b7 mouse aim", "left click blaster \u00b7 right click / Space rocket"];
    ctx.textAlign = "right";
    if (right - ctx.measureText(help[1]).width > cx + 250) {
      ctx.fillText(help[0], right, row(0) + 1);
      ctx.fillText(help[1], right, row(1) + 1);
    } else {
      ctx.textAlign = "left";
      ctx.fillText(`${help[0]} \u00b7 ${help[1]}`, left, row(2) + 2);
    }

    // Centre: why you are not playing right now.
    if (h.banner) this.drawBanner(h.banner, h.subBanner);
  }

  /** The compact HUD: you, your weapons and the connection in a strip above the arena. */
  drawCompactHud(h) {
    const ctx = this.ctx;
    const left = SIDE + 4;
    const right = this.w - SIDE - 4;
    const two = this.hudHeight() > 8 + ROW; // a narrow window: two lines
    const y1 = this.hudTop + 5;
    const y2 = two ? y1 + ROW : y1;
    ctx.textBaseline = "top";

    // You: name and health.
    ctx.textAlign = "left";
    ctx.font = `600 13px ${FONT}`;
    ctx.fillStyle = h.color || COLORS.text;
    const name = clip(ctx, h.name, 110);
    ctx.fillText(name, left, y1);
    let x = left + ctx.measureText(name).width + 8;
    const hf = h.alive ? h.health / MAX_HEALTH : 0;
    bar(ctx, x, y1 + 5, 64, 6, hf, hf > 0.6 ? COLORS.good : hf > 0.3 ? COLORS.warn : COLORS.bad);
    x += 72;

    // The connection, at the right of the first line.
    ctx.font = `12px ${FONT}`;
    ctx.textAlign = "right";
    const rtt = h.rtt > 0 ? `${h.rtt.toFixed(0)} ms` : "…";
    const dotW = 14;
    ctx.fillStyle = h.state === "open" ? COLORS.good : h.state === "closed" ? COLORS.bad : COLORS.warn;
    ctx.fillText("\u25cf", right, y1 + 1);
    ctx.fillStyle = COLORS.dim;
    ctx.fillText(`${rtt} \u00b7 ${h.players} in room`, right - dotW, y1 + 1);

    // Weapons: on the second line, or after your health on the only one.
    ctx.textAlign = "left";
    const wx = two ? left : x + 8;
    const weapon = (label, at, frac, ready, idle) => {
      ctx.fillStyle = COLORS.text;
      ctx.fillText(label, at, y2 + 1);
      const lw = ctx.measureText(label).width + 6;
      bar(ctx, at + lw, y2 + 6, 56, 5, frac, frac >= 1 ? ready : idle);
      return at + lw + 56 + 14;
    };
    const rx = weapon("Blaster", wx, h.blaster, "#58a6ff", "#30507a");
    weapon("Rocket", rx, h.rocket, COLORS.rocket, "#7a5a30");

    // Without touch controls, the keys, where there is room under the arena.
    if (!(this.touch && this.touch.enabled) && this.h - (this.arena.y + this.arena.h) >= 22) {
      ctx.fillStyle = COLORS.dim;
      ctx.textAlign = "center";
      ctx.fillText(clip(ctx, "WASD move \u00b7 mouse aim \u00b7 click blaster \u00b7 right click / Space rocket", this.w - 16), this.w / 2, this.arena.y + this.arena.h + 5);
    }
    if (h.banner) this.drawBanner(h.banner, h.subBanner);
  }

  /** The scoreboard, small: the leaders and you, in the arena's top-left corner. */
  drawScoresCompact(rows, focus) {
    const ctx = this.ctx;
    const shown = rows.slice(0, 4);
    const mine = rows.find((r) => r.me);
    if (mine !== undefined && !shown.includes(mine)) shown.push(mine);
    const x = this.arena.x + 5;
    const y = this.arena.y + 5;
    const w = 150;
    const lh = 15;
    const h = 8 + lh * shown.length;
    ctx.globalAlpha = this.panelAlpha(x, y, w, h, focus);
    ctx.fillStyle = COLORS.panel;
    ctx.fillRect(x, y, w, h);
    ctx.textBaseline = "top";
    let ry = y + 4;
    for (const r of shown) {
      ctx.fillStyle = r.color;
      ctx.fillRect(x + 6, ry + 3, 7, 7);
      ctx.font = `${r.me ? "700" : "400"} 11px ${FONT}`;
      ctx.fillStyle = r.me ? "#ffffff" : r.bot ? COLORS.dim : COLORS.text;
      ctx.textAlign = "left";
      ctx.fillText(clip(ctx, r.name, w - 18 - 52), x + 18, ry);
      ctx.textAlign = "right";
      ctx.fillText(`${r.frags} / ${r.deaths}`, x + w - 6, ry);
      ry += lh;
    }
    ctx.globalAlpha = 1;
  }

  /** The kill feed, small: the newest three, in the arena's top-right corner. */
  drawFeedCompact(now, focus) {
    const ctx = this.ctx;
    const right = this.arena.x + this.arena.w - 5;
    let y = this.arena.y + 5;
    ctx.textBaseline = "top";
    ctx.font = `11px ${FONT}`;
    const max = Math.max(60, (this.arena.w - 170) / 3); // each name, so that a line clears the scoreboard
    for (const f of this.feed.slice(-3)) {
      const age = now - f.t0;
      const mid = f.weapon === "rocket" ? " \u2739 " : " \u279c ";
      const killer = clip(ctx, f.killer, max);
      const victim = clip(ctx, f.victim, max);
      const wk = ctx.measureText(killer).width;
      const wm = ctx.measureText(mid).width;
      const wv = ctx.measureText(victim).width;
      const total = wk + wm + wv;
      const fade = age > FEED_MS - 1000 ? Math.max(0, (FEED_MS - age) / 1000) : 1;
      ctx.globalAlpha = fade * this.panelAlpha(right - total - 10, y, total + 10, 17, focus);
      ctx.fillStyle = f.mine ? "rgba(70, 55, 15, 0.85)" : COLORS.panel;
      ctx.fillRect(right - total - 10, y, total + 10, 17);
      let x = right - total - 5;
      ctx.textAlign = "left";
      ctx.fillStyle = f.killerColor;
      ctx.fillText(killer, x, y + 3);
      x += wk;
      ctx.fillStyle = COLORS.dim;
      ctx.fillText(mid, x, y + 3);
      x += wm;
      ctx.fillStyle = f.victimColor;
      ctx.fillText(victim, x, y + 3);
      y += 20;
    }
    ctx.globalAlpha = 1;
  }

  /**
   * The touch controls: each stick under its thumb (or faintly where it rests, with what it
   * does), and the rocket button with its cooldown.
   * @param {import("./touch.js").TouchControls} t
   */
  drawTouch(t, h) {
    const ctx = this.ctx;
    const sticks = [
      [t.move, this.thumbs.move, "move", "rgba(230, 237, 243, 0.55)"],
      [t.aim, this.thumbs.aim, "aim \u00b7 fire", t.fire() & 1 ? "rgba(248, 81, 73, 0.75)" : "rgba(230, 237, 243, 0.55)"],
    ];
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    ctx.font = `12px ${FONT}`;
    for (const [s, rest, label, knob] of sticks) {
      const held = s !== null;
      const bx = held ? s.x0 : rest.x;
      const by = held ? s.y0 : rest.y;
      ctx.globalAlpha = held ? 1 : 0.5;
      ctx.fillStyle = "rgba(255, 255, 255, 0.06)";
      ctx.strokeStyle = "rgba(255, 255, 255, 0.28)";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(bx, by, STICK_RADIUS, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
      ctx.fillStyle = knob;
      ctx.beginPath();
      ctx.arc(held ? s.x : bx, held ? s.y : by, KNOB, 0, 2 * Math.PI);
      ctx.fill();
      if (!held) {
        ctx.fillStyle = COLORS.dim;
        ctx.fillText(label, bx, by + STICK_RADIUS + 6);
      }
    }
    ctx.globalAlpha = 1;
    const b = this.thumbs.rocket;
    const ready = h.rocket >= 1;
    ctx.fillStyle = t.rocket !== null ? "rgba(255, 179, 71, 0.55)" : "rgba(255, 179, 71, 0.16)";
    ctx.beginPath();
    ctx.arc(b.x, b.y, b.r, 0, 2 * Math.PI);
    ctx.fill();
    // The ring fills as the rocket comes back.
    ctx.strokeStyle = ready ? COLORS.rocket : "#7a5a30";
    ctx.lineWidth = 3;
    ctx.beginPath();
    ctx.arc(b.x, b.y, b.r, -Math.PI / 2, -Math.PI / 2 + 2 * Math.PI * Math.max(0, Math.min(1, h.rocket)));
    ctx.stroke();
    ctx.fillStyle = ready ? "#ffffff" : COLORS.dim;
    ctx.font = `600 10px ${FONT}`;
    ctx.textBaseline = "middle";
    ctx.fillText("ROCKET", b.x, b.y);
  }

  drawBanner(text, sub) {
    const ctx = this.ctx;
    const cx = this.arena.x + this.arena.w / 2;
    const cy = this.arena.y + this.arena.h / 2;
    const max = Math.max(160, this.arena.w - 60); // a long message wraps rather than spill out of the arena
    ctx.font = `14px ${FONT}`;
    const sw = sub ? ctx.measureText(sub).width : 0;
    const size = this.compact ? 17 : 22;
    ctx.font = `600 ${size}px ${FONT}`;
    const lines = wrap(ctx, text, max);
    const lh = size + 6;
    const bw = Math.min(max, Math.max(...lines.map((l) => ctx.measureText(l).width), sw));
    const extra = (lines.length - 1) * lh;
    ctx.fillStyle = COLORS.panel;
    ctx.fillRect(cx - bw / 2 - 20, cy - 40, bw + 40, (sub ? 78 : 54) + extra);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    ctx.fillStyle = COLORS.text;
    lines.forEach((l, i) => ctx.fillText(l, cx, cy - 28 + i * lh));
    if (sub) {
      ctx.font = `14px ${FONT}`;
      ctx.fillStyle = COLORS.dim;
      ctx.fillText(clip(ctx, sub, max), cx, cy + 6 + extra);
    }
  }
}

/** Breaks text into lines no wider than max (a word longer than that keeps a line of its own). */
function wrap(ctx, text, max) {
  const lines = [];
  let line = "";
  for (const word of text.split(" ")) {
    const next = line === "" ? word : `${line} ${word}`;
    if (line !== "" && ctx.measureText(next).width > max) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  lines.push(line);
  return lines;
}

/** Drops the leading entries older than `before` (entries are in time order). */
function expire(list, before) {
  let n = 0;
  while (n < list.length && list[n].t0 < before) n++;
  if (n > 0) list.splice(0, n);
}

function bar(ctx, x, y, w, h, frac, color) {
  ctx.fillStyle = "rgba(255, 255, 255, 0.1)";
  ctx.fillRect(x, y, w, h);
  ctx.fillStyle = color;
  ctx.fillRect(x, y, w * Math.max(0, Math.min(1, frac)), h);
}

function clip(ctx, text, max) {
  if (ctx.measureText(text).width <= max) return text;
  while (text.length > 1 && ctx.measureText(text + "…").width > max) text = text.slice(0, -1);
  return text + "…";
}
