import type { Target } from './driver.js';

/** Benchmark targets by name; each module under drivers/ exports `target` and `driver`. */
export const TARGET_NAMES = ['confab', 'ws-relay', 'socketio'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export async function loadTarget(name: string): Promise<Target> {
  if (!(TARGET_NAMES as readonly string[]).includes(name)) throw new Error(`unknown target ${name}; one of ${TARGET_NAMES.join(', ')}`);
  const mod = (await import(`./drivers/${name}.js`)) as { target: Target };
  return mod.target;
}
