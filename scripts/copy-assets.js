// tsc does not copy non-TS files: the SQL migrations must sit beside the compiled store, the
// dashboard's script and stylesheet beside the compiled dashboard.
const fs = require('node:fs');
const path = require('node:path');
for (const dir of [['store', 'migrations'], ['dashboard', 'assets']]) {
  const from = path.join(__dirname, '..', 'src', ...dir);
  const to = path.join(__dirname, '..', 'dist', ...dir);
  fs.mkdirSync(to, { recursive: true });
  for (const file of fs.readdirSync(from)) fs.copyFileSync(path.join(from, file), path.join(to, file));
}
