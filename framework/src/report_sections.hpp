// The discovery sections of a run's summary: `report:` entries of kind
// interfaces, services, kernel_threads and occupation. Each is built from
// step records into JSON (stored in run.json under `reports`, for the HTML
// report) and rendered as plain text tables whose long cells wrap onto
// indented lines, never cut.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sonda {

struct ReportSpec;

/// Builds a non-comparison section. A step that is absent from `records`
/// (not run, or failed) gives a section with a `note` saying so.
nlohmann::json build_section(const ReportSpec& spec, const nlohmann::json& records);

/// Plain text for a built section (title, table, notes).
std::string render_section(const nlohmann::json& section);

/// Fixed-width columns; the last column wraps at `width` characters with its
/// continuation lines indented under it. `notes[i]` are lines printed under
/// row i, indented (wrapped too). Every cell is given whole, never cut.
std::string text_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                       size_t width = 110, const std::vector<std::vector<std::string>>& notes = {});

/// `text` split at spaces into lines of at most `width` characters, each
/// line after the first prefixed by `indent` (not counted in `width`); a word
/// longer than a line is kept whole.
std::string wrap_text(const std::string& text, size_t width, const std::string& indent);

}  // namespace sonda
