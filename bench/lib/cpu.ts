import fs from 'node:fs';
import net from 'node:net';

const TICKS_PER_MS = 100 / 1000; // Linux's USER_HZ

/**
 * CPU milliseconds used so far by this process and its children: those running, and those that
 * ended (once reaped, the kernel adds them to ours).
 */
export function cpuMs(): number {
  const self = process.cpuUsage();
  const children = processes().filter((p) => p.ppid === process.pid);
  return (self.user + self.system) / 1000 + (readStat(String(process.pid))?.reapedCpuMs ?? 0) + sum(children.map((p) => p.cpuMs));
}

/** CPU milliseconds used so far by one process (0 once it has ended). */
export function processCpuMs(pid: number): number {
  return readStat(String(pid))?.cpuMs ?? 0;
}

/**
 * CPU milliseconds used so far by the Postgres processes on this machine (0 when there are none),
 * including the backends that ended: a pool closes idle connections, and a sum over the running
 * ones alone would lose their CPU (or go backwards). The postmaster reaps them, so it holds theirs.
 */
export function postgresCpuMs(): number {
  const postgres = processes().filter((p) => p.command === 'postgres');
  const pids = new Set(postgres.map((p) => p.pid));
  return sum(postgres.map((p) => p.cpuMs + (pids.has(p.ppid) ? 0 : p.reapedCpuMs)));
}

interface ProcessCpu {
  pid: number;
  ppid: number;
  command: string;
  /** Its own CPU so far. */
  cpuMs: number;
  /** CPU of its children that ended and that it waited for. */
  reapedCpuMs: number;
}

function processes(): ProcessCpu[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => readStat(pid) ?? []);
}

/** /proc/PID/stat: "pid (command) state ppid ...", utime, stime, cutime and cstime are its 14th to 17th fields. */
function readStat(pid: string): ProcessCpu | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // it ended meanwhile
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return {
    pid: Number(pid),
    ppid: fields[1]!,
    command: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    cpuMs: (fields[11]! + fields[12]!) / TICKS_PER_MS,
    reapedCpuMs: (fields[13]! + fields[14]!) / TICKS_PER_MS,
  };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

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
