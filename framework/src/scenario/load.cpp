// load_scenario(): parse, apply --set, validate everything, collect all
// errors, then hand out the immutable Scenario.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "scenario/expect.hpp"
#include "report.hpp"
#include "scenario/load_context.hpp"
#include "scenario/overrides.hpp"
#include "scenario/params.hpp"
#include "scenario/suggest.hpp"

namespace sonda {
namespace {

using scenario::LoadContext;
using scenario::YamlEntry;
using scenario::YamlNode;

const std::vector<std::string> kTopKeys{"name",     "description", "plugins", "stop_on_failure",
                                        "defaults", "steps",       "expect",  "report", "hosts",
                                        "compare"};
const std::vector<std::string> kHostKeys{"via", "sonda", "container", "description"};

/// `hosts:` name: { via: [command...], sonda: path }.
void read_hosts(const YamlNode& root, Scenario& out, LoadContext& ctx) {
  const YamlEntry* hosts = root.find("hosts");
  if (hosts == nullptr || hosts->value.is_null()) {
    return;
  }
  if (!hosts->value.is_map()) {
    ctx.error(hosts->key.mark, "hosts must be a map of name: { via: [command, ...] }");
    return;
  }
  for (const auto& entry : hosts->value.entries) {
    const std::string& name = entry.key.scalar;
    if (!scenario::is_valid_id(name) || name == "local") {
      ctx.error(entry.key.mark, "bad host name '" + name + "'" +
                                    (name == "local" ? ": 'local' is this host" : ": expected an id"));
      continue;
    }
    ctx.host_names.push_back(name);
    if (!entry.value.is_map()) {
      ctx.error(entry.key.mark, "host '" + name + "' must be a map like { via: [ip, netns, exec, lab-a] }");
      continue;
    }
    scenario::check_keys(entry.value, kHostKeys, "host", ctx);
    Host host;
    host.name = name;
    host.mark = entry.key.mark;
    if (const YamlEntry* container = entry.value.find("container")) {
      if (!container->value.is_scalar() || container->value.scalar.empty()) {
        ctx.error(container->key.mark, "container must be a container name or id");
      } else if (entry.value.find("via") != nullptr) {
        ctx.error(container->key.mark, "host '" + name + "': give via or container, not both");
      } else {
        host.container = container->value.scalar;
        out.hosts.emplace(name, std::move(host));
      }
      continue;
    }
    const YamlEntry* via = entry.value.find("via");
    if (via == nullptr || !via->value.is_sequence() || via->value.items.empty()) {
      ctx.error(via != nullptr ? via->key.mark : entry.key.mark,
                "host '" + name + "' needs via: the command that reaches it, e.g. [ssh, user@host], "
                "or container: a local container's name");
      continue;
    }
    for (const auto& word : via->value.items) {
      if (!word.is_scalar() || word.scalar.empty()) {
        ctx.error(word.mark, "via items must be strings, got " + kind_name(word));
        continue;
      }
      host.via.push_back(word.scalar);
    }
    if (const YamlEntry* sonda = entry.value.find("sonda")) {
      if (!sonda->value.is_scalar() || sonda->value.scalar.empty()) {
        ctx.error(sonda->key.mark, "sonda must be the path of the sonda executable on that host");
      } else {
        host.sonda = sonda->value.scalar;
      }
    }
    out.hosts.emplace(name, std::move(host));
  }
}

std::string read_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw ScenarioError({Diagnostic{SourceMark{file, 0, 0},
                                    "cannot read scenario: " + std::string(std::strerror(errno))}});
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> read_plugin_paths(const YamlNode& root, const std::string& file,
                                           std::vector<Diagnostic>& diags) {
  std::vector<std::string> paths;
  const YamlEntry* plugins = root.is_map() ? root.find("plugins") : nullptr;
  if (plugins == nullptr || plugins->value.is_null()) {
    return paths;
  }
  if (!plugins->value.is_sequence()) {
    diags.push_back({plugins->key.mark, "plugins must be a list of .so paths"});
    return paths;
  }
  const std::filesystem::path base = std::filesystem::path(file).parent_path();
  for (const auto& item : plugins->value.items) {
    if (!item.is_scalar() || item.scalar.empty()) {
      diags.push_back({item.mark, "plugins entries must be paths, got " + kind_name(item)});
      continue;
    }
    std::filesystem::path p(item.scalar);
    paths.push_back((p.is_absolute() ? p : base / p).lexically_normal().string());
  }
  return paths;
}

/// The node a report key path names ("step", "rows[2].load"), for an error's
/// place: the key of the deepest entry found on the way.
SourceMark report_key_mark(const YamlNode& item, const std::string& key_path) {
  SourceMark mark = item.mark;
  const YamlNode* node = &item;
  std::string rest = key_path;
  while (!rest.empty() && node != nullptr) {
    const size_t cut = rest.find('.');
    std::string part = rest.substr(0, cut);
    rest = cut == std::string::npos ? "" : rest.substr(cut + 1);
    size_t index = std::string::npos;
    if (const size_t open = part.find('['); open != std::string::npos) {
      index = std::strtoul(part.c_str() + open + 1, nullptr, 10);
      part = part.substr(0, open);
    }
    const YamlEntry* entry = node->is_map() ? node->find(part) : nullptr;
    if (entry == nullptr) break;
    mark = entry->key.mark;
    node = &entry->value;
    if (index != std::string::npos) {
      if (!node->is_sequence() || index >= node->items.size()) break;
      node = &node->items[index];
      mark = node->mark;
    }
  }
  return mark;
}

/// `report:` is one report or a list of them: comparison tables (the default
/// kind) and the discovery sections (interfaces, services, kernel_threads,
/// occupation). Unknown kinds and keys are reported at their key with
/// did-you-mean; every step a report reads must exist (like expectation
/// operands), reported at the key that names it.
void compile_reports(const YamlEntry& report, Scenario& out, LoadContext& ctx) {
  std::vector<const YamlNode*> items;
  if (report.value.is_sequence()) {
    for (const auto& item : report.value.items) items.push_back(&item);
  } else {
    items.push_back(&report.value);
  }
  std::vector<std::string> step_ids;
  for (const auto& [id, mark] : ctx.ids) step_ids.push_back(id);
  for (const YamlNode* item : items) {
    if (!item->is_map()) {
      ctx.error(item->mark, "a report must be a map with kind, title and what it shows, got " + kind_name(*item));
      continue;
    }
    std::string kind = "comparison";
    if (const YamlEntry* k = item->find("kind")) {
      if (!k->value.is_scalar() ||
          std::find(kReportKinds.begin(), kReportKinds.end(), k->value.scalar) == kReportKinds.end()) {
        ctx.error(k->key.mark, "unknown report kind '" + k->value.scalar + "'" +
                                   scenario::did_you_mean(k->value.scalar, kReportKinds));
        continue;
      }
      kind = k->value.scalar;
    }
    scenario::check_keys(*item, report_keys(kind), kind + " report", ctx);
    if (const YamlEntry* rows = item->find("rows"); rows != nullptr && rows->value.is_sequence()) {
      for (const auto& row : rows->value.items) {
        if (row.is_map()) scenario::check_keys(row, report_row_keys(kind), kind + " report row", ctx);
      }
    }
    const nlohmann::json doc = scenario::to_json(*item);
    ReportSpec spec;
    for (const std::string& problem : parse_report_spec(doc, spec)) ctx.error(item->mark, problem);
    for (const auto& [id, key] : referenced_steps(spec)) {
      if (ctx.ids.count(id) == 0) {
        ctx.error(report_key_mark(*item, key), "report '" + spec.title + "': unknown step '" + id + "' in " + key +
                                                   scenario::did_you_mean(id, step_ids));
      }
    }
    out.reports.push_back(doc);
  }
}

void compile_expectations(const YamlEntry& expect, Scenario& out, LoadContext& ctx) {
  if (!expect.value.is_sequence()) {
    if (!expect.value.is_null()) {
      ctx.error(expect.key.mark, "expect must be a list of comparisons like 'load.latency.p99_ns < 2ms'");
    }
    return;
  }
  std::vector<std::string> step_ids;
  for (const auto& place : ctx.steps) {
    step_ids.push_back(place.id);
  }
  for (const auto& item : expect.value.items) {
    if (!item.is_scalar()) {
      ctx.error(item.mark, "an expectation must be a string like 'load.latency.p99_ns < 2ms'");
      continue;
    }
    Expectation e;
    e.text = item.scalar;
    e.mark = item.mark;
    // A quoted item starts one column after its mark.
    const int text_column = item.mark.column + (item.plain ? 0 : 1);
    try {
      auto compiled = std::make_shared<scenario::CompiledExpectation>(
          scenario::compile_expectation(item.scalar));
      for (const auto* operand : {&compiled->lhs, &compiled->rhs}) {
        if (operand->path && std::find(step_ids.begin(), step_ids.end(),
                                       operand->path->root()) == step_ids.end()) {
          SourceMark at{item.mark.file, item.mark.line,
                        text_column + static_cast<int>(operand->offset)};
          ctx.error(at, "unknown step '" + operand->path->root() + "' in expectation" +
                            scenario::did_you_mean(operand->path->root(), step_ids));
        }
      }
      e.compiled = std::move(compiled);
    } catch (const scenario::ExpectSyntaxError& err) {
      SourceMark at{item.mark.file, item.mark.line, text_column + static_cast<int>(err.offset)};
      ctx.error(at, "bad expectation '" + item.scalar + "': " + err.what());
    }
    out.expectations.push_back(std::move(e));
  }
}

void check_defaults(LoadContext& ctx) {
  if (ctx.defaults == nullptr) {
    return;
  }
  std::vector<std::string> known(ctx.param_names.begin(), ctx.param_names.end());
  for (const auto& entry : ctx.defaults->entries) {
    const auto renamed = ctx.renamed_params.find(entry.key.scalar);
    if (ctx.param_names.count(entry.key.scalar) == 0 && renamed != ctx.renamed_params.end()) {
      ctx.error(entry.key.mark, "default " + renamed->second);
    } else if (ctx.param_names.count(entry.key.scalar) == 0) {
      ctx.error(entry.key.mark, "default '" + entry.key.scalar +
                                    "' is not a parameter of any step in this scenario" +
                                    scenario::did_you_mean(entry.key.scalar, known));
    }
  }
}

std::string string_field(const YamlNode& root, const char* key, bool required, LoadContext& ctx) {
  const YamlEntry* entry = root.find(key);
  if (entry == nullptr) {
    if (required) {
      ctx.error(root.mark, std::string("missing required key '") + key + "'");
    }
    return "";
  }
  if (!entry->value.is_scalar()) {
    ctx.error(entry->key.mark, std::string(key) + " must be a string, got " +
                                   kind_name(entry->value));
    return "";
  }
  return entry->value.scalar;
}

}  // namespace

namespace {

/// "5%" -> true; anything else false.
bool is_percent(const YamlNode& v) {
  if (!v.is_scalar() || v.scalar.size() < 2 || v.scalar.back() != '%') {
    return false;
  }
  char* end = nullptr;
  const double d = std::strtod(v.scalar.c_str(), &end);
  return end == v.scalar.c_str() + v.scalar.size() - 1 && d >= 0;
}

/// `compare:` — what `sonda compare` applies to runs of this scenario:
/// {alpha: 0.05, threshold: 5%, thresholds: {STEP.PATH: 3%}}.
void check_compare(const YamlEntry& entry, LoadContext& ctx) {
  if (!entry.value.is_map()) {
    ctx.error(entry.key.mark, "compare must be a map with alpha, threshold and/or thresholds");
    return;
  }
  scenario::check_keys(entry.value, {"alpha", "threshold", "thresholds"}, "compare", ctx);
  if (const YamlEntry* alpha = entry.value.find("alpha")) {
    const nlohmann::json a = scenario::to_json(alpha->value);
    if (!a.is_number() || a.get<double>() <= 0 || a.get<double>() >= 1) {
      ctx.error(alpha->value.mark, "compare.alpha must be a number between 0 and 1, like 0.05");
    }
  }
  if (const YamlEntry* t = entry.value.find("threshold"); t != nullptr && !is_percent(t->value)) {
    ctx.error(t->value.mark, "compare.threshold must be a percentage, like 5%");
  }
  const YamlEntry* per = entry.value.find("thresholds");
  if (per == nullptr) {
    return;
  }
  if (!per->value.is_map()) {
    ctx.error(per->key.mark, "compare.thresholds must map STEP.FIGURE to a percentage, like load.bits_per_sec: 3%");
    return;
  }
  std::vector<std::string> ids;
  for (const auto& [id, mark] : ctx.ids) {
    ids.push_back(id);
  }
  for (const YamlEntry& e : per->value.entries) {
    const std::string step = e.key.scalar.substr(0, e.key.scalar.find('.'));
    if (e.key.scalar.find('.') != std::string::npos && ctx.ids.count(step) == 0) {
      ctx.error(e.key.mark, "compare.thresholds: unknown step '" + step + "'" + scenario::did_you_mean(step, ids));
    }
    if (!is_percent(e.value)) {
      ctx.error(e.value.mark, "compare.thresholds." + e.key.scalar + " must be a percentage, like 3%");
    }
  }
}

}  // namespace

struct ScenarioSource::Doc {
  std::string file;
  YamlNode root;
  std::vector<Diagnostic> diags;  ///< duplicate keys, --set problems
  std::set<std::string> plugins;  ///< every `use:` plugin among the steps
  uint64_t capabilities = 0;      ///< what the runner needs beyond them
};

namespace {

void collect_needs(const YamlNode& node, std::set<std::string>& plugins, uint64_t& caps) {
  if (node.is_sequence()) {
    for (const auto& item : node.items) {
      collect_needs(item, plugins, caps);
    }
    return;
  }
  if (!node.is_map()) {
    return;
  }
  for (const auto& entry : node.entries) {
    const std::string& key = entry.key.scalar;
    if (key == "use" && entry.value.is_scalar()) {
      plugins.insert(entry.value.scalar.substr(0, entry.value.scalar.find('.')));
    } else if (key == "spawn" && entry.value.is_map() && entry.value.find("ready") != nullptr) {
      caps |= SONDA_CAP_PORT_OWNER;
    } else if (key != "expect" && key != "defaults" && key != "with") {
      collect_needs(entry.value, plugins, caps);
    }
  }
}

}  // namespace

ScenarioSource ScenarioSource::from_text(const std::string& text, const std::string& file,
                                         const std::vector<std::string>& overrides) {
  auto doc = std::make_shared<Doc>();
  doc->file = file;
  doc->root = scenario::parse_yaml(text, file);
  scenario::check_duplicate_keys(doc->root, doc->diags);
  scenario::apply_overrides(doc->root, overrides, doc->diags);
  if (const YamlEntry* steps = doc->root.is_map() ? doc->root.find("steps") : nullptr) {
    collect_needs(steps->value, doc->plugins, doc->capabilities);
  }
  ScenarioSource source;
  source.doc_ = std::move(doc);
  return source;
}

ScenarioSource ScenarioSource::read(const std::string& file, const std::vector<std::string>& overrides) {
  return from_text(read_file(file), file, overrides);
}

const std::string& ScenarioSource::file() const { return doc_->file; }

std::vector<std::string> ScenarioSource::plugin_paths() const {
  std::vector<Diagnostic> ignored;  // load_scenario() reports them
  return read_plugin_paths(doc_->root, doc_->file, ignored);
}

std::set<std::string> ScenarioSource::needed_plugins() const { return doc_->plugins; }

uint64_t ScenarioSource::needed_capabilities() const { return doc_->capabilities; }

Scenario load_scenario_text(const std::string& text, const std::string& file,
                            const std::vector<std::string>& overrides,
                            const SchemaSource& schemas) {
  return load_scenario(ScenarioSource::from_text(text, file, overrides), schemas);
}

Scenario load_scenario(const ScenarioSource& source, const SchemaSource& schemas) {
  const std::string& file = source.doc_->file;
  const YamlNode& root = source.doc_->root;
  LoadContext ctx{schemas, file, {}, nullptr, {}, {}, {}, {}, {}, {}, {}, 0, {}};
  ctx.diags = source.doc_->diags;

  Scenario out;
  out.file = file;
  out.as_run = scenario::to_json(root);
  out.root.mark = root.mark;
  if (!root.is_map()) {
    ctx.error(root.mark, "a scenario must be a map with name and steps, got " + kind_name(root));
    throw ScenarioError(std::move(ctx.diags));
  }
  scenario::check_keys(root, kTopKeys, "scenario", ctx);
  out.name = string_field(root, "name", true, ctx);
  out.description = string_field(root, "description", false, ctx);
  out.plugin_paths = read_plugin_paths(root, file, ctx.diags);
  if (const YamlEntry* stop = root.find("stop_on_failure")) {
    nlohmann::json value = scenario::to_json(stop->value);
    if (!value.is_boolean()) {
      ctx.error(stop->key.mark, "stop_on_failure must be true or false, got " +
                                    kind_name(stop->value));
    } else {
      out.stop_on_failure = value.get<bool>();
    }
  }
  if (const YamlEntry* defaults = root.find("defaults")) {
    if (defaults->value.is_map()) {
      ctx.defaults = &defaults->value;
    } else if (!defaults->value.is_null()) {
      ctx.error(defaults->key.mark, "defaults must be a map of parameter: value");
    }
  }
  read_hosts(root, out, ctx);
  const YamlEntry* steps = root.find("steps");
  if (steps == nullptr) {
    ctx.error(root.mark, "missing required key 'steps'");
  } else if (!steps->value.is_sequence() || steps->value.items.empty()) {
    ctx.error(steps->key.mark, "steps must be a non-empty list");
  } else {
    out.root.mark = steps->key.mark;
    scenario::collect_explicit_ids(steps->value, ctx.explicit_ids);
    scenario::parse_group_items(steps->value, out.root, ctx, {});
    scenario::check_references(ctx);
    check_defaults(ctx);
  }
  if (const YamlEntry* expect = root.find("expect")) {
    compile_expectations(*expect, out, ctx);
  }
  if (const YamlEntry* report = root.find("report")) {
    compile_reports(*report, out, ctx);
  }
  if (const YamlEntry* compare = root.find("compare")) {
    check_compare(*compare, ctx);
  }
  if (!ctx.diags.empty()) {
    // Document order reads best; --set problems go last.
    std::stable_sort(ctx.diags.begin(), ctx.diags.end(), [&](const Diagnostic& a, const Diagnostic& b) {
      auto key = [&](const Diagnostic& d) {
        return std::make_tuple(d.mark.file != file, d.mark.line, d.mark.column);
      };
      return key(a) < key(b);
    });
    throw ScenarioError(std::move(ctx.diags));
  }
  return out;
}

Scenario load_scenario(const std::string& file, const std::vector<std::string>& overrides,
                       const SchemaSource& schemas) {
  return load_scenario(ScenarioSource::read(file, overrides), schemas);
}

}  // namespace sonda
