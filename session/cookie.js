'use strict'
// The module path of express-session 1.x, kept for code that requires it: the Cookie class.
module.exports = require('../dist/index.js').Cookie
