'use strict';
// The CommonJS entry of annals/emmett: require('annals/emmett'). Like cjs/index.cjs, it loads the
// ES module through require(), which Node.js 20.19+ and 22.12+ can do.
try {
  module.exports = require('../dist/emmett/index.js');
} catch (err) {
  if (err && (err.code === 'ERR_REQUIRE_ESM' || err.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
    const e = new Error(
      `annals/emmett is an ES module, and this Node.js (${process.version}) cannot require() it: ` +
        "load it with `const { getAnnalsEventStore } = await import('annals/emmett')`, or use Node.js 20.19+ or 22.12+",
    );
    e.code = err.code;
    throw e;
  }
  throw err;
}
