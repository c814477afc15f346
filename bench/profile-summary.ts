import { readFileSync } from 'node:fs';

/*
 * Prints where a V8 CPU profile (.cpuprofile) spent its time: self time per
 * function and per file, largest first. Usage:
 *   node bench/profile-summary.ts <file.cpuprofile> [top] [--last S]
 * --last S keeps only the final S seconds of the profile (e.g. a reconnect
 * storm after a long set-up phase).
 */

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const args = process.argv.slice(2);
const lastAt = args.indexOf('--last');
const lastUs = lastAt >= 0 ? Number(args.splice(lastAt, 2)[1]) * 1e6 : Infinity;
const [file, topArg] = args;
if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top] [--last S]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const top = Number(topArg ?? 30);

const times: number[] = [];
let t = 0;
for (const d of profile.timeDeltas) times.push((t += d));
const from = t - lastUs;
const self = new Map<number, number>();
profile.samples.forEach((id, i) => {
  if (times[i]! >= from) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const node of profile.nodes) {
  const us = self.get(node.id) ?? 0;
  if (!us) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*\/node_modules\//, '~/').replace(/^file:\/\/.*\/packages\//, '') || '(native)';
  const fn = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  const f = where.replace(/:\d+$/, '');
  byFile.set(f, (byFile.get(f) ?? 0) + us);
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
};
console.log(`total ${(total / 1e6).toFixed(2)} s sampled`);
show('self time by function', byFunction);
show('self time by file', byFile);
