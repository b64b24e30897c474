'use strict';
// The CommonJS entry: require('annals'). The package is an ES module without top-level await, so
// Node.js 20.19+ and 22.12+ load it through require() and return its exports. An older Node.js
// cannot: it gets an error that says how to load it instead.
try {
  module.exports = require('../dist/index.js');
} catch (err) {
  if (err && (err.code === 'ERR_REQUIRE_ESM' || err.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
    const e = new Error(
      `annals is an ES module, and this Node.js (${process.version}) cannot require() it: ` +
        "load it with `const { EventStore } = await import('annals')`, or use Node.js 20.19+ or 22.12+",
    );
    e.code = err.code;
    throw e;
  }
  throw err;
}
