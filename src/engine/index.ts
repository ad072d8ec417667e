import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { registerActivityHandlers } from './activities';
import { registerChildHandlers } from './children';
import { Engine } from './engine';
import type { EngineOptions, RunningEngine } from './interfaces';
import { Queries } from './queries';
import type { Lease } from '../store/db';
import { addServices, handlers } from './service';
import { registerWorkflowTaskHandlers, tasksOfOpenRun, timeoutsOfOpenRun } from './workflow-tasks';
import { registerWorkflowHandlers } from './workflows';

export type { EngineOptions, RunningEngine } from './interfaces';

/**
 * Starts the embedded Temporal-compatible engine on `host:port` (port 0: a free one) over a migrated
 * database. Open runs found in the database carry on where they were.
 *
 * @example
 * const engine = await startEngine({ db, port: 0 });
 * const connection = await Connection.connect({ address: engine.address });
 */
export async function startEngine(options: EngineOptions): Promise<RunningEngine> {
  const log = options.logger ?? pino({ level: 'warn' });
  // Task queues and the run cache live in this process: a second engine on the database would
  // dispatch the same tasks twice and overwrite what the first one writes.
  const lease = await options.db.lease('engine');
  if (!lease) throw new Error('Another Syncline engine is already running on this database: only one may (its task queues live in its memory). Stop it, or point TEMPORAL_ADDRESS at it instead of starting another.');
  try {
    return await serve(options, log, lease);
  } catch (err) {
    await lease.release();
    throw err;
  }
}

async function serve(options: EngineOptions, log: pino.Logger, lease: Lease): Promise<RunningEngine> {
  const engine = new Engine(options.db, log);
  registerWorkflowHandlers(engine);
  registerWorkflowTaskHandlers(engine);
  registerActivityHandlers(engine);
  registerChildHandlers(engine);
  const queries = new Queries(engine);
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 128 * 1024 * 1024, 'grpc.max_send_message_length': 128 * 1024 * 1024 });
  addServices(server, engine, handlers(engine, queries));
  const host = options.host ?? '127.0.0.1';
  // Bound before anything starts, so a port in use leaves nothing running behind.
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  const stop = async () => {
    await engine.close();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  };
  try {
    await engine.recover(tasksOfOpenRun, timeoutsOfOpenRun);
  } catch (err) {
    await stop();
    throw err;
  }
  engine.startRetention(10 * 60_000);
  return {
    address: `${host}:${port}`,
    port,
    async close() {
      await stop();
      await lease.release();
    },
  };
}
