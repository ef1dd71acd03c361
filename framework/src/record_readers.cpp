#include "record_readers.hpp"

#include <stdexcept>

#include "report.hpp"
#include "scenario/expect.hpp"
#include "scenario/record_path.hpp"
#include "scenario/refs.hpp"

namespace sonda {

namespace {

using Parts = std::map<std::string, RecordFilter>;

void add_path(const scenario::RecordPath& path, Parts& out) {
  RecordFilter* f = &out[path.root()];
  for (size_t i = 1; i < path.segments.size() && !f->whole; ++i) {
    const auto& seg = path.segments[i];
    f = seg.index ? &f->indexes[*seg.index] : &f->keys[seg.key];
  }
  f->whole = true;
}

void add_references(const nlohmann::json& value, Parts& out) {
  std::vector<scenario::Reference> refs;
  scenario::collect_references(value, refs);
  for (const auto& ref : refs) {
    add_path(ref.path, out);
  }
}

void add_steps(const Group& group, Parts& out) {
  for (const Node& node : group.nodes) {
    if (node.is_group()) {
      add_steps(*node.group, out);
      continue;
    }
    const Step& step = node.step;
    for (const auto& name : step.deferred) {
      if (step.params.contains(name)) {
        add_references(step.params.at(name), out);
      }
    }
    if (step.kind == Step::Kind::kSpawn) {
      add_references(nlohmann::json(step.spawn.argv), out);
      add_references(nlohmann::json(step.spawn.env), out);
      add_references(nlohmann::json(step.spawn.cwd), out);
    }
  }
}

}  // namespace

Parts read_record_parts(const Scenario& scenario, const std::vector<ReportSpec>& reports) {
  Parts out;
  add_steps(scenario.root, out);
  for (const Expectation& e : scenario.expectations) {
    if (!e.compiled) {
      throw std::runtime_error("expectation '" + e.text + "' is not compiled");
    }
    const auto& c = *static_cast<const scenario::CompiledExpectation*>(e.compiled.get());
    for (const auto* operand : {&c.lhs, &c.rhs}) {
      if (operand->path) {
        add_path(*operand->path, out);
      }
    }
  }
  for (const ReportSpec& spec : reports) {
    for (const std::string& path : report_read_paths(spec)) {
      std::string error;
      size_t offset = 0;
      const auto parsed = scenario::parse_record_path(path, &error, &offset);
      if (!parsed) {
        throw std::runtime_error("report path '" + path + "': " + error);
      }
      add_path(*parsed, out);
    }
  }
  return out;
}

}  // namespace sonda
