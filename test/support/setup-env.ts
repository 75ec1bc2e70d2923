// Tests run on this machine's Node 20 (Lambda runs 22): the SDK's notice about its 2027 releases is known.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
