// sonda plugin ABI: the C-compatible surface between the host and a plugin .so.
//
// Everything that crosses the boundary is plain data: C strings (UTF-8, JSON
// where structured), integers and function pointers. No exceptions, no RTTI,
// no std:: types cross it, so a plugin built with another standard library
// build or compiler flags still loads. Plugins normally include
// <sonda/plugin.hpp>, which wraps this in C++.
//
// Versioning: SONDA_ABI_VERSION changes whenever any struct here changes
// layout or meaning. A plugin exports its ABI version as a separate symbol
// (`sonda_abi_version`) that the host reads before touching anything else and
// refuses a mismatch naming both versions (as fio does with FIO_IOOPS_VERSION).
#ifndef SONDA_ABI_H_
#define SONDA_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SONDA_ABI_VERSION 1u
/* The revision of sonda_host a host fills in (sonda_host.abi_version):
   1 = through set_error; 2 = adds append_result. Fields are only ever
   appended; a plugin reads one only when the revision covers it. */
#define SONDA_HOST_REVISION 2u

/* Default member initialisers for C++ designated initialisers; no effect on
   layout, absent in C. */
#ifdef __cplusplus
#define SONDA_DEFAULT(x) = x
#else
#define SONDA_DEFAULT(x)
#endif

/// Exported symbol names (via BOOST_DLL_ALIAS).
#define SONDA_ABI_SYMBOL "sonda_abi_version"       /* const uint32_t */
#define SONDA_ENTRY_SYMBOL "sonda_plugin_entry"   /* const sonda_plugin* (*)(void) */

/// Parameter types. The host parses user text and hands the plugin a
/// normalised JSON value:
typedef enum sonda_param_type {
  SONDA_PARAM_BOOL = 0,     /* true/false */
  SONDA_PARAM_INT = 1,      /* integer */
  SONDA_PARAM_FLOAT = 2,    /* number */
  SONDA_PARAM_STRING = 3,   /* string */
  SONDA_PARAM_DURATION = 4, /* "500ms", "5s", "2m" -> integer nanoseconds */
  SONDA_PARAM_SIZE = 5,     /* "64B", "128KiB", "1MB" -> integer bytes */
  SONDA_PARAM_RATE = 6,     /* "100Mbit", "1Gbps", "50kpps", "unlimited" ->
                               {"bits_per_sec": N} | {"packets_per_sec": N} |
                               {"unlimited": true} */
  SONDA_PARAM_ENDPOINT = 7, /* "host:port", "[v6]:port" -> string, validated */
  SONDA_PARAM_STRING_LIST = 8, /* list of strings (a scalar becomes [scalar]) */
  SONDA_PARAM_INT_LIST = 9     /* list of integers */
} sonda_param_type;

/// One parameter of an action. Options are data: validation, `sonda plugins
/// describe` and the plugin README table all come from this.
typedef struct sonda_param_spec {
  const char* name SONDA_DEFAULT(NULL);
  sonda_param_type type SONDA_DEFAULT(SONDA_PARAM_STRING);
  /// Default as the user would write it in YAML ("5s", "64B", "true").
  /// NULL: no default; the parameter is absent from the JSON unless given,
  /// or is an error when `required` is set.
  const char* default_value SONDA_DEFAULT(NULL);
  int required SONDA_DEFAULT(0);
  /// Inclusive range on the normalised numeric value (ns, bytes, bits/s ...).
  /// Checked only when min < max.
  double min SONDA_DEFAULT(0);
  double max SONDA_DEFAULT(0);
  /// "a|b|c": allowed values of a string parameter; NULL for any.
  const char* choices SONDA_DEFAULT(NULL);
  /// Unit shown to people ("ns", "bytes", "bits/s"), may be NULL.
  const char* unit SONDA_DEFAULT(NULL);
  /// One line of documentation.
  const char* doc SONDA_DEFAULT(NULL);
} sonda_param_spec;

/// Action flags.
#define SONDA_ACTION_BACKGROUND 1u /* a server: runs until stopped, calls ready() */

typedef struct sonda_action_spec {
  const char* name SONDA_DEFAULT(NULL);
  const char* doc SONDA_DEFAULT(NULL);
  uint32_t flags SONDA_DEFAULT(0);
  const sonda_param_spec* params SONDA_DEFAULT(NULL);
  size_t param_count SONDA_DEFAULT(0);
} sonda_action_spec;

/// Log levels, matching spdlog's numbering.
enum {
  SONDA_LOG_TRACE = 0,
  SONDA_LOG_DEBUG = 1,
  SONDA_LOG_INFO = 2,
  SONDA_LOG_WARN = 3,
  SONDA_LOG_ERROR = 4
};

/// What the host hands a running action. Valid only during run(); all
/// callbacks are thread-safe and copy their arguments.
typedef struct sonda_host {
  /// SONDA_HOST_REVISION of the host that filled this in (1 in hosts older
  /// than the field): which of the fields below exist.
  uint32_t abi_version;
  void* ctx;
  /// Set to non-zero (read it atomically) when the action must stop: Ctrl-C,
  /// its group ended (background actions), or its deadline passed.
  const int* stop_flag;
  /// CLOCK_MONOTONIC nanoseconds by which the action must return; 0 = none.
  int64_t deadline_ns;
  /// The plugin's logger: goes to the host's spdlog logger named after it.
  void (*log)(void* ctx, int level, const char* msg);
  /// Background actions: now serving. JSON object describing it (e.g. the
  /// bound address and port); the runner waits for this before going on.
  void (*ready)(void* ctx, const char* json);
  /// An interval sample (JSON object), recorded in order with the step.
  void (*sample)(void* ctx, const char* json);
  /// The step's record (JSON object). Last call wins.
  void (*set_result)(void* ctx, const char* json);
  /// Why the step failed (one line). Return non-zero from run() too.
  void (*set_error)(void* ctx, const char* message);
  /// Revision 2 (read only when abi_version >= 2). Appends `size` bytes to
  /// the step's record text, for a record the plugin writes out piece by
  /// piece (megabytes of sockets): the host stores and checks each piece as
  /// it comes instead of after a whole copy exists. The record is every
  /// piece appended since the last set_result(), which replaces them; it
  /// must make one JSON object when run() returns.
  void (*append_result)(void* ctx, const char* data, size_t size);
} sonda_host;

/// A headline figure of an action: where its value sits in the record and
/// which way is better. `sonda compare`, reports and summaries read these
/// instead of guessing.
typedef struct sonda_figure_spec {
  const char* action SONDA_DEFAULT(NULL);  /* the action whose record has it */
  const char* path SONDA_DEFAULT(NULL);    /* record path: "receiver.loss_ratio", "latency.p99_ns" */
  const char* unit SONDA_DEFAULT(NULL);    /* "bit/s", "ns", "ratio", "packets/s" ... */
  const char* better SONDA_DEFAULT(NULL);  /* "higher" or "lower" */
  const char* doc SONDA_DEFAULT(NULL);     /* one line: what it is */
} sonda_figure_spec;

/// A parameter that was renamed: a scenario that still writes `old_name` is
/// refused with "'old_name' was renamed to 'new_name' (plugin.action)"
/// instead of a bare "unknown parameter". The plugin declares these, so the
/// host knows no plugin's history.
typedef struct sonda_rename_spec {
  const char* action SONDA_DEFAULT(NULL);    /* the action; NULL: every action that has new_name */
  const char* old_name SONDA_DEFAULT(NULL);  /* what scenarios used to write */
  const char* new_name SONDA_DEFAULT(NULL);  /* the parameter it is now */
} sonda_rename_spec;

/// Plugin capabilities.
#define SONDA_CAP_DISCOVERY 1u  /* reads host state */
#define SONDA_CAP_TRANSPORT 2u  /* generates traffic */
/* Answers who holds a port, which the runner asks for itself (a step that
   failed with addr_in_use, a spawn step's `ready:`): action "owner" taking
   {port, protocol} and returning {"owners": [{"pid", "process", ...}]}, and
   action "wait_for" taking {port, protocol, pid, timeout} and returning when
   a socket listens there. The loader refuses a plugin that claims it without
   both actions and their parameters. */
#define SONDA_CAP_PORT_OWNER 4u

typedef struct sonda_plugin {
  uint32_t abi_version; /* == SONDA_ABI_VERSION the plugin was built with */
  uint32_t struct_size; /* sizeof(sonda_plugin) */
  const char* name;
  const char* version;
  const char* description;
  uint64_t capabilities;
  const sonda_action_spec* actions;
  size_t action_count;
  /// Runs one action with normalised params (JSON object text). Returns 0 on
  /// success; non-zero after set_error() on failure. Never throws.
  int (*run)(const char* action, const char* params_json, const sonda_host* host);
  /// Added in ABI 1 after the fields above (read only when struct_size
  /// covers them: plugins built against the older header still load, with
  /// no figures). The actions' headline figures.
  const sonda_figure_spec* figures;
  size_t figure_count;
  /// Added in ABI 1 after the figures, the same way: read only when
  /// struct_size covers them. Renamed parameters (see sonda_rename_spec).
  const sonda_rename_spec* renames;
  size_t rename_count;
} sonda_plugin;

typedef const sonda_plugin* (*sonda_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif  // SONDA_ABI_H_
