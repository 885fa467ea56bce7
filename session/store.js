'use strict'
// The module path of express-session 1.x, kept for code that requires it: the Store class.
module.exports = require('../dist/index.js').Store
