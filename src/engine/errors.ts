import { Metadata, status } from '@grpc/grpc-js';
import { encode, T, type, type Obj } from './proto';

/**
 * An error answered to the gRPC caller with this status code. `detail` becomes a
 * `google.rpc.Status` detail (grpc-status-details-bin), which the SDK decodes into typed errors.
 */
export class EngineError extends Error {
  constructor(
    readonly code: status,
    message: string,
    readonly detail?: { type: string; value: Obj },
  ) {
    super(message);
  }

  metadata(): Metadata {
    const md = new Metadata();
    if (this.detail) {
      const details = [{ type_url: `type.googleapis.com/${this.detail.type}`, value: encode(type(this.detail.type), this.detail.value) }];
      md.set('grpc-status-details-bin', encode(T.Status, { code: this.code, message: this.message, details }));
    }
    return md;
  }
}

export const notFound = (message: string) =>
  new EngineError(status.NOT_FOUND, message, { type: 'temporal.api.errordetails.v1.NotFoundFailure', value: {} });

export const invalidArgument = (message: string) => new EngineError(status.INVALID_ARGUMENT, message);

export const failedPrecondition = (message: string) => new EngineError(status.FAILED_PRECONDITION, message);

export const unimplemented = (method: string) => new EngineError(status.UNIMPLEMENTED, `${method} is not supported by the embedded engine`);

export const namespaceNotFound = (namespace: string) =>
  new EngineError(status.NOT_FOUND, `Namespace ${namespace} is not found.`, {
    type: 'temporal.api.errordetails.v1.NamespaceNotFoundFailure',
    value: { namespace },
  });

export const alreadyStarted = (requestId: string, runId: string) =>
  new EngineError(status.ALREADY_EXISTS, 'Workflow execution is already running', {
    type: 'temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure',
    value: { startRequestId: requestId, runId },
  });

export const workflowNotFound = () => notFound('workflow execution not found');
const CLOSED = 'workflow execution already completed';
export const workflowClosed = () => notFound(CLOSED);
/** Whether `err` says the run addressed had closed (completed, continued as new, ...) by the time it was applied to. */
export const isWorkflowClosed = (err: unknown) => err instanceof EngineError && err.code === status.NOT_FOUND && err.message === CLOSED;
export const taskNotFound = (what: string) => notFound(`${what} not found`);
