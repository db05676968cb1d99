// GitHub webhooks → task workflow signals. See server.ts (the endpoint) and events.ts (the mapping).
export { routeGithubEvent, taskIdForBranch, SIGNALLED_EVENTS, type ForgeEvent, type SignalTarget, type WebhookRoute } from './events.ts';
export { createWebhookServer, verifySignature, WEBHOOK_PATH, DEFAULT_MAX_BODY_BYTES, type IntakeFn, type SignalFn, type WebhookServer, type WebhookServerOptions } from './server.ts';
export { temporalIntake, temporalSignal, temporalTasksOf } from './temporal.ts';
