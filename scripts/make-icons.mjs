// Draws Confab's app icons (a speech bubble on a blue tile) as PNG and SVG.
// The PNGs are committed; run `node scripts/make-icons.mjs` after changing the design.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const OUT = new URL('../packages/web/public/icons/', import.meta.url);
const BLUE = [37, 99, 235];
const WHITE = [255, 255, 255];

// Signed-distance style tests in a unit square (0..1), y down.
function inRoundedRect(x, y, inset, r) {
  const lo = inset, hi = 1 - inset;
  const cx = Math.min(Math.max(x, lo + r), hi - r);
  const cy = Math.min(Math.max(y, lo + r), hi - r);
  return x >= lo && x <= hi && y >= lo && y <= hi && (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}
function inBubble(x, y, s) {
  // An ellipse for the bubble and a triangle for its tail, scaled by s around the centre.
  const u = (x - 0.5) / s + 0.5, v = (y - 0.5) / s + 0.5;
  const ellipse = ((u - 0.5) / 0.34) ** 2 + ((v - 0.46) / 0.27) ** 2 <= 1;
  const tail = v >= 0.6 && v <= 0.82 && u >= 0.3 && u <= 0.45 && (u - 0.3) / 0.15 >= (v - 0.6) / 0.22;
  return ellipse || tail;
}
function inDot(x, y, s) {
  const u = (x - 0.5) / s + 0.5, v = (y - 0.5) / s + 0.5;
  return [0.36, 0.5, 0.64].some((cx) => (u - cx) ** 2 + (v - 0.46) ** 2 <= 0.045 ** 2);
}

function render(size, { maskable }) {
  const px = Buffer.alloc(size * size * 4);
  const ss = 4; // supersampling per axis, for smooth edges
  const scale = maskable ? 0.72 : 0.9; // maskable icons keep content inside the safe zone
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sj = 0; sj < ss; sj++) {
        for (let si = 0; si < ss; si++) {
          const x = (i + (si + 0.5) / ss) / size, y = (j + (sj + 0.5) / ss) / size;
          const tile = maskable || inRoundedRect(x, y, 0.02, 0.2);
          if (!tile) continue;
          const c = inDot(x, y, scale) ? BLUE : inBubble(x, y, scale) ? WHITE : BLUE;
          r += c[0]; g += c[1]; b += c[2]; a += 255;
        }
      }
      const n = ss * ss, o = (j * size + i) * 4;
      const cover = a / 255;
      px[o] = cover ? r / cover : 0; px[o + 1] = cover ? g / cover : 0; px[o + 2] = cover ? b / cover : 0; px[o + 3] = a / n;
    }
  }
  return png(size, px);
}

function crc32(buf) {
  let c, crc = 0xffffffff;
  for (const byte of buf) {
    c = (crc ^ byte) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(size, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0); header.writeUInt32BE(size, 4);
  header[8] = 8; header[9] = 6; // 8-bit RGBA
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let j = 0; j < size; j++) rgba.copy(raw, j * (size * 4 + 1) + 1, j * size * 4, (j + 1) * size * 4);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

writeFileSync(new URL('icon-192.png', OUT), render(192, { maskable: false }));
writeFileSync(new URL('icon-512.png', OUT), render(512, { maskable: false }));
writeFileSync(new URL('icon-maskable-512.png', OUT), render(512, { maskable: true }));
writeFileSync(
  new URL('icon.svg', OUT),
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect x="2" y="2" width="96" height="96" rx="20" fill="#2563eb"/>` +
    `<g transform="translate(50 50) scale(0.9) translate(-50 -50)"><ellipse cx="50" cy="46" rx="34" ry="27" fill="#fff"/><path d="M30 60 L30 82 L45 64 Z" fill="#fff"/>` +
    `<circle cx="36" cy="46" r="4.5" fill="#2563eb"/><circle cx="50" cy="46" r="4.5" fill="#2563eb"/><circle cx="64" cy="46" r="4.5" fill="#2563eb"/></g></svg>\n`,
);
