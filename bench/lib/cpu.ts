import fs from 'node:fs';

const TICKS_PER_MS = 100 / 1000; // Linux's USER_HZ

/** CPU milliseconds used so far by this process and its children still running. */
export function cpuMs(): number {
  const self = process.cpuUsage();
  let children = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command's closing parenthesis: state, ppid, ..., utime (14th field), stime (15th).
      const fields = fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(fields[1]) === process.pid) children += (Number(fields[11]) + Number(fields[12])) / TICKS_PER_MS;
    } catch {
      // The process ended meanwhile.
    }
  }
  return (self.user + self.system) / 1000 + children;
}
