#include "json_out.hpp"

#include <algorithm>

namespace sonda {

void JsonOut::write(std::string_view text) {
  if (buffer_ != nullptr) {
    buffer_->append(text);
    return;
  }
  if (ok_ && !text.empty() && std::fwrite(text.data(), 1, text.size(), file_) != text.size()) {
    ok_ = false;
  }
}

namespace {

void newline_at(JsonOut& out, int indent, int level) {
  if (indent >= 0) {
    out.write("\n");
    out.write(std::string(static_cast<size_t>(indent) * static_cast<size_t>(level), ' '));
  }
}

}  // namespace

void write_json(JsonOut& out, const nlohmann::json& value, int indent, int level) {
  std::string text = value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
  if (indent > 0 && level > 0 && (value.is_object() || value.is_array())) {
    // A dump starts at depth 0; shift its lines to where it sits. Strings
    // carry newlines escaped, so every '\n' here is layout.
    const std::string shift(static_cast<size_t>(indent) * static_cast<size_t>(level), ' ');
    std::string shifted;
    shifted.reserve(text.size() + text.size() / 8);
    for (char c : text) {
      shifted += c;
      if (c == '\n') {
        shifted += shift;
      }
    }
    text = std::move(shifted);
  }
  out.write(text);
}

std::vector<JsonMember> members_of(const nlohmann::json& object) {
  std::vector<JsonMember> members;
  for (const auto& [key, value] : object.items()) {
    const nlohmann::json* v = &value;
    members.emplace_back(key, [v](JsonOut& out, int indent, int level) { write_json(out, *v, indent, level); });
  }
  return members;
}

void write_object(JsonOut& out, std::vector<JsonMember> members, int indent, int level) {
  if (members.empty()) {
    out.write("{}");
    return;
  }
  std::stable_sort(members.begin(), members.end(),
                   [](const JsonMember& a, const JsonMember& b) { return a.first < b.first; });
  out.write("{");
  bool first = true;
  for (const auto& [key, writer] : members) {
    if (!first) {
      out.write(",");
    }
    first = false;
    newline_at(out, indent, level + 1);
    out.write(nlohmann::json(key).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    out.write(indent >= 0 ? ": " : ":");
    writer(out, indent, level + 1);
  }
  newline_at(out, indent, level);
  out.write("}");
}

void write_array(JsonOut& out, const std::vector<JsonMemberWriter>& elements, int indent, int level) {
  if (elements.empty()) {
    out.write("[]");
    return;
  }
  out.write("[");
  bool first = true;
  for (const auto& writer : elements) {
    if (!first) {
      out.write(",");
    }
    first = false;
    newline_at(out, indent, level + 1);
    writer(out, indent, level + 1);
  }
  newline_at(out, indent, level);
  out.write("]");
}

}  // namespace sonda
