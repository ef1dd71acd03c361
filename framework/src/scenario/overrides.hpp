// `--set key=value` overrides, applied to the document before validation.
#pragma once

#include <string>
#include <vector>

#include "scenario/yaml_doc.hpp"

namespace sonda::scenario {

/// Applies each "dotted.path=value" to `root`. Paths: top-level keys
/// (`name=x`, `defaults.duration=1s`), and `steps.<id>.…` addressing a step
/// or group by id anywhere in the tree (`steps.load.with.payload=128B`,
/// `steps.load.repeat=2`); a list may also be indexed by number. Values are
/// parsed as YAML. Only keys the format knows (and any key under `with`,
/// `defaults`, `env`) may be added; other missing paths are errors, reported
/// at mark "--set:0:<n>" for the n-th override (1-based). Overridden keys and
/// values carry that mark.
void apply_overrides(YamlNode& root, const std::vector<std::string>& overrides,
                     std::vector<Diagnostic>& diags);

}  // namespace sonda::scenario
