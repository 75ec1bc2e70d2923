// osls loads plugins with require(); the plugin itself is TypeScript (tools/deploy/plugin.ts).
'use strict';
require('tsx/cjs/api').register();
module.exports = require('./plugin.ts').default;
