/**
 * A Dockerfile read into stages of instructions (comments dropped, continuation lines joined, `${ARG}`s of the
 * global ARGs expanded in FROM). Used by test/deploy.test.ts and scripts/check-dockerfile.mjs.
 * @returns {{ name: string, from: string, instructions: { op: string, args: string }[] }[]}
 */
export function parseDockerfile(text) {
  const args = new Map();
  const stages = [];
  const lines = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const line of lines) {
    const [, op = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'ARG' && !stages.length) {
      const [k, v = ''] = rest.split('=');
      args.set(k, v);
      continue;
    }
    if (upper === 'FROM') {
      const [image = '', , name = `${stages.length}`] = rest.split(/\s+/);
      stages.push({ name, from: image.replace(/\$\{(\w+)\}/g, (_, k) => args.get(k) ?? ''), instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push({ op: upper, args: rest });
  }
  return stages;
}

/** `ENV A=1 B="two"` → { A: '1', B: 'two' } (the `ENV A 1` form too). */
export function parseEnv(args) {
  if (!args.includes('=')) {
    const [k, ...v] = args.split(/\s+/);
    return { [k]: v.join(' ') };
  }
  const out = {};
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)) out[m[1]] = m[3] ?? m[2];
  return out;
}
