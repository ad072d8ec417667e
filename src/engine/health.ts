import * as grpc from '@grpc/grpc-js';
import { Reader, Writer } from 'protobufjs/minimal';

/**
 * The standard gRPC health check (grpc.health.v1.Health/Check), which `temporal operator cluster
 * health`, load balancers and the Go SDK's CheckHealth call. Its two messages have one field each,
 * so they are encoded here rather than from a .proto.
 */

const SERVICE = 'grpc.health.v1.Health';
/** grpc.health.v1.HealthCheckResponse.ServingStatus */
const SERVING = 1;
const NOT_SERVING = 2;
/** Services that report a status: the server as a whole ("") and the two Temporal services. */
const KNOWN = new Set(['', 'temporal.api.workflowservice.v1.WorkflowService', 'temporal.api.operatorservice.v1.OperatorService']);

/** HealthCheckRequest { string service = 1; } */
function decodeRequest(buf: Buffer): { service: string } {
  const r = Reader.create(buf);
  let service = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) service = r.string();
    else r.skipType(tag & 7);
  }
  return { service };
}

/** HealthCheckResponse { ServingStatus status = 1; } */
function encodeResponse(res: { status: number }): Buffer {
  return Buffer.from(Writer.create().uint32(8).int32(res.status).finish());
}

/** `serving()`: whether the engine answers now (false while it waits for its database). */
export function addHealthService(server: grpc.Server, serving: () => boolean): void {
  const definition: grpc.ServiceDefinition = {
    Check: {
      path: `/${SERVICE}/Check`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (req: { service: string }) => Buffer.from(Writer.create().uint32(10).string(req.service).finish()),
      requestDeserialize: decodeRequest,
      responseSerialize: encodeResponse,
      responseDeserialize: (buf: Buffer) => ({ status: Reader.create(buf).skip(1).int32() }),
    },
  };
  server.addService(definition, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, { status: number }>, callback: grpc.sendUnaryData<{ status: number }>) => {
      if (!KNOWN.has(call.request.service)) return callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      callback(null, { status: serving() ? SERVING : NOT_SERVING });
    },
  });
}
