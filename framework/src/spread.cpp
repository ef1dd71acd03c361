#include "spread.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

namespace sonda {

namespace {

using Path = std::vector<std::string>;

void collect(const nlohmann::json& node, Path& path, std::map<Path, std::vector<double>>& out) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    path.push_back(it.key());
    const auto& v = it.value();
    if (v.is_object()) {
      collect(v, path, out);
    } else if (v.is_number()) {
      out[path].push_back(v.get<double>());
    }
    path.pop_back();
  }
}

nlohmann::json stats_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  const double median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
  double sum = 0;
  for (double v : values) {
    sum += v;
  }
  const double mean = sum / static_cast<double>(n);
  double sq = 0;
  for (double v : values) {
    sq += (v - mean) * (v - mean);
  }
  return {{"min", values.front()}, {"median", median},  {"max", values.back()},
          {"mean", mean},          {"stddev", std::sqrt(sq / static_cast<double>(n))},
          {"count", n}};
}

}  // namespace

nlohmann::json numeric_spread(const std::vector<nlohmann::json>& records) {
  std::map<Path, std::vector<double>> values;
  Path path;
  for (const auto& r : records) {
    if (r.is_object()) {
      collect(r, path, values);
    }
  }
  nlohmann::json spread = nlohmann::json::object();
  for (auto& [p, v] : values) {
    nlohmann::json* node = &spread;
    for (size_t i = 0; i + 1 < p.size(); ++i) {
      node = &(*node)[p[i]];
    }
    (*node)[p.back()] = stats_of(std::move(v));
  }
  return spread;
}

}  // namespace sonda
