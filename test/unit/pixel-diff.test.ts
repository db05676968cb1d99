// The pixel count behind the UI gate's diffRatio, on PNGs built here pixel by pixel.
import { describe, expect, it } from '@jest/globals';
import { PNG } from 'pngjs';
import { diffPngs } from '../../activities/gates/screenshots/pixel-diff.ts';

/** A white width × height PNG, with the pixels `paint` names set to black. */
function png(width: number, height: number, paint: (x: number, y: number) => boolean = () => false): Buffer {
  const image = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = paint(x, y) ? 0 : 255;
      image.data.set([v, v, v, 255], (y * width + x) * 4);
    }
  }
  return PNG.sync.write(image);
}

describe('diffPngs', () => {
  it('counts nothing for identical images and exactly the changed pixels otherwise, drawn red in the diff', () => {
    expect(diffPngs(png(40, 30), png(40, 30))).toMatchObject({ diffPixels: 0, width: 40, height: 30 });
    const square = (x: number, y: number) => x >= 10 && x < 20 && y >= 5 && y < 15;
    const result = diffPngs(png(40, 30), png(40, 30, square));
    expect(result.diffPixels).toBe(100);
    const diff = PNG.sync.read(result.png);
    const at = (x: number, y: number) => [...diff.data.subarray((y * 40 + x) * 4, (y * 40 + x) * 4 + 3)];
    expect(at(15, 10)).toEqual([255, 0, 0]);
    expect(at(0, 0)).not.toEqual([255, 0, 0]);
  });

  it('compares different sizes on the larger canvas, counting what only one covers as changed', () => {
    // 40×30 against 50×20: common 40×20 (identical), canvas 50×30 = 1500, so 1500 − 800 changed.
    const result = diffPngs(png(40, 30), png(50, 20));
    expect(result).toMatchObject({ width: 50, height: 30, diffPixels: 700 });
    const diff = PNG.sync.read(result.png);
    expect([diff.width, diff.height]).toEqual([50, 30]);
    expect([...diff.data.subarray(((25 * 50) + 45) * 4, ((25 * 50) + 45) * 4 + 4)]).toEqual([255, 0, 0, 255]);
  });
});
