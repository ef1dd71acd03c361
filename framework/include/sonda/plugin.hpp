// The C++ side of the sonda plugin contract: what a plugin author includes.
//
//   #include <sonda/plugin.hpp>
//
//   struct ScanOptions {
//     std::optional<std::string> interface;
//     bool include_down;
//   };
//   inline constexpr auto kScanParams = sonda::params<ScanOptions>(
//       sonda::param<&ScanOptions::interface>(
//           {.name = "interface", .type = SONDA_PARAM_STRING, .doc = "only this one"}),
//       sonda::param<&ScanOptions::include_down>({.name = "include_down", .type = SONDA_PARAM_BOOL,
//                                                 .default_value = "true", .doc = "..."}));
//   nlohmann::json scan(const ScanOptions& options, sonda::Context& ctx);
//   const sonda::Action kActions[] = {
//       sonda::action<kScanParams, &scan>({.name = "scan", .doc = "List interfaces"})};
//   SONDA_PLUGIN("iface_scanner", "0.1.0", "Interfaces and counters",
//                SONDA_CAP_DISCOVERY, kActions)
//
// One table (sonda/params.hpp) is the schema the host validates from, what
// `sonda plugins describe` and the README show, and the decoder that fills
// the options struct. An action function receives its options and returns
// the step's record. To fail the step it throws (sonda::StepError or any
// std::exception); the generated dispatcher catches everything, so nothing
// escapes the library.
//
// Actions written against the raw JSON still work, and mix with bound ones
// in one table:
//   static nlohmann::json hello(const nlohmann::json& params, sonda::Context& ctx);
//   {{.name = "hello", .params = kHelloParams, .param_count = std::size(kHelloParams)}, &hello}
#ifndef SONDA_PLUGIN_HPP_
#define SONDA_PLUGIN_HPP_

#include <sonda/abi.h>

#include <boost/dll/alias.hpp>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sonda {

using json = nlohmann::json;

/// A failure to report as the step's one-line reason. `kind` is a stable
/// machine-readable tag the runner may act on ("addr_in_use" makes it ask
/// proc_scanner who holds the port); `details` is merged into the record.
class StepError : public std::runtime_error {
 public:
  explicit StepError(const std::string& what, std::string kind = "error",
                     json details = json::object())
      : std::runtime_error(what), kind_(std::move(kind)), details_(std::move(details)) {}
  const std::string& kind() const { return kind_; }
  const json& details() const { return details_; }

 private:
  std::string kind_;
  json details_;
};

/// Fails the step because parameter `name` is unusable: kind "invalid_param"
/// (the one kind every plugin uses for this, docs/PARAMETERS.md), message
/// "parameter 'name': why", and the record's error.parameter names it.
[[noreturn]] inline void invalid_param(const std::string& name, const std::string& why) {
  throw StepError("parameter '" + name + "': " + why, "invalid_param",
                  json{{"error", {{"parameter", name}}}});
}

}  // namespace sonda

#include <sonda/params.hpp>

namespace sonda {

/// The running action's view of the host. Not copyable; lives for one run().
class Context {
 public:
  explicit Context(const sonda_host* host) : host_(host) {}
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  /// True once the action must wrap up (Ctrl-C, group end, or deadline).
  bool should_stop() const {
    if (host_->stop_flag != nullptr && __atomic_load_n(host_->stop_flag, __ATOMIC_RELAXED) != 0) {
      return true;
    }
    return host_->deadline_ns != 0 && now_ns() >= host_->deadline_ns;
  }
  /// CLOCK_MONOTONIC deadline in ns, 0 when none.
  int64_t deadline_ns() const { return host_->deadline_ns; }

  void log(int level, const std::string& msg) const { host_->log(host_->ctx, level, msg.c_str()); }
  void debug(const std::string& msg) const { log(SONDA_LOG_DEBUG, msg); }
  void info(const std::string& msg) const { log(SONDA_LOG_INFO, msg); }
  void warn(const std::string& msg) const { log(SONDA_LOG_WARN, msg); }

  /// Background actions: announce that the service is up (e.g. bound port).
  void ready(const json& info) const { host_->ready(host_->ctx, info.dump().c_str()); }
  /// Record an interval sample.
  void sample(const json& s) const { host_->sample(host_->ctx, s.dump().c_str()); }

  /// Hands over the step's record as ready JSON text (one object), to be
  /// used instead of the json the action returns. For records too large to
  /// build as a DOM cheaply — a socket table of tens of thousands of
  /// entries — that the plugin can write directly.
  void set_record_text(std::string text) {
    record_text_ = std::move(text);
    appending_ = false;
    streamed_ = false;
  }
  /// Appends a piece of the record text, the same way: the record is the
  /// concatenation of the pieces appended since the last set_record_text()
  /// (which they replace). A host that takes pieces (sonda_host
  /// revision 2) stores and checks each as it comes; an older one gets the
  /// whole text at the end.
  void append_record_text(std::string_view piece) {
    if (!appending_) {
      record_text_.clear();
      appending_ = true;
    }
    if (host_->abi_version >= 2 && host_->append_result != nullptr) {
      streamed_ = true;
      host_->append_result(host_->ctx, piece.data(), piece.size());
    } else {
      record_text_.append(piece);
    }
  }
  /// The text given to set_record_text(), empty when none.
  const std::string& record_text() const { return record_text_; }
  /// The record went to the host piece by piece (append_record_text).
  bool record_streamed() const { return streamed_; }

  /// CLOCK_MONOTONIC now, nanoseconds.
  static int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }

 private:
  const sonda_host* host_;
  std::string record_text_;
  bool appending_ = false;
  bool streamed_ = false;
};

using ActionFn = json (*)(const json& params, Context& ctx);

/// An action: its schema plus the function that runs it.
struct Action {
  sonda_action_spec spec;
  ActionFn fn;
};

/// The ActionFn of a bound action: binds the parameters with `Table`, then
/// calls `Fn(options, ctx)`. Tests and drivers call it with partial JSON.
template <const auto& Table, auto Fn>
json bound(const json& params, Context& ctx) {
  using Options = typename std::remove_cvref_t<decltype(Table)>::options_type;
  static_assert(std::is_invocable_r_v<json, decltype(Fn), const Options&, Context&>,
                "a bound action is json fn(const Options&, sonda::Context&)");
  return Fn(Table.bind(params), ctx);
}

/// An action whose parameters are the table `Table` (sonda::params) and whose
/// function takes the bound options. `spec` gives name, doc and flags; its
/// params come from the table.
template <const auto& Table, auto Fn>
consteval Action action(sonda_action_spec spec) {
  if (spec.params != nullptr || spec.param_count != 0) {
    detail::action_spec_must_not_set_params();
  }
  spec.params = Table.specs;
  spec.param_count = Table.size;
  return Action{spec, &bound<Table, Fn>};
}

namespace detail {

template <size_t N>
struct ActionTable {
  sonda_action_spec specs[N];
};

template <size_t N>
constexpr ActionTable<N> specs_of(const Action (&actions)[N]) {
  ActionTable<N> t{};
  for (size_t i = 0; i < N; ++i) t.specs[i] = actions[i].spec;
  return t;
}

/// Runs one action, turning every exception into a status. Never throws.
template <size_t N>
int dispatch(const Action (&actions)[N], const char* action, const char* params_json,
             const sonda_host* host) noexcept {
  try {
    for (const Action& a : actions) {
      if (std::strcmp(a.spec.name, action) != 0) continue;
      Context ctx(host);
      json params = json::parse(params_json);
      json record = a.fn(params, ctx);
      if (ctx.record_streamed()) {
        // The host has it.
      } else if (!ctx.record_text().empty()) {
        host->set_result(host->ctx, ctx.record_text().c_str());
      } else {
        host->set_result(host->ctx,
                         record.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
      }
      return 0;
    }
    host->set_error(host->ctx, (std::string("unknown action '") + action + "'").c_str());
    return 2;
  } catch (const StepError& e) {
    try {
      // The record: the error's details, with "error" = {kind, message}
      // plus what the details say under "error". Built member by member:
      // copying the details and then replacing their "error" leaked the
      // replaced object under clang 14 + LeakSanitizer (PluginParams test).
      const json& details = e.details();
      json rec = json::object();
      json error = {{"kind", e.kind()}, {"message", e.what()}};
      for (auto it = details.begin(); it != details.end(); ++it) {
        if (it.key() != "error") {
          rec[it.key()] = it.value();
        } else if (it->is_object()) {
          for (auto f = it->begin(); f != it->end(); ++f) error[f.key()] = f.value();
        }
      }
      rec["error"] = std::move(error);
      host->set_result(host->ctx, rec.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    } catch (...) {
    }
    host->set_error(host->ctx, e.what());
    return 1;
  } catch (const std::exception& e) {
    host->set_error(host->ctx, e.what());
    return 1;
  } catch (...) {
    host->set_error(host->ctx, "unknown exception in plugin");
    return 1;
  }
}

/// An absent optional table (figures, renames): SONDA_PLUGIN without them.
struct NoTable {};
inline constexpr NoTable kNoFigures{};
inline constexpr NoTable kNoRenames{};
template <class T>
constexpr const T* table_data(NoTable) { return nullptr; }
template <class T>
constexpr size_t table_size(NoTable) { return 0; }
template <class T, size_t N>
constexpr const T* table_data(const T (&table)[N]) { return table; }
template <class T, size_t N>
constexpr size_t table_size(const T (&)[N]) { return N; }

}  // namespace detail
}  // namespace sonda

/// Defines and exports the plugin descriptor. Use once per plugin, at
/// namespace scope, after the action table.
#define SONDA_PLUGIN(NAME, VERSION, DESCRIPTION, CAPS, ACTIONS) \
  SONDA_PLUGIN_WITH_FIGURES(NAME, VERSION, DESCRIPTION, CAPS, ACTIONS, ::sonda::detail::kNoFigures)

/// The same, with the actions' headline figures: an array of
/// sonda_figure_spec ({action, path, unit, "higher"|"lower", doc}).
#define SONDA_PLUGIN_WITH_FIGURES(NAME, VERSION, DESCRIPTION, CAPS, ACTIONS, FIGURES) \
  SONDA_PLUGIN_FULL(NAME, VERSION, DESCRIPTION, CAPS, ACTIONS, FIGURES, ::sonda::detail::kNoRenames)

/// The same, with renamed parameters: an array of sonda_rename_spec
/// ({action or nullptr for every action, old name, new name}); scenarios
/// that still write an old name are refused naming the new one.
#define SONDA_PLUGIN_FULL(NAME, VERSION, DESCRIPTION, CAPS, ACTIONS, FIGURES, RENAMES)         \
  namespace sonda_plugin_export {                                                              \
  static int run(const char* action, const char* params, const sonda_host* host) {             \
    return ::sonda::detail::dispatch(ACTIONS, action, params, host);                           \
  }                                                                                            \
  static const auto kSpecs = ::sonda::detail::specs_of(ACTIONS);                               \
  static const sonda_plugin kDescriptor = {                                                    \
      SONDA_ABI_VERSION, sizeof(sonda_plugin), NAME, VERSION, DESCRIPTION, CAPS, kSpecs.specs, \
      sizeof(kSpecs.specs) / sizeof(kSpecs.specs[0]), &run,                                    \
      ::sonda::detail::table_data<sonda_figure_spec>(FIGURES),                                 \
      ::sonda::detail::table_size<sonda_figure_spec>(FIGURES),                                 \
      ::sonda::detail::table_data<sonda_rename_spec>(RENAMES),                                 \
      ::sonda::detail::table_size<sonda_rename_spec>(RENAMES)};                                \
  extern "C" const sonda_plugin* sonda_entry() { return &kDescriptor; }                        \
  extern "C" const uint32_t sonda_abi = SONDA_ABI_VERSION;                                     \
  }                                                                                            \
  BOOST_DLL_ALIAS(sonda_plugin_export::sonda_entry, sonda_plugin_entry)                        \
  BOOST_DLL_ALIAS(sonda_plugin_export::sonda_abi, sonda_abi_version)

#endif  // SONDA_PLUGIN_HPP_
