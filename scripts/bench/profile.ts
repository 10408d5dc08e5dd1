/*
 * Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof DIR`): time by package (self),
 * and the top functions by self and by inclusive time.
 *   npx tsx scripts/bench/profile.ts FILE.cpuprofile [--top 25] [--match TEXT] [--callers TEXT]
 * --match keeps only functions whose name or location contains TEXT in the function lists;
 * --callers shows, for the functions matching TEXT, the call paths (4 frames up) their time comes from.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, match: { type: 'string' }, callers: { type: 'string' } },
});
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: profile.ts FILE.cpuprofile [--top N] [--match TEXT]\n');
  process.exit(1);
}
const top = Number(values.top);
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const root = process.cwd();

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

function location(n: ProfileNode): string {
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  if (!url) return '';
  const rel = url.startsWith(root) ? path.relative(root, url) : url;
  return `${rel}:${n.callFrame.lineNumber + 1}`;
}
function key(n: ProfileNode): string {
  const name = n.callFrame.functionName || '(anonymous)';
  const loc = location(n);
  return loc ? `${name}  ${loc}` : name;
}
function pkg(n: ProfileNode): string {
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  const name = n.callFrame.functionName;
  if (!url) return name === '(garbage collector)' ? '(gc)' : name === '(idle)' || name === '(program)' ? name : '(native)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return 'node:*';
  const rel = url.startsWith(root) ? path.relative(root, url) : url;
  return rel.split('/').slice(0, 2).join('/');
}

const self = new Map<string, number>();
const callers = new Map<string, number>();
const inclusive = new Map<string, number>();
const packages = new Map<string, number>();
let total = 0;
let idle = 0;
for (let k = 0; k < profile.samples.length; k++) {
  const dt = (profile.timeDeltas[k + 1] ?? profile.timeDeltas[k] ?? 0) / 1000;
  const leaf = byId.get(profile.samples[k]!)!;
  if (leaf.callFrame.functionName === '(idle)') {
    idle += dt;
    continue;
  }
  total += dt;
  self.set(key(leaf), (self.get(key(leaf)) ?? 0) + dt);
  packages.set(pkg(leaf), (packages.get(pkg(leaf)) ?? 0) + dt);
  if (values.callers) {
    // The innermost frame matching --callers, and the frames above it.
    let id: number | undefined = leaf.id;
    while (id !== undefined && !key(byId.get(id)!).includes(values.callers)) id = parent.get(id);
    if (id !== undefined) {
      const chain: string[] = [];
      for (let up: number | undefined = id; up !== undefined && chain.length < 5; up = parent.get(up)) chain.push(key(byId.get(up)!));
      const k = chain.join('\n        ← ');
      callers.set(k, (callers.get(k) ?? 0) + dt);
    }
  }
  const seen = new Set<string>();
  for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
    const kk = key(byId.get(id)!);
    if (seen.has(kk)) continue;
    seen.add(kk);
    inclusive.set(kk, (inclusive.get(kk) ?? 0) + dt);
  }
}

const pct = (ms: number) => `${((ms / total) * 100).toFixed(1).padStart(5)}%`;
const show = (title: string, m: Map<string, number>, n: number, filter = true) => {
  process.stdout.write(`\n${title}\n`);
  const entries = [...m].filter(([k]) => !filter || !values.match || k.includes(values.match)).sort((a, b) => b[1] - a[1]).slice(0, n);
  for (const [k, ms] of entries) process.stdout.write(`  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}\n`);
};
process.stdout.write(`${file}: ${(total / 1000).toFixed(2)} s busy, ${(idle / 1000).toFixed(2)} s idle\n`);
show('self time by package', packages, top, false);
show('self time by function', self, top);
show('inclusive time by function', inclusive, top);
if (values.callers) show(`call paths into "${values.callers}"`, callers, 12, false);
