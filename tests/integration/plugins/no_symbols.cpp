// A valid shared library that is not a sonda plugin: no sonda_abi_version
// or sonda_plugin_entry export.
extern "C" __attribute__((visibility("default"))) int some_unrelated_function() { return 42; }
