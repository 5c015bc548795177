// The retry-record and dead-letter formats moved to common/ so the gateway's subscription replay
// writes exactly what the worker reads; this module keeps the consumers' import paths.
export * from '../../common/delivery-records.js';
