export * from './limits.js';
export * from './errors.js';
export * from './close-codes.js';
export * from './text.js';
export * from './models.js';
export * from './frames.js';
export * from './http.js';
export * from './push.js';
