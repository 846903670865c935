export * from './schema.js';
export { checkConfig, loadConfig, parseConfig } from './load.js';
export { formatKeyPath, validateConfig } from './validate.js';
