/**
 * Lambda's asynchronous invocation, as S3 event notifications use it: the event is retried twice more
 * when the function throws, then handed to the on-failure destination as a destination record (the shape
 * AWS documents: requestContext, requestPayload = the original event, responsePayload = the error).
 */
export type AsyncHandler = (event: unknown, context: unknown) => Promise<unknown>;

export interface DestinationRecord {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; condition: 'RetriesExhausted'; approximateInvokeCount: number };
  requestPayload: unknown;
  responseContext: { statusCode: 200; executedVersion: '$LATEST'; functionError: 'Unhandled' };
  responsePayload: { errorType: string; errorMessage: string };
}

export interface AsyncInvocation {
  ok: boolean;
  attempts: number;
  errors: string[];
  result?: unknown;
}

export function lambdaContext(functionName = 'replicate', remainingMs = 900_000) {
  const started = Date.now();
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: `req-${Math.random().toString(16).slice(2)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, remainingMs - (Date.now() - started)),
    done() {},
    fail() {},
    succeed() {},
  };
}

export async function invokeAsync(
  handler: AsyncHandler,
  event: unknown,
  options: {
    /** 1 + Lambda's 2 retries. */
    attempts?: number;
    /** Called before each retry (Lambda waits 1, then 2 minutes; tests change the world here instead). */
    beforeRetry?: (attempt: number) => Promise<void> | void;
    onFailure: (record: DestinationRecord) => Promise<void>;
  },
): Promise<AsyncInvocation> {
  const attempts = options.attempts ?? 3;
  const errors: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await options.beforeRetry?.(attempt);
    try {
      const result = await handler(event, lambdaContext());
      return { ok: true, attempts: attempt, errors, result };
    } catch (error) {
      errors.push(`${(error as Error).name}: ${(error as Error).message}`);
      if (attempt === attempts) {
        await options.onFailure({
          version: '1.0',
          timestamp: new Date().toISOString(),
          requestContext: {
            requestId: `req-${Math.random().toString(16).slice(2)}`,
            functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:replicate:$LATEST',
            condition: 'RetriesExhausted',
            approximateInvokeCount: attempts,
          },
          requestPayload: event,
          responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
          responsePayload: { errorType: (error as Error).name, errorMessage: (error as Error).message },
        });
      }
    }
  }
  return { ok: false, attempts, errors };
}
