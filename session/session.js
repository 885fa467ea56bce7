'use strict'
// The module path of express-session 1.x, kept for code that requires it: the Session class.
module.exports = require('../dist/index.js').Session
