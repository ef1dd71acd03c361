// `expect:` expressions: `<path> <op> <value>`, compiled at validation and
// evaluated against the records after the run.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "scenario/record_path.hpp"

namespace sonda::scenario {

/// A malformed expression; `offset` is where in the text it went wrong.
class ExpectSyntaxError : public std::invalid_argument {
 public:
  ExpectSyntaxError(const std::string& message, size_t offset)
      : std::invalid_argument(message), offset(offset) {}
  size_t offset;
};

/// One side of a comparison: a record path or a literal.
struct ExpectOperand {
  std::optional<RecordPath> path;  ///< set: a path, else `literal`
  nlohmann::json literal;          ///< number (units normalised), string or bool
  std::string text;                ///< as written
  size_t offset = 0;               ///< of `text` in the expression
};

/// The parsed form stored in Expectation::compiled.
struct CompiledExpectation {
  ExpectOperand lhs;
  std::string op;  ///< < <= > >= == !=
  ExpectOperand rhs;
};

/// Parses `text`. Throws ExpectSyntaxError.
CompiledExpectation compile_expectation(std::string_view text);

}  // namespace sonda::scenario
