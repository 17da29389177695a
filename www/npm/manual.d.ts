export * from './partway-upload.js';
