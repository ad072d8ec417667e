// tsc does not copy non-TS files: the SQL migrations must sit beside the compiled store.
const fs = require('node:fs');
const path = require('node:path');
const from = path.join(__dirname, '..', 'src', 'store', 'migrations');
const to = path.join(__dirname, '..', 'dist', 'store', 'migrations');
fs.mkdirSync(to, { recursive: true });
for (const file of fs.readdirSync(from)) fs.copyFileSync(path.join(from, file), path.join(to, file));
