#include "scenario/expect.hpp"

#include <cctype>
#include <cmath>

#include "scenario.hpp"
#include "units.hpp"

namespace sonda::scenario {
namespace {

bool is_path_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
         c == '[' || c == ']';
}

void skip_spaces(std::string_view text, size_t& i) {
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) {
    ++i;
  }
}

ExpectOperand parse_path_operand(std::string_view text, size_t& i) {
  ExpectOperand operand;
  operand.offset = i;
  size_t start = i;
  while (i < text.size() && is_path_char(text[i])) {
    ++i;
  }
  operand.text = std::string(text.substr(start, i - start));
  std::string error;
  size_t error_offset = 0;
  operand.path = parse_record_path(operand.text, &error, &error_offset);
  if (!operand.path) {
    throw ExpectSyntaxError(error, start + error_offset);
  }
  return operand;
}

ExpectOperand parse_value(std::string_view text, size_t& i) {
  if (i >= text.size()) {
    throw ExpectSyntaxError("expected a value after the operator", i);
  }
  const char c = text[i];
  if (c == '"' || c == '\'') {
    ExpectOperand operand;
    operand.offset = i;
    size_t close = text.find(c, i + 1);
    if (close == std::string_view::npos) {
      throw ExpectSyntaxError("unterminated string", i);
    }
    operand.literal = std::string(text.substr(i + 1, close - i - 1));
    operand.text = std::string(text.substr(i, close - i + 1));
    i = close + 1;
    return operand;
  }
  if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.') {
    ExpectOperand operand;
    operand.offset = i;
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    operand.text = std::string(text.substr(start, i - start));
    std::string_view number = operand.text;
    const bool negative = number.front() == '-';
    if (negative || number.front() == '+') {
      number.remove_prefix(1);
    }
    try {
      nlohmann::json value = units::parse_quantity(number);
      if (negative) {
        value = value.is_number_integer() ? nlohmann::json(-value.get<int64_t>())
                                          : nlohmann::json(-value.get<double>());
      }
      operand.literal = value;
    } catch (const units::UnitError& e) {
      throw ExpectSyntaxError(e.what(), start);
    }
    return operand;
  }
  size_t start = i;
  size_t end = i;
  while (end < text.size() && is_path_char(text[end])) {
    ++end;
  }
  std::string_view word = text.substr(start, end - start);
  if (word == "true" || word == "false" || word == "null") {
    ExpectOperand operand;
    operand.offset = start;
    operand.text = std::string(word);
    operand.literal = word == "null" ? nlohmann::json(nullptr) : nlohmann::json(word == "true");
    i = end;
    return operand;
  }
  return parse_path_operand(text, i);
}

std::string parse_op(std::string_view text, size_t& i) {
  for (const char* op : {"<=", ">=", "==", "!=", "<", ">"}) {
    std::string_view candidate = op;
    if (text.substr(i, candidate.size()) == candidate) {
      i += candidate.size();
      return std::string(candidate);
    }
  }
  throw ExpectSyntaxError("expected an operator: <, <=, >, >=, == or !=", i);
}

/// Rates are recorded as {"bits_per_sec": N}; compare their number.
const nlohmann::json& unwrap(const nlohmann::json& v) {
  if (v.is_object() && v.size() == 1) {
    for (const char* key : {"bits_per_sec", "packets_per_sec"}) {
      if (v.contains(key) && v[key].is_number()) {
        return v[key];
      }
    }
  }
  return v;
}

std::optional<bool> apply(const std::string& op, int order) {
  if (op == "<") return order < 0;
  if (op == "<=") return order <= 0;
  if (op == ">") return order > 0;
  if (op == ">=") return order >= 0;
  if (op == "==") return order == 0;
  if (op == "!=") return order != 0;
  return std::nullopt;
}

template <typename T>
int three_way(T a, T b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

/// Compares; nullopt (with *why) when the values cannot be compared so.
std::optional<bool> compare(const nlohmann::json& a, const std::string& op, const nlohmann::json& b,
                            std::string* why) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_integer() && b.is_number_integer()) {
      if (a.is_number_unsigned() || b.is_number_unsigned()) {
        if (a.is_number_unsigned() && b.is_number_unsigned()) {
          return apply(op, three_way(a.get<uint64_t>(), b.get<uint64_t>()));
        }
        return apply(op, three_way(a.get<double>(), b.get<double>()));
      }
      return apply(op, three_way(a.get<int64_t>(), b.get<int64_t>()));
    }
    return apply(op, three_way(a.get<double>(), b.get<double>()));
  }
  if (a.is_string() && b.is_string()) {
    return apply(op, three_way(a.get<std::string>(), b.get<std::string>()));
  }
  if (op == "==" || op == "!=") {
    return apply(op, a == b ? 0 : 1);
  }
  *why = "cannot order " + std::string(a.type_name()) + " " + a.dump() + " and " +
         std::string(b.type_name()) + " " + b.dump() + " with " + op;
  return std::nullopt;
}

}  // namespace

CompiledExpectation compile_expectation(std::string_view text) {
  CompiledExpectation compiled;
  size_t i = 0;
  skip_spaces(text, i);
  if (i >= text.size()) {
    throw ExpectSyntaxError("empty expectation; write e.g. 'load.latency.p99_ns < 2ms'", 0);
  }
  compiled.lhs = parse_path_operand(text, i);
  skip_spaces(text, i);
  compiled.op = parse_op(text, i);
  skip_spaces(text, i);
  compiled.rhs = parse_value(text, i);
  skip_spaces(text, i);
  if (i < text.size()) {
    throw ExpectSyntaxError("unexpected '" + std::string(text.substr(i)) +
                                "' after the value (one comparison per line)",
                            i);
  }
  return compiled;
}

}  // namespace sonda::scenario

namespace sonda {

ExpectationOutcome evaluate(const Expectation& e, const nlohmann::json& records) {
  using scenario::CompiledExpectation;
  ExpectationOutcome outcome;
  if (!e.compiled) {
    outcome.message = e.text + ": not compiled";
    return outcome;
  }
  const auto& c = *static_cast<const CompiledExpectation*>(e.compiled.get());
  auto value_of = [&](const scenario::ExpectOperand& operand,
                      std::string* error) -> std::optional<nlohmann::json> {
    if (!operand.path) {
      return operand.literal;
    }
    if (!records.is_object() || !records.contains(operand.path->root())) {
      *error = operand.text + ": step '" + operand.path->root() + "' has no record";
      return std::nullopt;
    }
    std::string missing;
    const nlohmann::json* found = scenario::lookup_record_path(records, *operand.path, &missing);
    if (found == nullptr) {
      *error = operand.text + ": no such field in the record";
      return std::nullopt;
    }
    return *found;
  };
  std::string error;
  auto lhs = value_of(c.lhs, &error);
  if (!lhs) {
    outcome.message = error;
    return outcome;
  }
  outcome.measured = *lhs;
  auto rhs = value_of(c.rhs, &error);
  if (!rhs) {
    outcome.message = error;
    return outcome;
  }
  std::string why;
  auto passed = scenario::compare(scenario::unwrap(*lhs), c.op, scenario::unwrap(*rhs), &why);
  std::string right = c.rhs.path ? c.rhs.text + " = " + rhs->dump() : rhs->dump();
  std::string statement = c.lhs.text + " = " + lhs->dump() + " " + c.op + " " + right;
  if (!passed) {
    outcome.message = statement + ": " + why;
    return outcome;
  }
  outcome.passed = *passed;
  outcome.message = statement + (*passed ? ": pass" : ": FAIL");
  return outcome;
}

}  // namespace sonda
