export * from './client-events.js';
export * from './common.js';
export * from './keys.js';
export * from './limits.js';
export * from './profile.js';
export * from './server-events.js';
