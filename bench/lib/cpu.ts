import fs from 'node:fs';
import net from 'node:net';

const TICKS_PER_MS = 100 / 1000; // Linux's USER_HZ

/** CPU milliseconds used so far by this process and its children still running. */
export function cpuMs(): number {
  const self = process.cpuUsage();
  return (self.user + self.system) / 1000 + processesCpuMs((_command, ppid) => ppid === process.pid);
}

/** CPU milliseconds used so far by the Postgres processes running on this machine (0 when there are none). */
export function postgresCpuMs(): number {
  return processesCpuMs((command) => command === 'postgres');
}

/** CPU milliseconds of the running processes that `which` picks by command name and parent pid. */
function processesCpuMs(which: (command: string, ppid: number) => boolean): number {
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (command) state ppid ...": utime and stime are the 14th and 15th fields.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (which(command, Number(fields[1]))) total += (Number(fields[11]) + Number(fields[12])) / TICKS_PER_MS;
    } catch {
      // The process ended meanwhile.
    }
  }
  return total;
}

/**
 * CPU microseconds this process spends on one round trip of a small message over loopback TCP
 * (it runs both ends): a reference for how dear system calls and wake-ups are on this machine at
 * the moment. They are most of a sync run's cost, and on a shared VM their price moves with the
 * hour: figures measured at different times compare only next to it. Measure it while the process
 * is otherwise idle (its CPU is counted whole).
 */
export async function loopbackRoundTripCpuUs(roundTrips = 5000): Promise<number> {
  const server = net.createServer((socket) => socket.on('data', (chunk) => socket.write(chunk)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once('connect', resolve));
  const pingPong = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const answered = new Promise((resolve) => socket.once('data', resolve));
      socket.write('ping');
      await answered;
    }
  };
  await pingPong(1000); // warmed up before it is counted
  const before = process.cpuUsage();
  await pingPong(roundTrips);
  const spent = process.cpuUsage(before);
  socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  return (spent.user + spent.system) / roundTrips;
}
