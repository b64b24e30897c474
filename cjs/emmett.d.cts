// Types of the CommonJS entry cjs/emmett.cjs: the same exports as the ES module annals/emmett.
export * from '../dist/emmett/index.js';
