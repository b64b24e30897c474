// Types of the CommonJS entry (cjs/index.cjs): the same exports as the ES module.
export * from '../dist/index.js';
