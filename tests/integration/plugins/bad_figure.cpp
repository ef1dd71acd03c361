// A figure whose better-direction is neither "higher" nor "lower".
#include <sonda/abi.h>

namespace raw_figures {
inline const sonda_figure_spec kFigures[] = {
    {.action = "no_result", .path = "rate", .unit = "1/s", .better = "sideways", .doc = "bad"}};
}
#define RAW_NAME "bad_figure"
#define RAW_FIGURES raw_figures::kFigures
#define RAW_FIGURE_COUNT 1
#include "raw_descriptor.hpp"
