#!/usr/bin/env node
// Runs the Dockerfile's steps without Docker (CI has no Docker engine): each stage in a clean folder
// standing for its WORKDIR, COPY from this checkout or from an earlier stage's folder, RUN with the
// stage's ENV and the local Node (which must be the base image's major version). Then the final
// stage's package must answer `npm run keys` and start with `node dist/cli/index.js start`.
//
//   node scripts/check-dockerfile.js [Dockerfile]
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const dockerfile = path.resolve(process.argv[2] ?? path.join(ROOT, 'Dockerfile'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-dockerfile-'));

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text) {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest };
    });
}

const stages = new Map(); // name -> { dir, workdir }
let stage;
let cmd;
const resolveIn = (s, p) => path.join(s.dir, path.posix.relative(s.workdir, path.posix.resolve(s.workdir, p)));

for (const { op, args } of instructions(fs.readFileSync(dockerfile, 'utf8'))) {
  if (op === 'FROM') {
    const major = /^node:(\d+)/.exec(args[0])?.[1];
    if (!major) throw new Error(`unsupported base image ${args[0]}: only node:<major> images can be stood in for by the local Node`);
    if (process.versions.node.split('.')[0] !== major) throw new Error(`the base image is ${args[0]}, this Node is ${process.version}`);
    const name = args[2] ?? `stage${stages.size}`;
    stage = { dir: path.join(work, name), workdir: '/', env: { ...process.env } };
    fs.mkdirSync(stage.dir);
    stages.set(name, stage);
    console.log(`== stage ${name} (${args[0]} -> Node ${process.version}) in ${stage.dir}`);
  } else if (op === 'WORKDIR') {
    stage.workdir = path.posix.resolve(stage.workdir, args[0]);
  } else if (op === 'ENV') {
    const [name, ...value] = args.join(' ').split('=');
    stage.env[name] = value.join('=');
  } else if (op === 'COPY') {
    const from = args[0].startsWith('--from=') ? stages.get(args.shift().slice('--from='.length)) : undefined;
    const dest = resolveIn(stage, args.pop());
    for (const source of args) {
      const src = from ? resolveIn(from, source) : path.join(ROOT, source);
      const target = args.length > 1 || dest.endsWith(path.sep) || fs.existsSync(dest) ? path.join(dest, path.basename(src)) : dest;
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.cpSync(src, target, { recursive: true, verbatimSymlinks: true });
    }
  } else if (op === 'RUN') {
    console.log(`$ ${args.join(' ')}`);
    execFileSync('sh', ['-c', args.join(' ')], { cwd: resolveIn(stage, '.'), env: stage.env, stdio: 'inherit' });
  } else if (op === 'CMD') {
    cmd = JSON.parse(args.join(' '));
  } else if (!['EXPOSE', 'USER', 'LABEL', 'ARG'].includes(op)) {
    throw new Error(`unsupported instruction ${op}`);
  }
}

/** The final stage's package: `npm run keys` prints the keys, CMD serves /health. */
async function smoke() {
  const env = { ...stage.env, SYNCLINE_DATA_DIR: path.join(work, 'data') };
  delete env.DATABASE_URL;
  const cwd = resolveIn(stage, '.');
  const keys = execFileSync('npm', ['run', '--silent', 'keys'], { cwd, env, encoding: 'utf8' });
  // The first open of a data directory also logs that it generated an encryption key.
  if (!/^dev\tsk_\S+\nprod\tsk_\S+\n$/m.test(keys)) throw new Error(`npm run keys printed ${JSON.stringify(keys)}`);
  console.log('npm run keys: dev and prod keys printed');
  const port = String(30000 + Math.floor(Math.random() * 20000));
  const server = spawn(cmd[0], cmd.slice(1), { cwd, env: { ...env, PORT: port, ENGINE_PORT: String(Number(port) + 1), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (d) => ((out += d), /running at/.test(out) && resolve()));
      server.once('exit', (code) => reject(new Error(`${cmd.join(' ')} exited ${code}: ${out}`)));
    });
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    if (res.status !== 200) throw new Error(`/health answered ${res.status}`);
    console.log(`${cmd.join(' ')}: /health 200`);
  } finally {
    server.kill('SIGTERM');
  }
}

smoke()
  .then(() => {
    fs.rmSync(work, { recursive: true, force: true });
    console.log('Dockerfile steps: ok');
  })
  .catch((err) => {
    console.error(`Dockerfile steps: ${err.message} (left in ${work})`);
    process.exit(1);
  });
