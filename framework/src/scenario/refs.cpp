#include "refs.hpp"

#include "scenario.hpp"
#include "scenario/yaml_doc.hpp"

#include <cstdlib>
#include <stdexcept>

namespace sonda::scenario {
namespace {

/// The value of one reference, or throws.
nlohmann::json resolve_one(const RecordPath& path, const nlohmann::json& records) {
  if (path.root() == "env") {
    if (path.segments.size() != 2 || path.segments[1].index) {
      throw std::runtime_error("'${" + path.text + "}': write ${env.NAME}");
    }
    const char* value = std::getenv(path.segments[1].key.c_str());
    if (value == nullptr) {
      throw std::runtime_error("'${" + path.text + "}': environment variable '" +
                               path.segments[1].key + "' is not set");
    }
    if (invalid_utf8_offset(value) != std::string_view::npos) {
      throw std::runtime_error("'${" + path.text + "}': environment variable '" +
                               path.segments[1].key + "' is not valid UTF-8");
    }
    return std::string(value);
  }
  if (path.root() == kHostsRecord && records.is_object() && records.contains(kHostsRecord)) {
    std::string missing;
    const nlohmann::json* found = lookup_record_path(records, path, &missing);
    const std::string host = path.segments.size() > 1 ? path.segments[1].key : "?";
    if (found == nullptr) {
      throw std::runtime_error("'${" + path.text + "}': " + missing + ": host " + host + " has no such field");
    }
    if (found->is_null()) {
      nlohmann::json names = nlohmann::json::array();
      for (const auto& [name, i] : records[kHostsRecord][host]["interfaces"].items()) {
        names.push_back(name);
      }
      throw std::runtime_error("'${" + path.text + "}': host " + host +
                               " has no such address on an up interface that is not loopback (its interfaces: " +
                               names.dump() + ")");
    }
    return *found;
  }
  if (!records.is_object() || !records.contains(path.root())) {
    throw std::runtime_error("'${" + path.text + "}': step '" + path.root() +
                             "' has no record (it did not run or did not finish)");
  }
  std::string missing;
  const nlohmann::json* found = lookup_record_path(records, path, &missing);
  if (found == nullptr) {
    throw std::runtime_error("'${" + path.text + "}': " + missing +
                             ": no such field in the record");
  }
  return *found;
}

/// Appends literal text, turning the escape `$${` into `${`. Never applied to
/// substituted values, which are data.
void append_unescaped(std::string& out, std::string_view literal) {
  for (size_t i = 0; i < literal.size(); ++i) {
    if (literal.compare(i, 3, "$${") == 0) {
      ++i;
    }
    out += literal[i];
  }
}

std::string stringify(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

nlohmann::json substitute_string(const std::string& text, const nlohmann::json& records) {
  std::vector<Reference> refs = find_references(text);
  if (refs.size() == 1 && refs[0].offset == 0 && refs[0].length == text.size()) {
    return resolve_one(refs[0].path, records);
  }
  std::string out;
  size_t pos = 0;
  for (const auto& ref : refs) {
    append_unescaped(out, std::string_view(text).substr(pos, ref.offset - pos));
    out += stringify(resolve_one(ref.path, records));
    pos = ref.offset + ref.length;
  }
  append_unescaped(out, std::string_view(text).substr(pos));
  return out;
}

}  // namespace

std::vector<Reference> find_references(std::string_view text) {
  std::vector<Reference> refs;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "$${") == 0) {
      i += 2;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      throw std::invalid_argument("unterminated '${' at offset " + std::to_string(i) +
                                  " (write $${ for a literal ${)");
    }
    std::string error;
    size_t error_offset = 0;
    auto path = parse_record_path(text.substr(i + 2, close - i - 2), &error, &error_offset);
    if (!path) {
      throw std::invalid_argument("bad reference '" + std::string(text.substr(i, close - i + 1)) +
                                  "': " + error);
    }
    refs.push_back({std::move(*path), i, close - i + 1});
    i = close;
  }
  return refs;
}

void collect_references(const nlohmann::json& value, std::vector<Reference>& out) {
  if (value.is_string()) {
    for (auto& ref : find_references(value.get_ref<const std::string&>())) {
      out.push_back(std::move(ref));
    }
  } else if (value.is_structured()) {
    for (const auto& item : value) {
      collect_references(item, out);
    }
  }
}

nlohmann::json substitute_references(const nlohmann::json& value, const nlohmann::json& records) {
  if (value.is_string()) {
    return substitute_string(value.get<std::string>(), records);
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : value) {
      out.push_back(substitute_references(item, records));
    }
    return out;
  }
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      out[it.key()] = substitute_references(it.value(), records);
    }
    return out;
  }
  return value;
}

}  // namespace sonda::scenario
