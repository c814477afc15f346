import { readFileSync } from 'node:fs';

/*
 * Prints where a V8 CPU profile (.cpuprofile) spent its time: self time per
 * function and per file, largest first. Usage:
 *   node bench/profile-summary.ts <file.cpuprofile> [top] [--last S | --window A-B] [--timeline] [--stacks NAME]
 * --last S      keeps only the final S seconds (e.g. a reconnect storm after a long set-up)
 * --window A-B  keeps seconds A to B from the profile's start
 * --timeline    first prints how busy (not idle) each second of the profile was,
 *               to find the measured window among set-up and shutdown
 * --stacks NAME prints the call stacks that spent the self time of the
 *               functions whose name is NAME (e.g. writev: who writes)
 */

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const args = process.argv.slice(2);
function option(name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : undefined;
}
function flag(name: string): boolean {
  const at = args.indexOf(name);
  if (at >= 0) args.splice(at, 1);
  return at >= 0;
}
const last = option('--last');
const window = option('--window');
const stacksOf = option('--stacks');
const timeline = flag('--timeline');
const [file, topArg] = args;
if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top] [--last S | --window A-B] [--timeline] [--stacks NAME]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const top = Number(topArg ?? 30);

const times: number[] = [];
let t = 0;
for (const d of profile.timeDeltas) times.push((t += d));
const [from, to] = window ? window.split('-').map((s) => Number(s) * 1e6) : [last ? t - Number(last) * 1e6 : 0, Infinity];
if (from === undefined || to === undefined || Number.isNaN(from) || Number.isNaN(to)) throw new Error(`--window wants A-B in seconds, got ${window}`);

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const isIdle = (id: number) => nodes.get(id)?.callFrame.functionName === '(idle)';

if (timeline) {
  const seconds: { busy: number; all: number }[] = [];
  profile.samples.forEach((id, i) => {
    const s = (seconds[Math.floor(times[i]! / 1e6)] ??= { busy: 0, all: 0 });
    const d = profile.timeDeltas[i] ?? 0;
    s.all += d;
    if (!isIdle(id)) s.busy += d;
  });
  console.log('busy % by second since the start');
  console.log(seconds.map((s, i) => `${i}:${s ? Math.round((s.busy / s.all) * 100) : 0}`).join(' '));
}

const self = new Map<number, number>();
profile.samples.forEach((id, i) => {
  if (times[i]! >= from && times[i]! < to) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
const busy = [...self].filter(([id]) => !isIdle(id)).reduce((a, [, us]) => a + us, 0);

const where = (node: Node) => node.callFrame.url.replace(/^.*\/node_modules\//, '~/').replace(/^file:\/\/.*\/packages\//, '') || '(native)';
const label = (node: Node) => `${node.callFrame.functionName || '(anonymous)'} ${where(node)}:${node.callFrame.lineNumber + 1}`;

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
const stacks = new Map<string, number>();
for (const node of profile.nodes) {
  const us = self.get(node.id) ?? 0;
  if (!us) continue;
  const fn = label(node);
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  const f = where(node).replace(/:\d+$/, '');
  byFile.set(f, (byFile.get(f) ?? 0) + us);
  if (stacksOf && node.callFrame.functionName === stacksOf) {
    const frames: string[] = [];
    for (let id = parent.get(node.id); id !== undefined && frames.length < 12; id = parent.get(id)) {
      const p = nodes.get(id)!;
      if (p.callFrame.functionName !== '(root)') frames.push(label(p));
    }
    const key = frames.join('\n        ← ');
    stacks.set(key, (stacks.get(key) ?? 0) + us);
  }
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
};
console.log(`total ${(total / 1e6).toFixed(2)} s sampled, ${((busy / Math.max(1, total)) * 100).toFixed(1)} % busy`);
show('self time by function', byFunction);
show('self time by file', byFile);
if (stacksOf) show(`stacks of ${stacksOf} (share of all samples)`, stacks);
