/**
 * Summarises a V8 CPU profile (BENCH_PROFILE=<dir> writes one per Chronos process and scenario, with this
 * summary beside it; `node .chronos/bench-build/bench/profile-summary.js <file.cpuprofile> [top=40]` for any
 * other, `node --cpu-prof` ones included): the busy time (all but idle), then the share of busy time of each
 * package or source file and of each function, by self time (spent in the function itself) and inclusive
 * time (in it and what it called; each sample counted once per function however deep the recursion). The
 * summaries kept in bench/profiles/ are its output.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where code lives: a package, a file of Chronos, Node's internals, or V8's pseudo-frames. */
function place(url: string, name: string): string {
  if (!url) return `(${name || 'native'})`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url;
  const src = /\/((?:src|bench)\/.*)$/.exec(url);
  return src ? src[1]! : url;
}
const functionKey = (node: ProfileNode) => `${node.callFrame.functionName || '(anonymous)'} ${place(node.callFrame.url, node.callFrame.functionName)}:${node.callFrame.lineNumber + 1}`;
const placeKey = (node: ProfileNode) => place(node.callFrame.url, node.callFrame.functionName);
const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);

export function summarizeProfile(file: string, top = 40): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const selfByFunction = new Map<string, number>();
  const selfByPlace = new Map<string, number>();
  const inclusiveByFunction = new Map<string, number>();
  const inclusiveByPlace = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id)!;
    total += us;
    if (node.callFrame.functionName === '(idle)') {
      idle += us;
      return;
    }
    add(selfByFunction, functionKey(node), us);
    add(selfByPlace, placeKey(node), us);
    const seenFunctions = new Set<string>();
    const seenPlaces = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!;
      if (frame.callFrame.functionName === '(root)') break;
      seenFunctions.add(functionKey(frame));
      seenPlaces.add(placeKey(frame));
    }
    for (const key of seenFunctions) add(inclusiveByFunction, key, us);
    for (const key of seenPlaces) add(inclusiveByPlace, key, us);
  });

  const busy = total - idle;
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)} %`;
  const ms = (us: number) => `${Math.round(us / 1000).toLocaleString('en-US').padStart(8)} ms`;
  const out = [file, `sampled ${ms(total).trim()}, busy ${ms(busy).trim()} (${((busy / total) * 100).toFixed(1)} % of the time), idle ${ms(idle).trim()}; shares below are of busy time`];
  const table = (title: string, map: Map<string, number>, n: number) => {
    out.push('', title);
    for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) out.push(`${pct(us)} ${ms(us)}  ${key}`);
  };
  table('Self time by package or file', selfByPlace, 25);
  table('Inclusive time by package or file', inclusiveByPlace, 25);
  table('Self time by function', selfByFunction, top);
  table('Inclusive time by function', inclusiveByFunction, top);
  return `${out.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: profile-summary <file.cpuprofile> [top]');
    process.exit(2);
  }
  process.stdout.write(summarizeProfile(file, Number(top ?? 40)));
}
