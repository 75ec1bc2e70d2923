// osls loads plugins with require(); the plugin itself is TypeScript (tools/stacks/plugin.ts).
'use strict';
require('tsx/cjs/api').register();
module.exports = require('./plugin.ts').default;
