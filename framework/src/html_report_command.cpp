// `sonda report RUN [--base RUN] [-o FILE]`: reads the run(s), finds
// Chart.js, asks the plugins for the headline figures run.json does not
// carry, writes the page (temp file + rename) and prints its path.
#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>

#include "commands.hpp"
#include "html_report.hpp"
#include "registry.hpp"
#include "runner.hpp"

namespace sonda {

namespace {

/// Figures from the plugins on the usual search path, loaded on first use
/// (a run.json whose steps all carry `figures` loads none).
FigureCatalog plugin_figures(const PluginOptions& opts) {
  auto registry = std::make_shared<std::optional<Registry>>();
  return [registry, dirs = opts.plugin_dirs](const std::string& plugin, const std::string& action) {
    if (!registry->has_value()) {
      registry->emplace();
      for (const auto& dir : Registry::search_dirs(dirs)) {
        (*registry)->load_directory(dir);
      }
    }
    std::vector<FigureSpec> specs;
    const auto loaded = (*registry)->get(plugin);
    if (loaded == nullptr) {
      spdlog::debug("report: plugin '{}' not found; step figures of {}.{} unknown", plugin, plugin, action);
      return specs;
    }
    auto text = [](const char* s) { return std::string(s != nullptr ? s : ""); };
    for (const sonda_figure_spec& f : loaded->figures(action)) {
      specs.push_back({text(f.path), text(f.unit), text(f.better), text(f.doc)});
    }
    return specs;
  };
}

void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "we");
  if (f == nullptr) {
    throw ReportError(path + ": cannot write: " + std::strerror(errno));
  }
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int write_errno = errno;
  if (std::fclose(f) != 0 || !written) {
    std::remove(tmp.c_str());
    throw ReportError(path + ": cannot write: " + std::strerror(written ? errno : write_errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    throw ReportError(path + ": cannot write: " + std::strerror(e));
  }
}

}  // namespace

int report_command(const ReportCommand& cmd) {
  const auto start = std::chrono::steady_clock::now();
  try {
    const RunDocument run = read_run(cmd.run);
    std::optional<RunDocument> base;
    if (!cmd.base.empty()) {
      base = read_run(cmd.base);
    }
    HtmlReportInput input;
    input.run = &run;
    input.base = base ? &*base : nullptr;
    input.figures = plugin_figures(cmd.plugins);
    input.chart_js = load_chart_js();
    const HtmlReport report = render_html_report(input);
    const std::string out = cmd.out.empty() ? run.dir + "/report.html" : cmd.out;
    write_atomically(out, report.html);
    const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("report: {} charts, {:.1f} KiB, {:.0f} ms (from {})", report.charts, report.html.size() / 1024.0,
                 ms, run.source);
    std::cout << out << '\n';
    return kExitOk;
  } catch (const ReportError& e) {
    std::cerr << "error: " << e.what() << '\n';
  } catch (const std::exception& e) {
    std::cerr << "error: sonda report: " << e.what() << '\n';
  }
  return kExitInvalidScenario;
}

}  // namespace sonda
