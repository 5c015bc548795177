import { swapKafkajsMethod } from './kafkajs-module.js';
import { schedulePendingCheck } from './pending-check.js';

export const requestQueueModule = 'kafkajs/src/network/requestQueue/index.js';
export const pendingCheckMethod = 'scheduleCheckPendingRequests';

/**
 * Makes every kafkajs connection arm its pending-request timer only when a request waits for it
 * (pending-check.ts). kafkajs takes the RequestQueue class with `require` when the package itself
 * is loaded (kafkajs → cluster → connection pool → connection → request queue), before Sluice can
 * run anything, so the method is replaced on the class's prototype rather than the module in the
 * require cache: that reaches every connection whatever was loaded first.
 */
export function installPendingCheck(): void {
  swapKafkajsMethod({
    module: requestQueueModule,
    method: pendingCheckMethod,
    replace: () => schedulePendingCheck as (...args: never[]) => unknown,
  });
}
