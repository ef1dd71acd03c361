// Writing result JSON piece by piece, so a large member (a plugin's record
// text, the steps of run.json) goes to the file as it is instead of being
// copied into one giant tree and dumped. Output matches nlohmann's dump():
// keys in the same (sorted) order, same separators and indentation.
#pragma once

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sonda {

/// Where serialised JSON goes: appended to a string, or written to a FILE
/// (stdio buffers the small pieces; large ones pass straight through).
/// Not thread-safe; the caller serialises.
class JsonOut {
 public:
  /// Appends to `buffer`, which must outlive this object.
  explicit JsonOut(std::string& buffer) : buffer_(&buffer) {}
  /// Writes to `file` (not owned, not closed).
  explicit JsonOut(FILE* file) : file_(file) {}

  /// Appends `text` verbatim.
  void write(std::string_view text);
  /// False once a write to the FILE failed (errno says why).
  bool ok() const { return ok_; }

 private:
  std::string* buffer_ = nullptr;
  FILE* file_ = nullptr;
  bool ok_ = true;
};

/// Writes the value of one member, nested `level` deep.
using JsonMemberWriter = std::function<void(JsonOut& out, int indent, int level)>;
/// One object member: its key and how to write its value.
using JsonMember = std::pair<std::string, JsonMemberWriter>;

/// Writes `value` like value.dump(indent) would at nesting depth `level`
/// (indent < 0: compact). Invalid UTF-8 is replaced, as everywhere in the
/// result files.
void write_json(JsonOut& out, const nlohmann::json& value, int indent, int level);

/// The members of `object` as writers that dump each value (the values are
/// referenced, not copied: `object` must outlive the writers).
std::vector<JsonMember> members_of(const nlohmann::json& object);

/// Writes an object of `members`, sorted by key first so the output reads
/// like a dumped nlohmann object; keys must be unique.
void write_object(JsonOut& out, std::vector<JsonMember> members, int indent, int level);

/// Writes an array whose elements are written by `elements`.
void write_array(JsonOut& out, const std::vector<JsonMemberWriter>& elements, int indent, int level);

}  // namespace sonda
