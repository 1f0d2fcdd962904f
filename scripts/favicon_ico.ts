/**
 * Writes `src/ui/favicon_ico.ts`: the UI's icon (`src/ui/assets.ts`,
 * `favicon.svg`) drawn at 32×32 and packed as a PNG inside an ICO, for
 * browsers that ask for `/favicon.ico` on pages without an icon link (the
 * scrape output, the JSON API). Drawn here, with no image tool, from the
 * same three shapes as the SVG; run it again when the SVG changes:
 *
 *   deno run --allow-write=src/ui scripts/favicon_ico.ts
 * @module
 */

import { deflateSync } from "node:zlib";

const SIZE = 32;
/** Sub-samples per pixel side: the edges are anti-aliased by coverage. */
const SUB = 8;
const ORANGE = [0xe6, 0x52, 0x2c] as const;
const WHITE = [0xff, 0xff, 0xff] as const;

/** The SVG's arrow: `M16 5.5 8.5 13H13v6.5h6V13h4.5z`. */
const ARROW: readonly (readonly [number, number])[] = [
  [16, 5.5],
  [8.5, 13],
  [13, 13],
  [13, 19.5],
  [19, 19.5],
  [19, 13],
  [23.5, 13],
];

function inRoundedRect(
  x: number,
  y: number,
  r: { x: number; y: number; w: number; h: number; rx: number },
): boolean {
  if (x < r.x || x > r.x + r.w || y < r.y || y > r.y + r.h) return false;
  const cx = Math.min(Math.max(x, r.x + r.rx), r.x + r.w - r.rx);
  const cy = Math.min(Math.max(y, r.y + r.rx), r.y + r.h - r.rx);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r.rx ** 2;
}

function inPolygon(
  x: number,
  y: number,
  points: readonly (readonly [number, number])[],
): boolean {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i] as readonly [number, number];
    const [xj, yj] = points[j] as readonly [number, number];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) {
      inside = !inside;
    }
  }
  return inside;
}

/** Straight (not premultiplied) RGBA, row by row. */
function draw(): Uint8Array {
  const pixels = new Uint8Array(SIZE * SIZE * 4);
  for (let py = 0; py < SIZE; py++) {
    for (let px = 0; px < SIZE; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < SUB; sy++) {
        for (let sx = 0; sx < SUB; sx++) {
          const x = px + (sx + 0.5) / SUB;
          const y = py + (sy + 0.5) / SUB;
          if (!inRoundedRect(x, y, { x: 0, y: 0, w: 32, h: 32, rx: 7 })) {
            continue;
          }
          const white = inPolygon(x, y, ARROW) ||
            inRoundedRect(x, y, { x: 8, y: 22.5, w: 16, h: 4, rx: 1.5 });
          const color = white ? WHITE : ORANGE;
          r += color[0];
          g += color[1];
          b += color[2];
          a++;
        }
      }
      const at = (py * SIZE + px) * 4;
      if (a > 0) {
        pixels[at] = Math.round(r / a);
        pixels[at + 1] = Math.round(g / a);
        pixels[at + 2] = Math.round(b / a);
      }
      pixels[at + 3] = Math.round((255 * a) / (SUB * SUB));
    }
  }
  return pixels;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function png(pixels: Uint8Array): Uint8Array {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, SIZE);
  view.setUint32(4, SIZE);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  const raw = new Uint8Array(SIZE * (1 + SIZE * 4));
  for (let y = 0; y < SIZE; y++) {
    // Filter byte 0 (none) before each row.
    raw.set(
      pixels.subarray(y * SIZE * 4, (y + 1) * SIZE * 4),
      y * (1 + SIZE * 4) + 1,
    );
  }
  return concat([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", new Uint8Array(deflateSync(raw, { level: 9 }))),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

/** One image, stored as PNG (Windows Vista and every browser read it). */
function ico(image: Uint8Array): Uint8Array {
  const head = new Uint8Array(22);
  const view = new DataView(head.buffer);
  view.setUint16(2, 1, true); // type: icon
  view.setUint16(4, 1, true); // one image
  head.set([SIZE, SIZE, 0, 0], 6);
  view.setUint16(10, 1, true); // planes
  view.setUint16(12, 32, true); // bits per pixel
  view.setUint32(14, image.length, true);
  view.setUint32(18, head.length, true);
  return concat([head, image]);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const bytes = ico(png(draw()));
let base64 = "";
const text = btoa(String.fromCharCode(...bytes));
for (let i = 0; i < text.length; i += 76) {
  base64 += `  "${text.slice(i, i + 76)}",\n`;
}
await Deno.writeTextFile(
  new URL("../src/ui/favicon_ico.ts", import.meta.url),
  `/**
 * The UI's icon as an ICO file (one 32×32 PNG), served at \`/favicon.ico\`.
 * Generated by \`scripts/favicon_ico.ts\` from the shapes of \`favicon.svg\`;
 * do not edit by hand.
 * @module
 */

/** ${bytes.length} bytes. */
export const FAVICON_ICO: Uint8Array<ArrayBuffer> = Uint8Array.from(
  atob(
    [
${base64.replaceAll(/^ {2}/gm, "      ")}    ].join(""),
  ),
  (c) => c.charCodeAt(0),
);
`,
);
