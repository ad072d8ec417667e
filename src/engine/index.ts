import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { registerActivityHandlers } from './activities';
import { registerChildHandlers } from './children';
import { Engine } from './engine';
import type { EngineOptions, RunningEngine } from './interfaces';
import { Queries } from './queries';
import { addServices, handlers } from './service';
import { registerWorkflowTaskHandlers, tasksOfOpenRun } from './workflow-tasks';
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
  const engine = new Engine(options.db, log);
  registerWorkflowHandlers(engine);
  registerWorkflowTaskHandlers(engine);
  registerActivityHandlers(engine);
  registerChildHandlers(engine);
  const queries = new Queries(engine);
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 128 * 1024 * 1024, 'grpc.max_send_message_length': 128 * 1024 * 1024 });
  addServices(server, engine, handlers(engine, queries));
  await engine.recover(tasksOfOpenRun);
  engine.startRetention(10 * 60_000);
  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    address: `${host}:${port}`,
    port,
    async close() {
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
    },
  };
}
