import { runFloor } from '../baselines/floor.js';

/*
 * The machine's own floor: what one core can do writing small messages to
 * many loopback sockets, one write per recipient (what any server fanning a
 * message out must at least do), and with eight messages coalesced per write
 * (what corking buys). Confab's deliveries per CPU-second are reported as a
 * ratio to these.
 */
export async function floorScenario(opts: { quick: boolean }) {
  const base = { connections: opts.quick ? 200 : 1_000, messageBytes: 256, seconds: opts.quick ? 1 : 5 };
  const plain = await runFloor(base);
  const batched = await runFloor({ ...base, batch: 8 });
  return { plain, batched };
}
