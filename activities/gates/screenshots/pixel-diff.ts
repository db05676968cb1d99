// How much of a page changed: pixelmatch over the base's and the head's PNG, and a diff PNG that
// shows where (changed pixels red over a faded copy of the base). Screenshots of different sizes
// are compared on the larger canvas; what only one of them covers counts as changed.
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';

export interface PixelDiff {
  png: Buffer;
  diffPixels: number;
  width: number;
  height: number;
}

const CHANGED: [number, number, number] = [255, 0, 0];
/** PNG row filter "Sub" for the diff: pngjs's default tries all five per row, ~100× slower, for a few kB less. */
const encode = (png: PNG) => PNG.sync.write(png, { filterType: 1 });

export function diffPngs(before: Buffer, after: Buffer): PixelDiff {
  const a = PNG.sync.read(before);
  const b = PNG.sync.read(after);
  const width = Math.max(a.width, b.width);
  const height = Math.max(a.height, b.height);
  const common = { width: Math.min(a.width, b.width), height: Math.min(a.height, b.height) };
  const inCommon = (x: number, y: number) => x < common.width && y < common.height;

  const diff = new PNG({ width, height });
  if (common.width === width && common.height === height) {
    const diffPixels = pixelmatch(a.data, b.data, diff.data, width, height, { diffColor: CHANGED });
    return { png: encode(diff), diffPixels, width, height };
  }
  // Outside the common area nothing is compared: it is changed by definition.
  const outside = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (!inCommon(x, y)) outside[y * width + x] = 1;
  const matched = pixelmatch(onCanvas(a, width, height), onCanvas(b, width, height), diff.data, width, height, { diffColor: CHANGED, ignoreMask: outside });
  let outsidePixels = 0;
  const red = Uint8Array.from([...CHANGED, 255]);
  for (let i = 0; i < outside.length; i++) {
    if (!outside[i]) continue;
    outsidePixels++;
    diff.data.set(red, i * 4);
  }
  return { png: encode(diff), diffPixels: matched + outsidePixels, width, height };
}

/** The image's RGBA pixels at the top left of a transparent width × height canvas. */
function onCanvas(image: PNG, width: number, height: number): Uint8Array {
  if (image.width === width && image.height === height) return image.data;
  const canvas = new PNG({ width, height, fill: true });
  PNG.bitblt(image, canvas, 0, 0, image.width, image.height, 0, 0);
  return canvas.data;
}
