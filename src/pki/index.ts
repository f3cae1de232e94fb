export * from './certificate.js';
export * from './thumbprint.js';
export * from './load.js';
