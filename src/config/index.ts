export * from './schema.js';
export { loadConfig, parseConfig } from './load.js';
export { formatKeyPath, validateConfig } from './validate.js';
